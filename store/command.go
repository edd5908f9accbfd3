package store

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Op is what a command does.
type Op string

const (
	OpCreate Op = "create"
	OpUpdate Op = "update"
	OpDelete Op = "delete"
	// OpAssert changes nothing: it refuses the commands it is applied
	// with unless its condition (ID) holds.
	OpAssert Op = "assert"
	// OpRestore puts an object back with the metadata it had in another
	// store (its version and times): what importing an export does. The
	// id must be free, and the object is checked like a create.
	OpRestore Op = "restore"
)

// assertNoOrganizationAdmin is the condition of NoOrganizationAdmin.
const assertNoOrganizationAdmin = "no-organization-admin"

// NoOrganizationAdmin is the command that refuses, with ErrExists, the
// commands it is applied with when an OrganizationAdmin binding exists. The
// first administrator is created with it, so that of two bootstraps at
// once, one is refused.
func NoOrganizationAdmin() Command {
	return Command{Op: OpAssert, Kind: KindRoleBinding, ID: assertNoOrganizationAdmin}
}

// Command is one write. Commands are applied in order, all or none, by
// Store.Apply; the outcome depends only on the state they are applied to
// and the time, so every replica applying the same commands to the same
// state reaches the same state.
type Command struct {
	Op   Op
	Kind Kind
	// ID is the object's id; for create and update it is taken from
	// Object.
	ID string
	// IfVersion, when not 0, is the version the object must be at for an
	// update or delete to proceed.
	IfVersion uint64
	// Object is the new object of a create, update or restore. Its
	// metadata other than the id is set by the store, except for a
	// restore, which keeps its version and times.
	Object Object
}

// Create is the command that creates o.
func Create(o Object) Command {
	return Command{Op: OpCreate, Kind: o.Kind(), ID: o.Meta().ID, Object: o}
}

// Update is the command that replaces the object of o's kind and id with
// o, if it is at ifVersion (0: any version).
func Update(o Object, ifVersion uint64) Command {
	return Command{Op: OpUpdate, Kind: o.Kind(), ID: o.Meta().ID, IfVersion: ifVersion, Object: o}
}

// Restore is the command that puts o with its metadata as given: its id,
// version (1 or more) and times. Like a create, it is refused when the id
// exists, and o's references must resolve: restore objects in the order
// of Kinds.
func Restore(o Object) Command {
	return Command{Op: OpRestore, Kind: o.Kind(), ID: o.Meta().ID, Object: o}
}

// Delete is the command that deletes an object, if it is at ifVersion (0:
// any version). Deleting an account or pool also deletes its API keys,
// role bindings and ACLs; deleting a provider deletes its pools.
func Delete(k Kind, id string, ifVersion uint64) Command {
	return Command{Op: OpDelete, Kind: k, ID: id, IfVersion: ifVersion}
}

// commandJSON is the encoding of a command, for logs of commands.
type commandJSON struct {
	Op        Op              `json:"op"`
	Kind      Kind            `json:"kind"`
	ID        string          `json:"id"`
	IfVersion uint64          `json:"if_version,omitempty"`
	Object    json.RawMessage `json:"object,omitempty"`
}

// MarshalJSON encodes c with its object.
func (c Command) MarshalJSON() ([]byte, error) {
	j := commandJSON{Op: c.Op, Kind: c.Kind, ID: c.ID, IfVersion: c.IfVersion}
	if c.Object != nil {
		b, err := json.Marshal(c.Object)
		if err != nil {
			return nil, err
		}
		j.Object = b
	}
	return json.Marshal(j)
}

