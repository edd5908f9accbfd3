package store

import (
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"maps"
	"slices"
	"strings"
	"sync"
	"unicode"
)

// Snapshot is one immutable state: every object, those of the
// configuration file (SourceConfig) and those created through the API
// (SourceAPI). Readers keep a snapshot as long as they like; a change
// makes a new one.
type Snapshot struct {
	// seq counts the changes applied since the store opened.
	seq    uint64
	tables map[Kind]*table
	// shadowed are API objects whose id a configuration object took
	// later, by kind and id: hidden while it is there, kept in the store,
	// and back when it goes. Never changed once the snapshot is made.
	shadowed map[Kind]map[string]Object
}

// table holds the objects of one kind. It is shared between snapshots
// until one of them changes the kind.
type table struct {
	byID map[string]Object
	once sync.Once
	ids  []string // sorted, built on first use

	// The role binding indexes: by principal, built on first use, and
	// the parsed CRN patterns, filled as they are asked for.
	bindingsOnce sync.Once
	byPrincipal  map[string][]*RoleBinding
	scopes       sync.Map // *RoleBinding -> parsedScope
}

// parsedScope is a binding's CRN pattern, parsed.
type parsedScope struct {
	scope Scope
	err   error
}

func (t *table) sorted() []string {
	t.once.Do(func() { t.ids = slices.Sorted(maps.Keys(t.byID)) })
	return t.ids
}

// bindingIndex builds the principal index of a table of role bindings.
func (t *table) bindingIndex() {
	t.bindingsOnce.Do(func() {
		t.byPrincipal = map[string][]*RoleBinding{}
		for _, o := range t.byID {
			b := o.(*RoleBinding)
			t.byPrincipal[b.Principal] = append(t.byPrincipal[b.Principal], b)
		}
		for _, bs := range t.byPrincipal {
			slices.SortFunc(bs, func(a, b *RoleBinding) int { return strings.Compare(a.Metadata.ID, b.Metadata.ID) })
		}
	})
}

// emptySnapshot has no objects.
func emptySnapshot() *Snapshot {
	s := &Snapshot{tables: map[Kind]*table{}}
	for _, k := range Kinds {
		s.tables[k] = &table{byID: map[string]Object{}}
	}
	return s
}

// Seq counts the changes made since the store opened; it grows with every
// snapshot.
func (s *Snapshot) Seq() uint64 { return s.seq }

// Get returns the object of kind k with id.
func (s *Snapshot) Get(k Kind, id string) (Object, bool) {
	t := s.tables[k]
	if t == nil {
		return nil, false
	}
	o, ok := t.byID[id]
	return o, ok
}

// Len is the number of objects of kind k.
func (s *Snapshot) Len(k Kind) int { return len(s.tables[k].byID) }

// IDs returns the ids of the objects of kind k in ascending order. The
// slice is shared: do not modify it.
func (s *Snapshot) IDs(k Kind) []string { return s.tables[k].sorted() }

// List returns the objects of kind k in ascending order of id.
func (s *Snapshot) List(k Kind) []Object {
	t := s.tables[k]
	ids := t.sorted()
	out := make([]Object, len(ids))
	for i, id := range ids {
		out[i] = t.byID[id]
	}
	return out
}

// listOf returns the objects of one type in ascending order of id.
func listOf[T Object](s *Snapshot, k Kind) []T {
	t := s.tables[k]
	ids := t.sorted()
	out := make([]T, len(ids))
	for i, id := range ids {
		out[i] = t.byID[id].(T)
	}
	return out
}

func getOf[T Object](s *Snapshot, k Kind, id string) (T, bool) {
	o, ok := s.tables[k].byID[id]
	if !ok {
		var zero T
		return zero, false
	}
	return o.(T), true
}

// Typed accessors. Lists are in ascending order of id.
func (s *Snapshot) ServiceAccounts() []*ServiceAccount {
	return listOf[*ServiceAccount](s, KindServiceAccount)
}
func (s *Snapshot) Users() []*User     { return listOf[*User](s, KindUser) }
func (s *Snapshot) APIKeys() []*APIKey { return listOf[*APIKey](s, KindAPIKey) }
func (s *Snapshot) ACLs() []*ACL       { return listOf[*ACL](s, KindACL) }
func (s *Snapshot) Pools() []*IdentityPool {
	return listOf[*IdentityPool](s, KindIdentityPool)
}
func (s *Snapshot) Providers() []*IdentityProvider {
	return listOf[*IdentityProvider](s, KindIdentityProvider)
}
func (s *Snapshot) RoleBindings() []*RoleBinding {
	return listOf[*RoleBinding](s, KindRoleBinding)
}
func (s *Snapshot) ServiceAccount(id string) (*ServiceAccount, bool) {
	return getOf[*ServiceAccount](s, KindServiceAccount, id)
}
func (s *Snapshot) User(id string) (*User, bool)     { return getOf[*User](s, KindUser, id) }
func (s *Snapshot) APIKey(id string) (*APIKey, bool) { return getOf[*APIKey](s, KindAPIKey, id) }
func (s *Snapshot) Provider(id string) (*IdentityProvider, bool) {
	return getOf[*IdentityProvider](s, KindIdentityProvider, id)
}
func (s *Snapshot) Pool(id string) (*IdentityPool, bool) {
	return getOf[*IdentityPool](s, KindIdentityPool, id)
}
func (s *Snapshot) RoleBinding(id string) (*RoleBinding, bool) {
	return getOf[*RoleBinding](s, KindRoleBinding, id)
}

