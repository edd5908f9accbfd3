package store

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"
)

// ExportFormat names the format of an export, the first field of the
// file.
const ExportFormat = "kafka-auth-proxy-state"

// ExportVersion is the version of the export format this program writes
// and reads.
const ExportVersion = 1

// Export is the API objects of a store, with their metadata (ids,
// versions, times) and the hashes of API key secrets, never the secrets:
// a backup, or the state to move to another backend. Importing it is one
// Apply of Restore commands, so that every backend decides it like any
// write.
//
// The encoding is a JSON object:
//
//	{
//	  "format": "kafka-auth-proxy-state",
//	  "version": 1,
//	  "exported_at": "2026-01-02T03:04:05Z",
//	  "objects": {
//	    "service_accounts": [{"metadata": {"id": "sa-…", "version": 2, …}, …}],
//	    "users": [], "identity_providers": [], "identity_pools": [],
//	    "api_keys": [], "role_bindings": [], "acls": []
//	  },
//	  "key_last_used": {"KEYID": "2026-01-02T03:04:00Z"}
//	}
//
// with one object per line. The lists have the keys of the state file.
type Export struct {
	// ExportedAt is when the export was made.
	ExportedAt time.Time
	// Objects are the API objects by kind, each kind in ascending order
	// of id.
	Objects map[Kind][]Object
	// KeyLastUsed are the last-use times of the exported API keys.
	KeyLastUsed map[string]time.Time
}

// NewExport is the export of the API objects of snap (the objects of the
// configuration file are left out) made at time at, with the last-use
// times of lastUsed that are of its API keys.
func NewExport(snap *Snapshot, lastUsed map[string]time.Time, at time.Time) *Export {
	x := &Export{ExportedAt: at.UTC().Truncate(time.Second), Objects: dynamic(snap), KeyLastUsed: map[string]time.Time{}}
	for _, o := range x.Objects[KindAPIKey] {
		if t, ok := lastUsed[o.Meta().ID]; ok && !t.IsZero() {
			x.KeyLastUsed[o.Meta().ID] = t.UTC().Truncate(time.Second)
		}
	}
	return x
}

// Len is the number of objects of x.
func (x *Export) Len() int {
	n := 0
	for _, objs := range x.Objects {
		n += len(objs)
	}
	return n
}

// Restores are the commands that put every object of x into a store, in
// the order of Kinds.
func (x *Export) Restores() []Command {
	var cmds []Command
	for _, k := range Kinds {
		for _, o := range x.Objects[k] {
			cmds = append(cmds, Restore(o))
		}
	}
	return cmds
}

// Digest is the Digest of a snapshot holding the objects of x and nothing
// else: that of a store x was imported into when it held nothing before.
func (x *Export) Digest() string {
	objs := map[Kind][]Object{}
	for k, l := range x.Objects {
		for _, o := range l {
			objs[k] = append(objs[k], o.copyObject())
		}
	}
	return fromObjects(objs, nil, 0).Digest()
}

// Merge is what merging an export into a state does: it restores the
// objects whose ids the state lacks and keeps those it has.
type Merge struct {
	// Restores put the objects whose ids are absent, in the order of
	// Kinds.
	Restores []Command
	// Unchanged are the objects the state holds as exported: the same
	// content and metadata.
	Unchanged []Object
	// Conflicts are the objects whose ids the state holds otherwise: at
	// another version or with other content, or declared in the
	// configuration file. The state's objects are kept.
	Conflicts []Conflict
}

// Conflict is an exported object whose id the state holds otherwise.
type Conflict struct {
	Exported, Current Object
}