// UnmarshalJSON decodes what MarshalJSON encodes.
func (c *Command) UnmarshalJSON(b []byte) error {
	var j commandJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	*c = Command{Op: j.Op, Kind: j.Kind, ID: j.ID, IfVersion: j.IfVersion}
	if len(j.Object) > 0 && string(j.Object) != "null" {
		o := newObject(j.Kind)
		if o == nil {
			return fmt.Errorf("command: unknown kind %q", j.Kind)
		}
		if err := json.Unmarshal(j.Object, o); err != nil {
			return fmt.Errorf("command: %s: %w", j.Kind, err)
		}
		c.Object = o
	}
	return nil
}

// Errors of Apply. Each is wrapped in an *Error that says which object
// and why.
var (
	// ErrNotFound: the object of an update or delete does not exist, or
	// an object refers to one that does not.
	ErrNotFound = errors.New("not found")
	// ErrVersion: the object is not at the version the command expects.
	ErrVersion = errors.New("version conflict")
	// ErrExists: an object with the same id, or a name that must be
	// unique, exists.
	ErrExists = errors.New("already exists")
	// ErrReadOnly: the object is declared in the configuration file.
	ErrReadOnly = errors.New("read-only")
	// ErrInvariant: the change would break a rule of the state, such as
	// keeping one OrganizationAdmin.
	ErrInvariant = errors.New("refused")
	// ErrInvalid: the command itself is malformed.
	ErrInvalid = errors.New("invalid")
	// ErrUnavailable: the store cannot take writes now; try again.
	ErrUnavailable = errors.New("unavailable")
)

// Error is a refused command.
type Error struct {
	Err    error // one of the Err… values
	Kind   Kind
	ID     string
	Detail string
}

func (e *Error) Error() string {
	if e.ID == "" {
		return fmt.Sprintf("%s: %s", kindNoun(e.Kind), e.Detail)
	}
	return fmt.Sprintf("%s %s: %s", kindNoun(e.Kind), e.ID, e.Detail)
}

func (e *Error) Unwrap() error { return e.Err }

func refuse(err error, k Kind, id, format string, args ...any) *Error {
	return &Error{Err: err, Kind: k, ID: id, Detail: fmt.Sprintf(format, args...)}
}

// kindNoun is how messages name a kind.
func kindNoun(k Kind) string {
	switch k {
	case KindServiceAccount:
		return "service account"
	case KindUser:
		return "user"
	case KindAPIKey:
		return "API key"
	case KindIdentityProvider:
		return "identity provider"
	case KindIdentityPool:
		return "identity pool"
	case KindRoleBinding:
		return "role binding"
	case KindACL:
		return "ACL"
	}
	return string(k)
}

// Apply applies cmds to s at time now and returns the new snapshot, or
// the first command's refusal, leaving s as it was. A change that would
// remove the last OrganizationAdmin binding is refused.
func (s *Snapshot) Apply(cmds []Command, now time.Time) (*Snapshot, error) {
	now = now.UTC().Truncate(time.Millisecond)
	e := s.edit()
	for _, c := range cmds {
		if err := e.apply(c, now); err != nil {
			return nil, err
		}
	}
	if s.organizationAdmins() > 0 && e.next.organizationAdmins() == 0 {
		return nil, refuse(ErrInvariant, KindRoleBinding, "", "the last OrganizationAdmin role binding cannot be removed: grant OrganizationAdmin to another principal first")
	}
	return e.next, nil
}