// RoleBindingsOf returns the role bindings of principal, in order of id.
// The slice is shared: do not modify it.
func (s *Snapshot) RoleBindingsOf(principal string) []*RoleBinding {
	t := s.tables[KindRoleBinding]
	t.bindingIndex()
	return t.byPrincipal[principal]
}

// BindingScope is b's CRN pattern, parsed once per snapshot for the
// bindings it holds.
func (s *Snapshot) BindingScope(b *RoleBinding) (Scope, error) {
	t := s.tables[KindRoleBinding]
	if p, ok := t.scopes.Load(b); ok {
		return p.(parsedScope).scope, p.(parsedScope).err
	}
	sc, err := ParseCRN(b.CRNPattern)
	if t.byID[b.Metadata.ID] == Object(b) {
		t.scopes.Store(b, parsedScope{sc, err})
	}
	return sc, err
}

// Account returns the service account or user with id, as its kind and
// display name; ok is false when neither exists.
func (s *Snapshot) Account(id string) (kind Kind, ok bool) {
	if _, ok := s.ServiceAccount(id); ok {
		return KindServiceAccount, true
	}
	if _, ok := s.User(id); ok {
		return KindUser, true
	}
	return "", false
}

// PrincipalExists reports whether principal names an account or pool of
// the snapshot. Principals of other forms (User:*, Group:…) are not
// objects and are reported as existing.
func (s *Snapshot) PrincipalExists(principal string) bool {
	id, ok := strings.CutPrefix(principal, "User:")
	if !ok {
		return true
	}
	switch {
	case strings.HasPrefix(id, ServiceAccountPrefix+"-"):
		_, ok := s.ServiceAccount(id)
		return ok
	case strings.HasPrefix(id, UserAccountPrefix+"-"):
		_, ok := s.User(id)
		return ok
	case strings.HasPrefix(id, PoolPrefix):
		_, ok := s.Pool(id)
		return ok
	}
	return true
}

// RoleOrganizationAdmin is the role the store keeps at least one binding
// of, once there is one.
const RoleOrganizationAdmin = "OrganizationAdmin"

// IsOrganizationAdmin reports whether b grants OrganizationAdmin on a
// whole organization.
func IsOrganizationAdmin(b *RoleBinding) bool {
	if b.RoleName != RoleOrganizationAdmin {
		return false
	}
	sc, err := ParseCRN(b.CRNPattern)
	return err == nil && sc.Level() == "organization"
}

// organizationAdmins counts the OrganizationAdmin bindings.
func (s *Snapshot) organizationAdmins() int {
	n := 0
	for _, o := range s.tables[KindRoleBinding].byID {
		if IsOrganizationAdmin(o.(*RoleBinding)) {
			n++
		}
	}
	return n
}

// Digest is a hash of every object of the snapshot, to compare the states
// of two stores.
func (s *Snapshot) Digest() string {
	h := sha256.New()
	for _, k := range Kinds {
		for _, o := range s.List(k) {
			b, _ := json.Marshal(o)
			h.Write([]byte(k))
			h.Write(b)
			h.Write([]byte{'\n'})
		}
	}
	return hex.EncodeToString(h.Sum(nil))
}

// edit is a snapshot being changed. Tables are copied on their first
// change.
type edit struct {
	base   *Snapshot
	next   *Snapshot
	copied map[Kind]bool
	// bindingPuts are the role bindings put by the edit, by principal,
	// in order.
	bindingPuts map[string][]*RoleBinding
	// scans counts the unique-name checks of each kind; past
	// uniqueScanLimit, names indexes those of the kind's objects.
	scans map[Kind]int
	names map[Kind]map[string][]Object
}

func (s *Snapshot) edit() *edit {
	n := &Snapshot{seq: s.seq + 1, tables: maps.Clone(s.tables), shadowed: s.shadowed}
	return &edit{base: s, next: n, copied: map[Kind]bool{}}
}

// uniqueScanLimit is how many names of one kind an edit checks for
// uniqueness by scanning the kind's objects before it indexes them. A few
// checks cost less than the index; the many of a large batch (an import)
// would cost the square of the objects.
const uniqueScanLimit = 8