// Merge is how x merges into snap.
func (x *Export) Merge(snap *Snapshot) *Merge {
	m := &Merge{}
	for _, k := range Kinds {
		for _, o := range x.Objects[k] {
			cur, ok := snap.Get(k, o.Meta().ID)
			switch {
			case !ok:
				m.Restores = append(m.Restores, Restore(o))
			case sourceOf(cur.Meta()) == SourceAPI && sameObject(o, cur):
				m.Unchanged = append(m.Unchanged, o)
			default:
				m.Conflicts = append(m.Conflicts, Conflict{Exported: o, Current: cur})
			}
		}
	}
	return m
}

// sameObject reports whether two API objects have the same encoding, with
// their metadata.
func sameObject(a, b Object) bool {
	ea, err1 := json.Marshal(a)
	eb, err2 := json.Marshal(b)
	return err1 == nil && err2 == nil && bytes.Equal(ea, eb)
}

// Encode writes x in the export format, one object per line.
func (x *Export) Encode() ([]byte, error) {
	var b bytes.Buffer
	at, err := json.Marshal(x.ExportedAt.UTC())
	if err != nil {
		return nil, err
	}
	b.WriteString("{\n  \"format\": \"" + ExportFormat + "\",\n  \"version\": " + strconv.Itoa(ExportVersion) +
		",\n  \"exported_at\": " + string(at) + ",\n  \"objects\": {")
	for i, fk := range fileKeys {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString("\n    \"" + fk.key + "\": [")
		objs := x.Objects[fk.kind]
		for j, o := range objs {
			if o.Meta().ID == "" {
				return nil, fmt.Errorf("export: %s without an id", kindNoun(fk.kind))
			}
			enc, err := json.Marshal(o)
			if err != nil {
				return nil, fmt.Errorf("export: %s %s: %w", kindNoun(fk.kind), o.Meta().ID, err)
			}
			if j > 0 {
				b.WriteByte(',')
			}
			b.WriteString("\n      ")
			b.Write(enc)
		}
		if len(objs) > 0 {
			b.WriteString("\n    ")
		}
		b.WriteByte(']')
	}
	b.WriteString("\n  },\n  \"key_last_used\": {")
	for i, id := range slices.Sorted(maps.Keys(x.KeyLastUsed)) {
		k, _ := json.Marshal(id)
		t, err := json.Marshal(x.KeyLastUsed[id].UTC())
		if err != nil {
			return nil, err
		}
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString("\n    " + string(k) + ": " + string(t))
	}
	if len(x.KeyLastUsed) > 0 {
		b.WriteString("\n  ")
	}
	b.WriteString("}\n}\n")
	return b.Bytes(), nil
}

// maxExportErrors caps the problems ParseExport lists.
const maxExportErrors = 20

// exportFile is the encoding of an export.
type exportFile struct {
	Format      string               `json:"format"`
	Version     int                  `json:"version"`
	ExportedAt  time.Time            `json:"exported_at"`
	Objects     fileState            `json:"objects"`
	KeyLastUsed map[string]time.Time `json:"key_last_used"`
}