func (e *edit) apply(c Command, now time.Time) error {
	if newObject(c.Kind) == nil {
		return refuse(ErrInvalid, c.Kind, c.ID, "unknown kind")
	}
	if c.Op == OpAssert {
		if c.ID != assertNoOrganizationAdmin {
			return refuse(ErrInvalid, c.Kind, c.ID, "unknown condition")
		}
		if e.next.organizationAdmins() > 0 {
			return refuse(ErrExists, KindRoleBinding, "", "an OrganizationAdmin binding exists already")
		}
		return nil
	}
	if c.Op == OpCreate || c.Op == OpUpdate || c.Op == OpRestore {
		if c.Object == nil || c.Object.Kind() != c.Kind {
			return refuse(ErrInvalid, c.Kind, c.ID, "%s needs an object of kind %s", c.Op, c.Kind)
		}
		if c.ID == "" {
			c.ID = c.Object.Meta().ID
		}
		if c.Object.Meta().ID != c.ID || c.ID == "" {
			return refuse(ErrInvalid, c.Kind, c.ID, "the object's id must be the command's")
		}
	}
	old, exists := e.next.Get(c.Kind, c.ID)
	switch c.Op {
	case OpCreate, OpRestore:
		if exists {
			return refuse(ErrExists, c.Kind, c.ID, "an object with this id exists")
		}
		o := c.Object.copyObject()
		m := Meta{ID: c.ID, Version: 1, CreatedAt: now, UpdatedAt: now, Source: SourceAPI}
		if c.Op == OpRestore {
			given := c.Object.Meta()
			if given.Version == 0 {
				return refuse(ErrInvalid, c.Kind, c.ID, "a restored object needs its version, 1 or more")
			}
			m.Version, m.CreatedAt, m.UpdatedAt = given.Version, given.CreatedAt, given.UpdatedAt
		}
		*o.Meta() = m
		if err := e.check(o, nil); err != nil {
			return err
		}
		e.put(o)
	case OpUpdate, OpDelete:
		if !exists {
			return refuse(ErrNotFound, c.Kind, c.ID, "does not exist")
		}
		m := old.Meta()
		if sourceOf(m) == SourceConfig {
			return refuse(ErrReadOnly, c.Kind, c.ID, "is declared in the configuration file and cannot be changed through the API; change it there")
		}
		if c.IfVersion != 0 && c.IfVersion != m.Version {
			return refuse(ErrVersion, c.Kind, c.ID, "is at version %d, not the expected %d; read it again and retry", m.Version, c.IfVersion)
		}
		if c.Op == OpDelete {
			e.cascade(old)
			return nil
		}
		o := c.Object.copyObject()
		*o.Meta() = Meta{ID: c.ID, Version: m.Version + 1, CreatedAt: m.CreatedAt, UpdatedAt: now, Source: SourceAPI}
		if err := e.check(o, old); err != nil {
			return err
		}
		e.put(o)
	default:
		return refuse(ErrInvalid, c.Kind, c.ID, "unknown operation %q", c.Op)
	}
	return nil
}

// cascade deletes o and what belongs to it.
func (e *edit) cascade(o Object) {
	m := o.Meta()
	e.remove(o.Kind(), m.ID)
	owned := func(k Kind, match func(Object) bool) {
		for _, x := range e.next.find(k, match) {
			if sourceOf(x.Meta()) == SourceAPI {
				e.cascade(x)
			}
		}
	}
	principal := ""
	switch o := o.(type) {
	case *ServiceAccount, *User:
		principal = Principal(m.ID)
		owned(KindAPIKey, func(x Object) bool { return x.(*APIKey).Owner == m.ID })
	case *IdentityProvider:
		owned(KindIdentityPool, func(x Object) bool { return x.(*IdentityPool).Provider == o.Metadata.ID })
	case *IdentityPool:
		principal = Principal(m.ID)
	}
	if principal != "" {
		owned(KindRoleBinding, func(x Object) bool { return x.(*RoleBinding).Principal == principal })
		owned(KindACL, func(x Object) bool { return x.(*ACL).Principal == principal })
	}
}