// uniqueFields are the fields of each kind whose values must be unique.
var uniqueFields = map[Kind][]string{
	KindServiceAccount:   {"display_name"},
	KindUser:             {"email"},
	KindIdentityProvider: {"issuer", "display_name"},
	KindIdentityPool:     {"display_name"},
}

// nameKey is what the name index files o under for one of its unique
// fields: objects that may clash share a key.
func nameKey(o Object, field string) string {
	switch o := o.(type) {
	case *ServiceAccount:
		return field + "\x00" + o.DisplayName
	case *User:
		return field + "\x00" + foldKey(o.Email)
	case *IdentityProvider:
		if field == "issuer" {
			return field + "\x00" + o.Issuer
		}
		return field + "\x00" + o.DisplayName
	case *IdentityPool:
		return field + "\x00" + o.Provider + "\x00" + o.DisplayName
	}
	return field
}

// foldKey is the same for two strings strings.EqualFold finds equal: each
// rune becomes the least of its case-folding orbit.
func foldKey(s string) string {
	var b strings.Builder
	for _, r := range s {
		least := r
		for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
			least = min(least, f)
		}
		b.WriteRune(least)
	}
	return b.String()
}

// firstNamed returns an object of kind k in the next snapshot, other than
// id, for which match is true; match tests o's unique field. The first
// checks of a kind scan its objects; after uniqueScanLimit of them the
// edit indexes the kind's names and looks up the candidates.
func (e *edit) firstNamed(k Kind, id string, o Object, field string, match func(Object) bool) (Object, bool) {
	idx := e.names[k]
	if idx == nil {
		if e.scans == nil {
			e.scans = map[Kind]int{}
		}
		if e.scans[k] < uniqueScanLimit {
			e.scans[k]++
			return e.next.firstOf(k, id, match)
		}
		idx = map[string][]Object{}
		for _, x := range e.next.tables[k].byID {
			for _, f := range uniqueFields[k] {
				idx[nameKey(x, f)] = append(idx[nameKey(x, f)], x)
			}
		}
		if e.names == nil {
			e.names = map[Kind]map[string][]Object{}
		}
		e.names[k] = idx
	}
	cur := e.next.tables[k].byID
	for _, x := range idx[nameKey(o, field)] {
		// The index keeps the objects the edit removed or replaced:
		// only those still in the snapshot count.
		if xid := x.Meta().ID; xid != id && cur[xid] == x && match(x) {
			return x, true
		}
	}
	return nil, false
}

func (e *edit) put(o Object) {
	e.writable(o.Kind())[o.Meta().ID] = o
	if idx := e.names[o.Kind()]; idx != nil {
		for _, f := range uniqueFields[o.Kind()] {
			idx[nameKey(o, f)] = append(idx[nameKey(o, f)], o)
		}
	}
	if b, ok := o.(*RoleBinding); ok {
		if e.bindingPuts == nil {
			e.bindingPuts = map[string][]*RoleBinding{}
		}
		e.bindingPuts[b.Principal] = append(e.bindingPuts[b.Principal], b)
	}
}

// bindingsOf returns the role bindings of principal in the next snapshot:
// those of the base that are still there, and those the edit put. It
// costs the principal's bindings, not all of them, so that a batch of many
// bindings (an import) costs each its own.
func (e *edit) bindingsOf(principal string) []*RoleBinding {
	cur := e.next.tables[KindRoleBinding].byID
	var out []*RoleBinding
	for _, b := range e.base.RoleBindingsOf(principal) {
		if cur[b.Metadata.ID] == Object(b) {
			out = append(out, b)
		}
	}
	for _, b := range e.bindingPuts[principal] {
		if cur[b.Metadata.ID] == Object(b) {
			out = append(out, b)
		}
	}
	return out
}

func (e *edit) remove(k Kind, id string) {
	delete(e.writable(k), id)
}

// writable returns the objects of kind k of the next snapshot, to change.
// The table is copied on its first change; on later ones it is replaced
// by a new table over the same map, dropping the sorted ids a read during
// the edit (a cascade's find) may have cached.
func (e *edit) writable(k Kind) map[string]Object {
	byID := e.next.tables[k].byID
	if !e.copied[k] {
		byID = maps.Clone(byID)
		e.copied[k] = true
	}
	e.next.tables[k] = &table{byID: byID}
	return byID
}

// find returns the objects of kind k for which match is true, in order of
// id.
func (s *Snapshot) find(k Kind, match func(Object) bool) []Object {
	var out []Object
	for _, o := range s.List(k) {
		if match(o) {
			out = append(out, o)
		}
	}
	return out
}

// firstOf returns the first object of kind k, other than id, for which
// match is true.
func (s *Snapshot) firstOf(k Kind, id string, match func(Object) bool) (Object, bool) {
	for oid, o := range s.tables[k].byID {
		if oid != id && match(o) {
			return o, true
		}
	}
	return nil, false
}

// sourceOf is "api" for the empty source.
func sourceOf(m *Meta) Source { return cmp.Or(m.Source, SourceAPI) }