// ParseExport reads what Export.Encode writes, of this version or an
// older one. Its objects are API objects with an id and a version; a
// syntax or type error names its line and column.
func ParseExport(data []byte) (*Export, error) {
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, errors.New("export: the file is empty")
	}
	var head struct {
		Format  *string         `json:"format"`
		Version int             `json:"version"`
		Objects json.RawMessage `json:"objects"`
		// Lists of a state file, to tell one apart.
		ServiceAccounts json.RawMessage `json:"service_accounts"`
		APIKeys         json.RawMessage `json:"api_keys"`
	}
	if err := json.Unmarshal(data, &head); err != nil {
		return nil, fmt.Errorf("export: %w", jsonError(data, err))
	}
	switch {
	case head.Format == nil && (head.ServiceAccounts != nil || head.APIKeys != nil):
		return nil, errors.New("export: this is a state file, not an export: export it with `kafka-auth-proxy state export --state-file FILE` first")
	case head.Format == nil:
		return nil, fmt.Errorf("export: no \"format\" field: not a %s export", ExportFormat)
	case *head.Format != ExportFormat:
		return nil, fmt.Errorf("export: format %q is not %q", *head.Format, ExportFormat)
	case head.Version < 1:
		return nil, fmt.Errorf("export: format version %d is invalid", head.Version)
	case head.Version > ExportVersion:
		return nil, fmt.Errorf("export: format version %d is newer than this program understands (%d); upgrade kafka-auth-proxy", head.Version, ExportVersion)
	}
	var f exportFile
	if err := json.Unmarshal(data, &f); err != nil {
		return nil, fmt.Errorf("export: %w", jsonError(data, err))
	}
	var lists map[string]json.RawMessage
	if len(head.Objects) > 0 {
		if err := json.Unmarshal(head.Objects, &lists); err != nil {
			return nil, fmt.Errorf("export: objects: %w", err)
		}
	}
	var errs []error
	known := map[string]bool{}
	for _, fk := range fileKeys {
		known[fk.key] = true
	}
	for _, key := range slices.Sorted(maps.Keys(lists)) {
		if !known[key] {
			errs = append(errs, fmt.Errorf("objects: unknown list %q", key))
		}
	}
	x := &Export{ExportedAt: f.ExportedAt, Objects: map[Kind][]Object{}, KeyLastUsed: map[string]time.Time{}}
	seen := map[Kind]map[string]bool{}
	add := func(k Kind, i int, o Object) {
		if o == nil {
			errs = append(errs, fmt.Errorf("%s #%d: null", kindNoun(k), i+1))
			return
		}
		m := o.Meta()
		if k == KindACL && m.ID == "" {
			m.ID = ACLID(o.(*ACL))
		}
		switch {
		case m.ID == "":
			errs = append(errs, fmt.Errorf("%s #%d: no id", kindNoun(k), i+1))
			return
		case m.Version == 0:
			errs = append(errs, fmt.Errorf("%s %s: no version; exported objects are at version 1 or more", kindNoun(k), m.ID))
			return
		case sourceOf(m) != SourceAPI:
			errs = append(errs, fmt.Errorf("%s %s: source %q; an export holds only objects of source api", kindNoun(k), m.ID, m.Source))
			return
		case seen[k][m.ID]:
			errs = append(errs, fmt.Errorf("%s %s: listed twice", kindNoun(k), m.ID))
			return
		}
		if seen[k] == nil {
			seen[k] = map[string]bool{}
		}
		seen[k][m.ID] = true
		m.Source = SourceAPI
		x.Objects[k] = append(x.Objects[k], o)
	}
	st := f.Objects
	addAll(KindServiceAccount, st.ServiceAccounts, add)
	addAll(KindUser, st.Users, add)
	addAll(KindIdentityProvider, st.IdentityProviders, add)
	addAll(KindIdentityPool, st.IdentityPools, add)
	addAll(KindAPIKey, st.APIKeys, add)
	addAll(KindRoleBinding, st.RoleBindings, add)
	addAll(KindACL, st.ACLs, add)
	for id, t := range f.KeyLastUsed {
		if !seen[KindAPIKey][id] {
			continue // the time of a key the export does not hold
		}
		x.KeyLastUsed[id] = t.UTC().Truncate(time.Second)
	}
	if len(errs) > maxExportErrors {
		errs = append(errs[:maxExportErrors], fmt.Errorf("and %d more problems", len(errs)-maxExportErrors))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("export: %w", err)
	}
	for _, k := range Kinds {
		slices.SortFunc(x.Objects[k], func(a, b Object) int { return strings.Compare(a.Meta().ID, b.Meta().ID) })
	}
	return x, nil
}

// addAll calls add with each object of l, nil for a null.
func addAll[E any, T interface {
	*E
	Object
}](k Kind, l []T, add func(k Kind, i int, o Object)) {
	for i, o := range l {
		if o == nil {
			add(k, i, nil)
			continue
		}
		add(k, i, o)
	}
}