// check enforces the rules of one object being created (old nil) or
// updated: fields that may not change, references and unique names.
func (e *edit) check(o Object, old Object) error {
	s := e.next
	id := o.Meta().ID
	k := o.Kind()
	required := func(field, v string) error {
		if strings.TrimSpace(v) == "" {
			return refuse(ErrInvalid, k, id, "%s is required", field)
		}
		return nil
	}
	immutable := func(field string, before, after string) error {
		if old != nil && before != after {
			return refuse(ErrInvalid, k, id, "%s cannot be changed", field)
		}
		return nil
	}
	unique := func(field, value string, match func(Object) bool) error {
		if other, ok := e.firstNamed(k, id, o, field, match); ok {
			return refuse(ErrExists, k, id, "%s %q is taken by %s", field, value, other.Meta().ID)
		}
		return nil
	}
	switch o := o.(type) {
	case *ServiceAccount:
		if err := required("display_name", o.DisplayName); err != nil {
			return err
		}
		return unique("display_name", o.DisplayName, func(x Object) bool { return x.(*ServiceAccount).DisplayName == o.DisplayName })
	case *User:
		if err := required("email", o.Email); err != nil {
			return err
		}
		return unique("email", o.Email, func(x Object) bool { return strings.EqualFold(x.(*User).Email, o.Email) })
	case *APIKey:
		if err := required("secret_hash", o.SecretHash); err != nil {
			return err
		}
		if err := required("resource", o.Resource); err != nil {
			return err
		}
		if old != nil {
			ok := old.(*APIKey)
			for _, f := range [][3]string{{"owner", ok.Owner, o.Owner}, {"resource", ok.Resource, o.Resource}, {"secret", ok.SecretHash, o.SecretHash}} {
				if err := immutable(f[0], f[1], f[2]); err != nil {
					return err
				}
			}
		}
		if _, ok := s.Account(o.Owner); !ok {
			return refuse(ErrNotFound, k, id, "owner %q is not a service account or user", o.Owner)
		}
	case *IdentityProvider:
		if err := required("display_name", o.DisplayName); err != nil {
			return err
		}
		if err := required("issuer", o.Issuer); err != nil {
			return err
		}
		if err := unique("issuer", o.Issuer, func(x Object) bool { return x.(*IdentityProvider).Issuer == o.Issuer }); err != nil {
			return err
		}
		return unique("display_name", o.DisplayName, func(x Object) bool { return x.(*IdentityProvider).DisplayName == o.DisplayName })
	case *IdentityPool:
		if err := required("display_name", o.DisplayName); err != nil {
			return err
		}
		if err := required("filter", o.Filter); err != nil {
			return err
		}
		if old != nil {
			if err := immutable("provider", old.(*IdentityPool).Provider, o.Provider); err != nil {
				return err
			}
		}
		if _, ok := s.Provider(o.Provider); !ok {
			return refuse(ErrNotFound, k, id, "identity provider %q does not exist", o.Provider)
		}
		return unique("display_name", o.DisplayName, func(x Object) bool {
			p := x.(*IdentityPool)
			return p.Provider == o.Provider && p.DisplayName == o.DisplayName
		})
	case *RoleBinding:
		if err := required("principal", o.Principal); err != nil {
			return err
		}
		if err := required("role_name", o.RoleName); err != nil {
			return err
		}
		if _, err := ParseCRN(o.CRNPattern); err != nil {
			return refuse(ErrInvalid, k, id, "crn_pattern: %v", err)
		}
		if old != nil {
			return refuse(ErrInvalid, k, id, "role bindings cannot be changed; delete it and create another")
		}
		if !s.PrincipalExists(o.Principal) {
			return refuse(ErrNotFound, k, id, "principal %s does not exist", o.Principal)
		}
		for _, b := range e.bindingsOf(o.Principal) {
			if b.Metadata.ID != id && b.RoleName == o.RoleName && b.CRNPattern == o.CRNPattern {
				return refuse(ErrExists, k, id, "binding %q is taken by %s", o.Principal+" "+o.RoleName+" "+o.CRNPattern, b.Metadata.ID)
			}
		}
		return nil
	case *ACL:
		if id != ACLID(o) {
			return refuse(ErrInvalid, k, id, "an ACL's id must be its tuple %q", ACLID(o))
		}
		if old != nil {
			return refuse(ErrInvalid, k, id, "ACLs cannot be changed; delete it and create another")
		}
	}
	return nil
}
