// Package storetest is the contract every store.Store backend keeps. A
// backend's tests call Run with a function that opens a fresh, empty
// store:
//
//	func TestMemory(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) store.Store { return store.NewMemory() })
//	}
package storetest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kafka-auth-proxy/kafka-auth-proxy/store"
)

// Run runs the contract suite against the stores open returns. open must
// return a new, empty store each time it is called; it may use t for
// temporary directories and cleanups.
func Run(t *testing.T, open func(t *testing.T) store.Store) {
	t.Run("create", func(t *testing.T) { testCreate(t, open) })
	t.Run("update", func(t *testing.T) { testUpdate(t, open) })
	t.Run("restore", func(t *testing.T) { testRestore(t, open) })
	t.Run("existence", func(t *testing.T) { testExistence(t, open) })
	t.Run("unique names", func(t *testing.T) { testUnique(t, open) })
	t.Run("references", func(t *testing.T) { testReferences(t, open) })
	t.Run("invalid commands", func(t *testing.T) { testInvalid(t, open) })
	t.Run("cascades", func(t *testing.T) { testCascades(t, open) })
	t.Run("OrganizationAdmin", func(t *testing.T) { testOrganizationAdmin(t, open) })
	t.Run("batches", func(t *testing.T) { testBatches(t, open) })
	t.Run("static objects", func(t *testing.T) { testStatic(t, open) })
	t.Run("Subscribe", func(t *testing.T) { testSubscribe(t, open) })
	t.Run("concurrency", func(t *testing.T) { testConcurrency(t, open) })
	t.Run("key use", func(t *testing.T) { testKeyUse(t, open) })
	t.Run("Digest", func(t *testing.T) { testDigest(t, open) })
}

// The CRNs of the suite.
const (
	orgCRN     = "crn://kafka-auth-proxy/organization=org-1"
	envCRN     = "crn://kafka-auth-proxy/organization=org-1/environment=env-a"
	clusterCRN = "crn://kafka-auth-proxy/organization=org-1/environment=env-a/cloud-cluster=lkc-1"
)

// t0 is a fixed time, for the pure Snapshot.Apply and static objects.
var t0 = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

func sa(id, name string) *store.ServiceAccount {
	return &store.ServiceAccount{Metadata: store.Meta{ID: id}, DisplayName: name, Description: "the " + name + " service"}
}

func user(id, email string) *store.User {
	return &store.User{Metadata: store.Meta{ID: id}, Email: email, FullName: "Full " + id}
}

func key(id, owner string) *store.APIKey {
	return &store.APIKey{Metadata: store.Meta{ID: id}, SecretHash: "sha256$c2FsdA$" + id, Owner: owner,
		Resource: "lkc-1", DisplayName: "key " + id}
}

func provider(id, name, issuer string) *store.IdentityProvider {
	return &store.IdentityProvider{Metadata: store.Meta{ID: id}, DisplayName: name, Issuer: issuer,
		Audiences: []string{"kafka"}}
}

func pool(id, provider, name string) *store.IdentityPool {
	return &store.IdentityPool{Metadata: store.Meta{ID: id}, Provider: provider, DisplayName: name,
		IdentityClaim: "claims.sub", Filter: "true"}
}

func binding(id, principal, role, crn string) *store.RoleBinding {
	return &store.RoleBinding{Metadata: store.Meta{ID: id}, Principal: principal, RoleName: role, CRNPattern: crn}
}

// admin is an OrganizationAdmin binding on the whole organization.
func admin(id, principal string) *store.RoleBinding {
	return binding(id, principal, store.RoleOrganizationAdmin, orgCRN)
}

// reader is a binding that is not OrganizationAdmin.
func reader(id, principal string) *store.RoleBinding {
	return binding(id, principal, "DeveloperRead", clusterCRN)
}

func acl(principal, topic string) *store.ACL {
	a := &store.ACL{Cluster: "lkc-1", ResourceType: "TOPIC", ResourceName: topic, PatternType: "LITERAL",
		Principal: principal, Host: "*", Operation: "READ", Permission: "ALLOW"}
	a.Metadata.ID = store.ACLID(a)
	return a
}

func creates(objs ...store.Object) []store.Command {
	cmds := make([]store.Command, len(objs))
	for i, o := range objs {
		cmds[i] = store.Create(o)
	}
	return cmds
}

func describe(cmds []store.Command) string {
	parts := make([]string, len(cmds))
	for i, c := range cmds {
		parts[i] = fmt.Sprintf("%s %s %s", c.Op, c.Kind, c.ID)
	}
	return strings.Join(parts, ", ")
}

// apply applies cmds, which must succeed.
func apply(t *testing.T, s store.Store, cmds ...store.Command) *store.Snapshot {
	t.Helper()
	snap, err := s.Apply(context.Background(), cmds...)
	if err != nil {
		t.Fatalf("Apply(%s): %v", describe(cmds), err)
	}
	if snap == nil {
		t.Fatalf("Apply(%s) returned no snapshot", describe(cmds))
	}
	return snap
}

// refused applies cmds, which must be refused with an *store.Error wrapping
// want, and checks that the state did not change.
func refused(t *testing.T, s store.Store, want error, cmds ...store.Command) *store.Error {
	t.Helper()
	before := s.Snapshot().Digest()
	snap, err := s.Apply(context.Background(), cmds...)
	if !errors.Is(err, want) {
		t.Fatalf("Apply(%s) = %v, want an error wrapping %q", describe(cmds), err, want)
	}
	if snap != nil {
		t.Errorf("refused Apply(%s) returned a snapshot", describe(cmds))
	}
	var se *store.Error
	if !errors.As(err, &se) {
		t.Errorf("Apply(%s) error %v is not a *store.Error", describe(cmds), err)
	}
	if after := s.Snapshot().Digest(); after != before {
		t.Errorf("refused Apply(%s) changed the state", describe(cmds))
	}
	return se
}

// fields is the content of o without its metadata.
func fields(t *testing.T, o store.Object) map[string]any {
	t.Helper()
	b, err := json.Marshal(o)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	delete(m, "metadata")
	return m
}

func get(t *testing.T, snap *store.Snapshot, k store.Kind, id string) store.Object {
	t.Helper()
	o, ok := snap.Get(k, id)
	if !ok {
		t.Fatalf("%s %s is missing", k, id)
	}
	return o
}

func wantGone(t *testing.T, snap *store.Snapshot, k store.Kind, ids ...string) {
	t.Helper()
	for _, id := range ids {
		if _, ok := snap.Get(k, id); ok {
			t.Errorf("%s %s is still there", k, id)
		}
	}
}

func wantPresent(t *testing.T, snap *store.Snapshot, k store.Kind, ids ...string) {
	t.Helper()
	for _, id := range ids {
		if _, ok := snap.Get(k, id); !ok {
			t.Errorf("%s %s is missing", k, id)
		}
	}
}

// wantIDs checks the ids of kind k in every form a snapshot gives them.
func wantIDs(t *testing.T, snap *store.Snapshot, k store.Kind, want ...string) {
	t.Helper()
	if want == nil {
		want = []string{}
	}
	ids := append([]string{}, snap.IDs(k)...)
	if !slices.Equal(ids, want) {
		t.Errorf("IDs(%s) = %q, want %q", k, ids, want)
	}
	if snap.Len(k) != len(want) {
		t.Errorf("Len(%s) = %d, want %d", k, snap.Len(k), len(want))
	}
	list := []string{}
	for _, o := range snap.List(k) {
		if o == nil {
			t.Errorf("List(%s) holds nil", k)
			continue
		}
		list = append(list, o.Meta().ID)
	}
	if !slices.Equal(list, want) {
		t.Errorf("List(%s) ids = %q, want %q", k, list, want)
	}
}

// withAccounts is a store with service accounts sa-a and sa-b and user
// u-a.
func withAccounts(t *testing.T, open func(t *testing.T) store.Store) store.Store {
	t.Helper()
	s := open(t)
	apply(t, s, creates(sa("sa-a", "a"), sa("sa-b", "b"), user("u-a", "a@example.com"))...)
	return s
}

func testCreate(t *testing.T, open func(t *testing.T) store.Store) {
	for _, tc := range []struct {
		name  string
		setup []store.Command
		obj   store.Object
	}{
		{"service account", nil, sa("sa-1", "payments")},
		{"user", nil, user("u-1", "alice@example.com")},
		{"API key", creates(sa("sa-1", "payments")), key("ABCDEFGHIJKLMNOP", "sa-1")},
		{"cloud API key", creates(user("u-1", "alice@example.com")),
			&store.APIKey{Metadata: store.Meta{ID: "CLOUDKEY00000001"}, SecretHash: "h", Owner: "u-1", Resource: store.ResourceCloud}},
		{"identity provider", nil, provider("op-1", "corp", "https://idp.example.com")},
		{"identity pool", creates(provider("op-1", "corp", "https://idp.example.com")), pool("pool-1", "op-1", "apps")},
		{"role binding", creates(sa("sa-1", "payments")), reader("rb-1", "User:sa-1")},
		{"ACL", nil, acl("User:sa-1", "orders")},
	} {
		t.Run("a "+tc.name+" reads back from the snapshot at version 1, source api", func(t *testing.T) {
			s := open(t)
			if len(tc.setup) > 0 {
				apply(t, s, tc.setup...)
			}
			// The window is wide: a backend may take the time from
			// elsewhere (a log's timestamps) than this clock.
			before := time.Now().Add(-time.Minute)
			snap := apply(t, s, store.Create(tc.obj))
			after := time.Now().Add(time.Minute)
			if cur := s.Snapshot(); cur != snap {
				t.Errorf("Snapshot() after Apply is not the snapshot Apply returned")
			}
			id := tc.obj.Meta().ID
			got := get(t, snap, tc.obj.Kind(), id)
			m := got.Meta()
			if m.ID != id || m.Version != 1 || m.Source != store.SourceAPI {
				t.Errorf("meta = %+v, want id %s, version 1, source api", *m, id)
			}
			if m.CreatedAt.Before(before) || m.CreatedAt.After(after) {
				t.Errorf("created_at = %v, want about now", m.CreatedAt)
			}
			if !m.UpdatedAt.Equal(m.CreatedAt) {
				t.Errorf("updated_at = %v, want created_at %v", m.UpdatedAt, m.CreatedAt)
			}
			if g, w := fields(t, got), fields(t, tc.obj); !reflect.DeepEqual(g, w) {
				t.Errorf("stored %v, want %v", g, w)
			}
			if tc.obj.Meta().Version != 0 || !tc.obj.Meta().CreatedAt.IsZero() {
				t.Errorf("Apply stamped the caller's object: %+v", *tc.obj.Meta())
			}
		})
	}

	t.Run("typed accessors return what Get does", func(t *testing.T) {
		s := open(t)
		snap := apply(t, s, creates(sa("sa-1", "a"), user("u-1", "a@example.com"), key("K1", "sa-1"),
			provider("op-1", "corp", "https://idp"), pool("pool-1", "op-1", "apps"), reader("rb-1", "User:sa-1"))...)
		if o, ok := snap.ServiceAccount("sa-1"); !ok || o.DisplayName != "a" {
			t.Errorf("ServiceAccount(sa-1) = %v, %v", o, ok)
		}
		if o, ok := snap.User("u-1"); !ok || o.Email != "a@example.com" {
			t.Errorf("User(u-1) = %v, %v", o, ok)
		}
		if o, ok := snap.APIKey("K1"); !ok || o.Owner != "sa-1" || o.Cloud() {
			t.Errorf("APIKey(K1) = %v, %v", o, ok)
		}
		if o, ok := snap.Provider("op-1"); !ok || o.Issuer != "https://idp" {
			t.Errorf("Provider(op-1) = %v, %v", o, ok)
		}
		if o, ok := snap.Pool("pool-1"); !ok || o.Provider != "op-1" {
			t.Errorf("Pool(pool-1) = %v, %v", o, ok)
		}
		if o, ok := snap.RoleBinding("rb-1"); !ok || o.Principal != "User:sa-1" {
			t.Errorf("RoleBinding(rb-1) = %v, %v", o, ok)
		}
		for id, want := range map[string]store.Kind{"sa-1": store.KindServiceAccount, "u-1": store.KindUser, "K1": ""} {
			if k, ok := snap.Account(id); k != want || ok != (want != "") {
				t.Errorf("Account(%s) = %q, %v, want %q", id, k, ok, want)
			}
		}
	})

	t.Run("lists are in ascending order of id, whatever the order of creation", func(t *testing.T) {
		s := open(t)
		apply(t, s, creates(sa("sa-c", "c"), sa("sa-a", "a"))...)
		snap := apply(t, s, store.Create(sa("sa-b", "b")))
		wantIDs(t, snap, store.KindServiceAccount, "sa-a", "sa-b", "sa-c")
		var names []string
		for _, o := range snap.ServiceAccounts() {
			names = append(names, o.DisplayName)
		}
		if !slices.Equal(names, []string{"a", "b", "c"}) {
			t.Errorf("ServiceAccounts() names = %q, want a, b, c", names)
		}
		snap = apply(t, s, creates(acl("User:sa-c", "z"), acl("User:sa-a", "b"), acl("User:sa-b", "a"))...)
		var ids []string
		for _, a := range snap.ACLs() {
			ids = append(ids, a.Metadata.ID)
		}
		if !slices.IsSorted(ids) || len(ids) != 3 {
			t.Errorf("ACLs() ids = %q, want 3 in ascending order", ids)
		}
		wantIDs(t, snap, store.KindUser)
	})
}

func testUpdate(t *testing.T, open func(t *testing.T) store.Store) {
	t.Run("an update bumps the version, keeps created_at and sets updated_at", func(t *testing.T) {
		s := open(t)
		created := get(t, apply(t, s, store.Create(sa("sa-1", "a"))), store.KindServiceAccount, "sa-1").Meta()
		o := sa("sa-1", "a")
		o.Description = "changed"
		snap := apply(t, s, store.Update(o, 1))
		got := get(t, snap, store.KindServiceAccount, "sa-1").(*store.ServiceAccount)
		if got.Metadata.Version != 2 || got.Description != "changed" {
			t.Errorf("after update: version %d description %q, want 2 %q", got.Metadata.Version, got.Description, "changed")
		}
		if !got.Metadata.CreatedAt.Equal(created.CreatedAt) {
			t.Errorf("created_at changed from %v to %v", created.CreatedAt, got.Metadata.CreatedAt)
		}
		if got.Metadata.UpdatedAt.Before(created.UpdatedAt) {
			t.Errorf("updated_at went back from %v to %v", created.UpdatedAt, got.Metadata.UpdatedAt)
		}
		if got.Metadata.Source != store.SourceAPI {
			t.Errorf("source = %q, want api", got.Metadata.Source)
		}
		snap = apply(t, s, store.Update(o, 2))
		if v := get(t, snap, store.KindServiceAccount, "sa-1").Meta().Version; v != 3 {
			t.Errorf("second update: version %d, want 3", v)
		}
	})

	for _, tc := range []struct {
		name string
		cmd  store.Command
	}{
		{"an update with a stale IfVersion is refused", store.Update(sa("sa-1", "new"), 1)},
		{"an update with a future IfVersion is refused", store.Update(sa("sa-1", "new"), 3)},
		{"a delete with a stale IfVersion is refused", store.Delete(store.KindServiceAccount, "sa-1", 1)},
	} {
		t.Run(tc.name+" with ErrVersion and changes nothing", func(t *testing.T) {
			s := open(t)
			apply(t, s, store.Create(sa("sa-1", "a")))
			apply(t, s, store.Update(sa("sa-1", "b"), 1)) // now at version 2
			se := refused(t, s, store.ErrVersion, tc.cmd)
			if se != nil && (se.Kind != store.KindServiceAccount || se.ID != "sa-1") {
				t.Errorf("error names %s %s, want ServiceAccount sa-1", se.Kind, se.ID)
			}
			got := get(t, s.Snapshot(), store.KindServiceAccount, "sa-1").(*store.ServiceAccount)
			if got.DisplayName != "b" || got.Metadata.Version != 2 {
				t.Errorf("after refusal: %q at version %d, want %q at 2", got.DisplayName, got.Metadata.Version, "b")
			}
		})
	}

	t.Run("IfVersion 0 means any version", func(t *testing.T) {
		s := open(t)
		apply(t, s, store.Create(sa("sa-1", "a")))
		apply(t, s, store.Update(sa("sa-1", "b"), 0))
		snap := apply(t, s, store.Update(sa("sa-1", "c"), 0))
		if got := get(t, snap, store.KindServiceAccount, "sa-1").(*store.ServiceAccount); got.DisplayName != "c" || got.Metadata.Version != 3 {
			t.Errorf("after two updates: %q at version %d, want %q at 3", got.DisplayName, got.Metadata.Version, "c")
		}
		snap = apply(t, s, store.Delete(store.KindServiceAccount, "sa-1", 0))
		wantGone(t, snap, store.KindServiceAccount, "sa-1")
	})

	t.Run("a delete at the current version proceeds", func(t *testing.T) {
		s := open(t)
		apply(t, s, store.Create(sa("sa-1", "a")))
		apply(t, s, store.Update(sa("sa-1", "b"), 1))
		wantGone(t, apply(t, s, store.Delete(store.KindServiceAccount, "sa-1", 2)), store.KindServiceAccount, "sa-1")
	})

	t.Run("the metadata of an update's object is ignored", func(t *testing.T) {
		s := open(t)
		created := get(t, apply(t, s, store.Create(sa("sa-1", "a"))), store.KindServiceAccount, "sa-1").Meta()
		o := sa("sa-1", "b")
		o.Metadata = store.Meta{ID: "sa-1", Version: 40, CreatedAt: t0, Source: store.SourceConfig}
		got := get(t, apply(t, s, store.Update(o, 0)), store.KindServiceAccount, "sa-1").Meta()
		if got.Version != 2 || !got.CreatedAt.Equal(created.CreatedAt) || got.Source != store.SourceAPI {
			t.Errorf("meta = %+v, want version 2, the original created_at, source api", *got)
		}
	})
}

// restored is o with metadata as another store gave it: version, times.
func restored[T store.Object](o T, version uint64, created time.Time) T {
	*o.Meta() = store.Meta{ID: o.Meta().ID, Version: version, CreatedAt: created, UpdatedAt: created.Add(time.Duration(version) * time.Hour)}
	return o
}

// restores are the commands that restore objs.
func restores(objs ...store.Object) []store.Command {
	cmds := make([]store.Command, len(objs))
	for i, o := range objs {
		cmds[i] = store.Restore(o)
	}
	return cmds
}

// oneOfEach is an object of every kind, in the order of store.Kinds, with
// the metadata of another store.
func oneOfEach() []store.Object {
	a := acl("User:sa-1", "orders")
	return []store.Object{
		restored(sa("sa-1", "payments"), 3, t0),
		restored(user("u-1", "alice@example.com"), 1, t0.Add(time.Minute)),
		restored(provider("op-1", "corp", "https://idp"), 2, t0.Add(2*time.Minute)),
		restored(pool("pool-1", "op-1", "apps"), 4, t0.Add(3*time.Minute)),
		restored(key("ABCDEFGHIJKLMNOP", "sa-1"), 2, t0.Add(4*time.Minute)),
		restored(admin("rb-1", "User:u-1"), 1, t0.Add(5*time.Minute)),
		restored(a, 1, t0.Add(6*time.Minute)),
	}
}

func testRestore(t *testing.T, open func(t *testing.T) store.Store) {
	t.Run("restored objects keep their id, version and times, with source api", func(t *testing.T) {
		s := open(t)
		objs := oneOfEach()
		objs[0].Meta().Source = store.SourceConfig // the store sets the source
		snap := apply(t, s, restores(objs...)...)
		for _, o := range oneOfEach() {
			got := get(t, snap, o.Kind(), o.Meta().ID)
			want := *o.Meta()
			want.Source = store.SourceAPI
			if m := *got.Meta(); m.ID != want.ID || m.Version != want.Version || !m.CreatedAt.Equal(want.CreatedAt) ||
				!m.UpdatedAt.Equal(want.UpdatedAt) || m.Source != want.Source {
				t.Errorf("%s %s: meta %+v, want %+v", o.Kind(), want.ID, m, want)
			}
			if g, w := fields(t, got), fields(t, o); !reflect.DeepEqual(g, w) {
				t.Errorf("%s %s = %v, want %v", o.Kind(), want.ID, g, w)
			}
		}
		if objs[0].Meta().Source != store.SourceConfig {
			t.Errorf("Apply changed the caller's object")
		}
	})

	t.Run("restoring a store's objects in the order of Kinds gives another store the same digest", func(t *testing.T) {
		src := open(t)
		apply(t, src, creates(sa("sa-1", "a"), user("u-1", "a@example.com"), key("K1", "sa-1"), provider("op-1", "corp", "https://idp"),
			pool("pool-1", "op-1", "apps"), admin("rb-1", "User:u-1"), reader("rb-2", "User:pool-1"), acl("User:sa-1", "orders"))...)
		from := apply(t, src, store.Update(sa("sa-1", "renamed"), 1))
		var cmds []store.Command
		for _, k := range store.Kinds {
			for _, o := range from.List(k) {
				cmds = append(cmds, store.Restore(o))
			}
		}
		dst := open(t)
		to := apply(t, dst, cmds...)
		if to.Digest() != from.Digest() {
			t.Errorf("the digests differ")
		}
		if v := get(t, to, store.KindServiceAccount, "sa-1").Meta().Version; v != 2 {
			t.Errorf("sa-1 restored at version %d, want 2", v)
		}
	})

	t.Run("the outcome of a restore does not depend on the time it is applied", func(t *testing.T) {
		a, err := open(t).Snapshot().Apply(restores(oneOfEach()...), t0)
		if err != nil {
			t.Fatal(err)
		}
		b, err := open(t).Snapshot().Apply(restores(oneOfEach()...), t0.Add(48*time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		if a.Digest() != b.Digest() {
			t.Errorf("restores applied at two times give two digests")
		}
	})

	t.Run("a restored object is updated from its version and keeps its created_at", func(t *testing.T) {
		s := open(t)
		apply(t, s, store.Restore(restored(sa("sa-1", "a"), 5, t0)))
		refused(t, s, store.ErrVersion, store.Update(sa("sa-1", "b"), 1))
		got := get(t, apply(t, s, store.Update(sa("sa-1", "b"), 5)), store.KindServiceAccount, "sa-1").Meta()
		if got.Version != 6 || !got.CreatedAt.Equal(t0) {
			t.Errorf("after update: %+v, want version 6, created_at %v", *got, t0)
		}
	})

	for _, tc := range []struct {
		name string
		cmds []store.Command
		want error
	}{
		{"restoring an existing id", restores(restored(sa("sa-a", "other"), 2, t0)), store.ErrExists},
		{"restoring an existing ACL", []store.Command{store.Create(acl("User:sa-a", "x")), store.Restore(restored(acl("User:sa-a", "x"), 1, t0))}, store.ErrExists},
		{"restoring an id twice in a batch", restores(restored(sa("sa-1", "one"), 1, t0), restored(sa("sa-1", "two"), 1, t0)), store.ErrExists},
		{"restoring at version 0", restores(restored(sa("sa-1", "one"), 0, t0)), store.ErrInvalid},
		{"restoring a taken display_name", restores(restored(sa("sa-1", "a"), 1, t0)), store.ErrExists},
		{"restoring a taken email", restores(restored(user("u-1", "A@example.com"), 1, t0)), store.ErrExists},
		{"restoring an API key of a missing owner", restores(restored(key("K1", "sa-missing"), 1, t0)), store.ErrNotFound},
		{"restoring an API key before its owner", restores(restored(key("K1", "sa-1"), 1, t0), restored(sa("sa-1", "one"), 1, t0)), store.ErrNotFound},
		{"restoring a role binding of a missing pool", restores(restored(reader("rb-1", "User:pool-missing"), 1, t0)), store.ErrNotFound},
		{"restoring a pool of a missing provider", restores(restored(pool("pool-1", "op-missing", "apps"), 1, t0)), store.ErrNotFound},
		{"restoring an ACL whose id is not its tuple", restores(restored(&store.ACL{Metadata: store.Meta{ID: "x"}, Cluster: "lkc-1"}, 1, t0)), store.ErrInvalid},
		{"restoring without an object", []store.Command{{Op: store.OpRestore, Kind: store.KindServiceAccount, ID: "sa-1"}}, store.ErrInvalid},
		{"restoring an object whose id is not the command's", []store.Command{{Op: store.OpRestore, Kind: store.KindServiceAccount, ID: "sa-2",
			Object: restored(sa("sa-1", "one"), 1, t0)}}, store.ErrInvalid},
	} {
		t.Run(tc.name+" is refused with "+tc.want.Error()+" and restores nothing", func(t *testing.T) {
			s := withAccounts(t, open)
			cmds := append(restores(restored(sa("sa-ok", "ok"), 1, t0)), tc.cmds...)
			refused(t, s, tc.want, cmds...)
			wantGone(t, s.Snapshot(), store.KindServiceAccount, "sa-ok")
		})
	}

	t.Run("restoring the id or the name of a static object is refused", func(t *testing.T) {
		s := open(t)
		s.SetStatic(statics())
		refused(t, s, store.ErrExists, store.Restore(restored(sa("sa-static", "other"), 1, t0)))
		refused(t, s, store.ErrExists, store.Restore(restored(sa("sa-other", "static"), 1, t0)))
		snap := apply(t, s, store.Restore(restored(key("K1", "sa-static"), 1, t0)))
		wantPresent(t, snap, store.KindAPIKey, "K1")
	})
}

func testExistence(t *testing.T, open func(t *testing.T) store.Store) {
	for _, tc := range []struct {
		name string
		obj  store.Object
	}{
		{"service account", sa("sa-a", "other")},
		{"user", user("u-a", "other@example.com")},
		{"API key", key("K1", "sa-b")},
		{"ACL with the same tuple", acl("User:sa-a", "orders")},
	} {
		t.Run("creating a "+tc.name+" with an existing id is refused with ErrExists", func(t *testing.T) {
			s := withAccounts(t, open)
			apply(t, s, creates(key("K1", "sa-a"), acl("User:sa-a", "orders"))...)
			refused(t, s, store.ErrExists, store.Create(tc.obj))
		})
	}
	for _, tc := range []struct {
		name string
		cmd  store.Command
	}{
		{"updating a missing service account", store.Update(sa("sa-missing", "x"), 0)},
		{"updating a missing user", store.Update(user("u-missing", "x@example.com"), 0)},
		{"deleting a missing service account", store.Delete(store.KindServiceAccount, "sa-missing", 0)},
		{"deleting a missing API key", store.Delete(store.KindAPIKey, "NOSUCHKEY0000000", 0)},
		{"deleting a missing role binding", store.Delete(store.KindRoleBinding, "rb-missing", 0)},
		{"deleting a missing ACL", store.Delete(store.KindACL, acl("User:sa-a", "missing").Metadata.ID, 0)},
		{"deleting with an IfVersion a missing object", store.Delete(store.KindIdentityPool, "pool-missing", 1)},
	} {
		t.Run(tc.name+" is refused with ErrNotFound", func(t *testing.T) {
			s := withAccounts(t, open)
			se := refused(t, s, store.ErrNotFound, tc.cmd)
			if se != nil && (se.Kind != tc.cmd.Kind || se.ID != tc.cmd.ID) {
				t.Errorf("error names %s %s, want %s %s", se.Kind, se.ID, tc.cmd.Kind, tc.cmd.ID)
			}
			if se != nil && !strings.Contains(se.Error(), tc.cmd.ID) {
				t.Errorf("error %q does not name %s", se.Error(), tc.cmd.ID)
			}
		})
	}
	t.Run("a deleted id can be created again", func(t *testing.T) {
		s := withAccounts(t, open)
		apply(t, s, store.Delete(store.KindServiceAccount, "sa-a", 0))
		snap := apply(t, s, store.Create(sa("sa-a", "a")))
		if v := get(t, snap, store.KindServiceAccount, "sa-a").Meta().Version; v != 1 {
			t.Errorf("re-created at version %d, want 1", v)
		}
	})
}

func testUnique(t *testing.T, open func(t *testing.T) store.Store) {
	setup := creates(
		sa("sa-a", "payments"),
		user("u-a", "Alice@Example.com"),
		provider("op-1", "corp", "https://idp.example.com"),
		provider("op-2", "partner", "https://partner.example.com"),
		pool("pool-1", "op-1", "apps"),
		reader("rb-1", "User:sa-a"),
	)
	for _, tc := range []struct {
		name string
		cmd  store.Command
		want error // nil: accepted
	}{
		{"a service account display_name that is taken", store.Create(sa("sa-b", "payments")), store.ErrExists},
		{"a service account display_name differing in case", store.Create(sa("sa-b", "Payments")), nil},
		{"a service account keeping its own display_name", store.Update(sa("sa-a", "payments"), 0), nil},
		{"a user email that is taken, in another case", store.Create(user("u-b", "alice@example.COM")), store.ErrExists},
		{"a user keeping its own email in another case", store.Update(user("u-a", "alice@example.com"), 0), nil},
		{"another user email", store.Create(user("u-b", "bob@example.com")), nil},
		{"a provider issuer that is taken", store.Create(provider("op-3", "other", "https://idp.example.com")), store.ErrExists},
		{"a provider display_name that is taken", store.Create(provider("op-3", "corp", "https://other.example.com")), store.ErrExists},
		{"a provider updated to another's issuer", store.Update(provider("op-2", "partner", "https://idp.example.com"), 0), store.ErrExists},
		{"a pool display_name taken in its provider", store.Create(pool("pool-2", "op-1", "apps")), store.ErrExists},
		{"a pool display_name taken in another provider", store.Create(pool("pool-2", "op-2", "apps")), nil},
		{"a role binding with the same principal, role and CRN", store.Create(reader("rb-2", "User:sa-a")), store.ErrExists},
		{"a role binding with another role", store.Create(binding("rb-2", "User:sa-a", "DeveloperWrite", clusterCRN)), nil},
		{"a role binding on another CRN", store.Create(binding("rb-2", "User:sa-a", "DeveloperRead", envCRN)), nil},
	} {
		verb := "is accepted"
		if tc.want != nil {
			verb = "is refused with " + tc.want.Error()
		}
		t.Run(tc.name+" "+verb, func(t *testing.T) {
			s := open(t)
			apply(t, s, setup...)
			if tc.want != nil {
				refused(t, s, tc.want, tc.cmd)
				return
			}
			apply(t, s, tc.cmd)
		})
	}
	t.Run("a service account renamed to a taken display_name is refused with ErrExists", func(t *testing.T) {
		s := open(t)
		apply(t, s, creates(sa("sa-a", "payments"), sa("sa-b", "orders"))...)
		refused(t, s, store.ErrExists, store.Update(sa("sa-b", "payments"), 0))
	})
	t.Run("a name freed by a delete can be taken in the same batch", func(t *testing.T) {
		s := open(t)
		apply(t, s, store.Create(sa("sa-a", "payments")))
		snap := apply(t, s, store.Delete(store.KindServiceAccount, "sa-a", 0), store.Create(sa("sa-b", "payments")))
		wantIDs(t, snap, store.KindServiceAccount, "sa-b")
	})
	t.Run("two creates of one name in a batch are refused", func(t *testing.T) {
		s := open(t)
		refused(t, s, store.ErrExists, creates(user("u-a", "x@example.com"), user("u-b", "X@example.com"))...)
	})

	// A batch of many objects (an import) is checked like one of a few,
	// however a backend checks them.
	many := func() []store.Command {
		var cmds []store.Command
		for i := range 40 {
			cmds = append(cmds, store.Create(sa(fmt.Sprintf("sa-m%02d", i), fmt.Sprintf("many-%02d", i))),
				store.Create(user(fmt.Sprintf("u-m%02d", i), fmt.Sprintf("many-%02d@example.com", i))),
				store.Create(provider(fmt.Sprintf("op-m%02d", i), fmt.Sprintf("many-%02d", i), fmt.Sprintf("https://many-%02d", i))),
				store.Create(pool(fmt.Sprintf("pool-m%02d", i), "op-1", fmt.Sprintf("many-%02d", i))))
		}
		return cmds
	}
	for _, tc := range []struct {
		name string
		cmds []store.Command
		want error // nil: accepted
	}{
		{"a display_name taken before the batch", creates(sa("sa-b", "payments")), store.ErrExists},
		{"a display_name taken earlier in the batch", creates(sa("sa-b", "many-03")), store.ErrExists},
		{"an email taken earlier in the batch, in another case", creates(user("u-b", "MANY-07@example.com")), store.ErrExists},
		{"an email taken before the batch, in another case", creates(user("u-b", "alice@EXAMPLE.com")), store.ErrExists},
		{"an issuer taken earlier in the batch", creates(provider("op-x", "x", "https://many-01")), store.ErrExists},
		{"a provider display_name taken earlier in the batch", creates(provider("op-x", "many-01", "https://x")), store.ErrExists},
		{"a pool display_name taken in its provider", creates(pool("pool-x", "op-1", "many-05")), store.ErrExists},
		{"a pool display_name taken in another provider", creates(pool("pool-x", "op-2", "many-05")), nil},
		{"a display_name freed by a delete in the batch",
			[]store.Command{store.Delete(store.KindServiceAccount, "sa-m04", 0), store.Create(sa("sa-b", "many-04"))}, nil},
		{"a display_name freed by a rename in the batch",
			[]store.Command{store.Update(sa("sa-m04", "renamed"), 0), store.Create(sa("sa-b", "many-04"))}, nil},
		{"a display_name taken by a rename in the batch",
			[]store.Command{store.Update(sa("sa-m04", "renamed"), 0), store.Create(sa("sa-b", "renamed"))}, store.ErrExists},
		{"an object keeping its own name", []store.Command{store.Update(sa("sa-m04", "many-04"), 0)}, nil},
	} {
		verb := "is accepted"
		if tc.want != nil {
			verb = "is refused with " + tc.want.Error()
		}
		t.Run("in a batch of many, "+tc.name+" "+verb, func(t *testing.T) {
			s := open(t)
			apply(t, s, setup...)
			cmds := append(many(), tc.cmds...)
			if tc.want != nil {
				refused(t, s, tc.want, cmds...)
				return
			}
			apply(t, s, cmds...)
		})
	}
}

func testReferences(t *testing.T, open func(t *testing.T) store.Store) {
	for _, tc := range []struct {
		name string
		cmds []store.Command
		want error // nil: accepted
	}{
		{"an API key of a missing owner", creates(key("K1", "sa-missing")), store.ErrNotFound},
		{"an API key of an owner that is no account", creates(key("K1", "op-1")), store.ErrNotFound},
		{"an API key of a service account", creates(key("K1", "sa-a")), nil},
		{"an API key of a user", creates(key("K1", "u-a")), nil},
		{"an API key of an account created earlier in the batch", creates(sa("sa-new", "new"), key("K1", "sa-new")), nil},
		{"a pool of a missing provider", creates(pool("pool-1", "op-missing", "apps")), store.ErrNotFound},
		{"a pool of an existing provider", creates(pool("pool-1", "op-1", "apps")), nil},
		{"a role binding of a missing service account", creates(reader("rb-1", "User:sa-missing")), store.ErrNotFound},
		{"a role binding of a missing user", creates(reader("rb-1", "User:u-missing")), store.ErrNotFound},
		{"a role binding of a missing pool", creates(reader("rb-1", "User:pool-missing")), store.ErrNotFound},
		{"a role binding of a service account", creates(reader("rb-1", "User:sa-a")), nil},
		{"a role binding of a user", creates(reader("rb-1", "User:u-a")), nil},
		{"a role binding of a pool", creates(pool("pool-1", "op-1", "apps"), reader("rb-1", "User:pool-1")), nil},
		{"a role binding of a principal that names no object", creates(reader("rb-1", "Group:ops")), nil},
	} {
		verb := "is accepted"
		if tc.want != nil {
			verb = "is refused with " + tc.want.Error()
		}
		t.Run(tc.name+" "+verb, func(t *testing.T) {
			s := withAccounts(t, open)
			apply(t, s, store.Create(provider("op-1", "corp", "https://idp")))
			if tc.want != nil {
				refused(t, s, tc.want, tc.cmds...)
				return
			}
			snap := apply(t, s, tc.cmds...)
			for _, c := range tc.cmds {
				wantPresent(t, snap, c.Kind, c.ID)
			}
		})
	}
}

func testInvalid(t *testing.T, open func(t *testing.T) store.Store) {
	changedKey := func(f func(k *store.APIKey)) store.Command {
		k := key("K1", "sa-a")
		f(k)
		return store.Update(k, 0)
	}
	badACL := acl("User:sa-a", "orders")
	badACL.Metadata.ID = "not-the-tuple"
	for _, tc := range []struct {
		name string
		cmd  store.Command
	}{
		{"changing an API key's owner", changedKey(func(k *store.APIKey) { k.Owner = "sa-b" })},
		{"changing an API key's resource", changedKey(func(k *store.APIKey) { k.Resource = "lkc-2" })},
		{"changing an API key's secret_hash", changedKey(func(k *store.APIKey) { k.SecretHash = "sha256$x$y" })},
		{"changing a pool's provider", store.Update(pool("pool-1", "op-2", "apps"), 0)},
		{"updating a role binding", store.Update(binding("rb-1", "User:sa-a", "DeveloperWrite", clusterCRN), 0)},
		{"updating an ACL", store.Update(acl("User:sa-a", "orders"), 0)},
		{"a service account without display_name", store.Create(sa("sa-c", " "))},
		{"a user without email", store.Create(user("u-c", ""))},
		{"an API key without secret_hash", store.Create(&store.APIKey{Metadata: store.Meta{ID: "K2"}, Owner: "sa-a", Resource: "lkc-1"})},
		{"an API key without resource", store.Create(&store.APIKey{Metadata: store.Meta{ID: "K2"}, Owner: "sa-a", SecretHash: "h"})},
		{"a provider without issuer", store.Create(provider("op-3", "x", ""))},
		{"a pool without filter", store.Create(&store.IdentityPool{Metadata: store.Meta{ID: "pool-2"}, Provider: "op-1", DisplayName: "x"})},
		{"a role binding with a malformed CRN", store.Create(binding("rb-2", "User:sa-a", "DeveloperRead", "crn://elsewhere/organization=org-1"))},
		{"a role binding without role", store.Create(binding("rb-2", "User:sa-a", "", clusterCRN))},
		{"an ACL whose id is not its tuple", store.Create(badACL)},
		{"a create without id", store.Create(sa("", "c"))},
		{"a create without object", store.Command{Op: store.OpCreate, Kind: store.KindServiceAccount, ID: "sa-c"}},
		{"a create whose object is of another kind", store.Command{Op: store.OpCreate, Kind: store.KindUser, ID: "sa-c", Object: sa("sa-c", "c")}},
		{"a command whose id is not its object's", store.Command{Op: store.OpUpdate, Kind: store.KindServiceAccount, ID: "sa-b", Object: sa("sa-a", "x")}},
		{"an unknown kind", store.Delete("Bogus", "x", 0)},
		{"an unknown operation", store.Command{Op: "rename", Kind: store.KindServiceAccount, ID: "sa-a", Object: sa("sa-a", "x")}},
	} {
		t.Run(tc.name+" is refused with ErrInvalid", func(t *testing.T) {
			s := withAccounts(t, open)
			apply(t, s, creates(key("K1", "sa-a"), provider("op-1", "corp", "https://idp"), provider("op-2", "other", "https://other"),
				pool("pool-1", "op-1", "apps"), reader("rb-1", "User:sa-a"), acl("User:sa-a", "orders"))...)
			refused(t, s, store.ErrInvalid, tc.cmd)
		})
	}
	t.Run("an API key's display_name and description can change", func(t *testing.T) {
		s := withAccounts(t, open)
		apply(t, s, store.Create(key("K1", "sa-a")))
		k := key("K1", "sa-a")
		k.DisplayName, k.Description = "renamed", "described"
		got := get(t, apply(t, s, store.Update(k, 1)), store.KindAPIKey, "K1").(*store.APIKey)
		if got.DisplayName != "renamed" || got.Description != "described" || got.Metadata.Version != 2 {
			t.Errorf("after update: %+v", got)
		}
	})
}

func testCascades(t *testing.T, open func(t *testing.T) store.Store) {
	for _, tc := range []struct {
		name  string
		kind  store.Kind
		owner string // deleted
		other string // kept
	}{
		{"service account", store.KindServiceAccount, "sa-a", "sa-b"},
		{"user", store.KindUser, "u-a", "u-b"},
	} {
		t.Run("deleting a "+tc.name+" deletes its API keys, role bindings and ACLs, and no others", func(t *testing.T) {
			s := open(t)
			apply(t, s, creates(sa("sa-a", "a"), sa("sa-b", "b"), user("u-a", "a@example.com"), user("u-b", "b@example.com"))...)
			own, other := store.Principal(tc.owner), store.Principal(tc.other)
			apply(t, s, creates(
				key("KOWN1", tc.owner), key("KOWN2", tc.owner), key("KOTHER", tc.other),
				reader("rb-own1", own), binding("rb-own2", own, "DeveloperWrite", clusterCRN), reader("rb-other", other),
				acl(own, "orders"), acl(own, "payments"), acl(other, "orders"),
			)...)
			snap := apply(t, s, store.Delete(tc.kind, tc.owner, 0))
			wantGone(t, snap, tc.kind, tc.owner)
			wantIDs(t, snap, store.KindAPIKey, "KOTHER")
			wantIDs(t, snap, store.KindRoleBinding, "rb-other")
			wantIDs(t, snap, store.KindACL, acl(other, "orders").Metadata.ID)
			wantPresent(t, snap, tc.kind, tc.other)
		})
	}

	t.Run("deleting a provider deletes its pools and their role bindings and ACLs", func(t *testing.T) {
		s := open(t)
		apply(t, s, creates(
			provider("op-1", "corp", "https://idp"), provider("op-2", "partner", "https://partner"),
			pool("pool-1", "op-1", "apps"), pool("pool-2", "op-1", "people"), pool("pool-3", "op-2", "apps"),
			reader("rb-1", "User:pool-1"), reader("rb-2", "User:pool-2"), reader("rb-3", "User:pool-3"),
			acl("User:pool-1", "orders"), acl("User:pool-2", "orders"), acl("User:pool-3", "orders"),
		)...)
		snap := apply(t, s, store.Delete(store.KindIdentityProvider, "op-1", 0))
		wantIDs(t, snap, store.KindIdentityProvider, "op-2")
		wantIDs(t, snap, store.KindIdentityPool, "pool-3")
		wantIDs(t, snap, store.KindRoleBinding, "rb-3")
		wantIDs(t, snap, store.KindACL, acl("User:pool-3", "orders").Metadata.ID)
		if len(snap.RoleBindings()) != 1 || len(snap.Pools()) != 1 || len(snap.ACLs()) != 1 {
			t.Errorf("typed lists: %d bindings, %d pools, %d ACLs, want 1 each", len(snap.RoleBindings()), len(snap.Pools()), len(snap.ACLs()))
		}
	})

	t.Run("deleting a pool deletes its role bindings and ACLs", func(t *testing.T) {
		s := open(t)
		apply(t, s, creates(provider("op-1", "corp", "https://idp"), pool("pool-1", "op-1", "apps"), pool("pool-2", "op-1", "b"),
			reader("rb-1", "User:pool-1"), reader("rb-2", "User:pool-2"), acl("User:pool-1", "orders"))...)
		snap := apply(t, s, store.Delete(store.KindIdentityPool, "pool-1", 0))
		wantIDs(t, snap, store.KindIdentityPool, "pool-2")
		wantIDs(t, snap, store.KindRoleBinding, "rb-2")
		wantIDs(t, snap, store.KindACL)
		wantPresent(t, snap, store.KindIdentityProvider, "op-1")
	})

	t.Run("deleting several accounts in one batch deletes all they own", func(t *testing.T) {
		s := withAccounts(t, open)
		apply(t, s, creates(key("KA", "sa-a"), key("KB", "sa-b"), key("KU", "u-a"),
			reader("rb-a", "User:sa-a"), reader("rb-b", "User:sa-b"), reader("rb-u", "User:u-a"),
			acl("User:sa-a", "x"), acl("User:sa-b", "x"))...)
		snap := apply(t, s, store.Delete(store.KindServiceAccount, "sa-a", 0), store.Delete(store.KindServiceAccount, "sa-b", 0))
		wantIDs(t, snap, store.KindAPIKey, "KU")
		wantIDs(t, snap, store.KindRoleBinding, "rb-u")
		wantIDs(t, snap, store.KindACL)
		if n := len(snap.APIKeys()); n != 1 {
			t.Errorf("APIKeys() has %d keys, want 1", n)
		}
	})

	t.Run("objects created after a cascade in the same batch are listed", func(t *testing.T) {
		s := withAccounts(t, open)
		apply(t, s, creates(key("KA", "sa-a"), key("KB", "sa-b"))...)
		snap := apply(t, s, store.Delete(store.KindServiceAccount, "sa-a", 0), store.Delete(store.KindServiceAccount, "sa-b", 0),
			store.Create(key("KC", "u-a")))
		wantIDs(t, snap, store.KindAPIKey, "KC")
		if keys := snap.APIKeys(); len(keys) != 1 || keys[0].Metadata.ID != "KC" {
			t.Errorf("APIKeys() = %v, want KC", keys)
		}
	})

	t.Run("deleting an API key keeps its owner", func(t *testing.T) {
		s := withAccounts(t, open)
		apply(t, s, store.Create(key("KA", "sa-a")))
		snap := apply(t, s, store.Delete(store.KindAPIKey, "KA", 0))
		wantIDs(t, snap, store.KindAPIKey)
		wantPresent(t, snap, store.KindServiceAccount, "sa-a")
	})
}

func testOrganizationAdmin(t *testing.T, open func(t *testing.T) store.Store) {
	t.Run("before any exists, other objects are created and deleted freely", func(t *testing.T) {
		s := withAccounts(t, open)
		apply(t, s, creates(reader("rb-1", "User:sa-a"), binding("rb-2", "User:sa-a", store.RoleOrganizationAdmin, envCRN))...)
		snap := apply(t, s, store.Delete(store.KindRoleBinding, "rb-1", 0), store.Delete(store.KindRoleBinding, "rb-2", 0),
			store.Delete(store.KindServiceAccount, "sa-a", 0))
		wantIDs(t, snap, store.KindRoleBinding)
	})

	t.Run("the last OrganizationAdmin binding cannot be deleted", func(t *testing.T) {
		s := withAccounts(t, open)
		apply(t, s, store.Create(admin("rb-admin", "User:sa-a")))
		refused(t, s, store.ErrInvariant, store.Delete(store.KindRoleBinding, "rb-admin", 0))
		wantPresent(t, s.Snapshot(), store.KindRoleBinding, "rb-admin")
	})

	for _, tc := range []struct {
		name      string
		kind      store.Kind
		id        string
		principal string
	}{
		{"its service account", store.KindServiceAccount, "sa-a", "User:sa-a"},
		{"its user", store.KindUser, "u-a", "User:u-a"},
		{"its pool", store.KindIdentityPool, "pool-1", "User:pool-1"},
		{"its pool's provider", store.KindIdentityProvider, "op-1", "User:pool-1"},
	} {
		t.Run("the last OrganizationAdmin binding cannot be deleted through deleting "+tc.name, func(t *testing.T) {
			s := withAccounts(t, open)
			apply(t, s, creates(provider("op-1", "corp", "https://idp"), pool("pool-1", "op-1", "admins"))...)
			apply(t, s, store.Create(admin("rb-admin", tc.principal)))
			refused(t, s, store.ErrInvariant, store.Delete(tc.kind, tc.id, 0))
			snap := s.Snapshot()
			wantPresent(t, snap, tc.kind, tc.id)
			wantPresent(t, snap, store.KindRoleBinding, "rb-admin")
		})
	}

	t.Run("with two OrganizationAdmin bindings one can be deleted, then not the other", func(t *testing.T) {
		s := withAccounts(t, open)
		apply(t, s, creates(admin("rb-1", "User:sa-a"), admin("rb-2", "User:u-a"))...)
		apply(t, s, store.Delete(store.KindServiceAccount, "sa-a", 0))
		wantIDs(t, s.Snapshot(), store.KindRoleBinding, "rb-2")
		refused(t, s, store.ErrInvariant, store.Delete(store.KindRoleBinding, "rb-2", 0))
	})

	t.Run("two OrganizationAdmin bindings cannot both be deleted in one batch", func(t *testing.T) {
		s := withAccounts(t, open)
		apply(t, s, creates(admin("rb-1", "User:sa-a"), admin("rb-2", "User:u-a"))...)
		refused(t, s, store.ErrInvariant, store.Delete(store.KindRoleBinding, "rb-1", 0), store.Delete(store.KindRoleBinding, "rb-2", 0))
	})

	t.Run("a batch may replace the last OrganizationAdmin binding, in either order", func(t *testing.T) {
		s := withAccounts(t, open)
		apply(t, s, store.Create(admin("rb-1", "User:sa-a")))
		apply(t, s, store.Delete(store.KindRoleBinding, "rb-1", 0), store.Create(admin("rb-2", "User:sa-b")))
		snap := apply(t, s, store.Create(admin("rb-3", "User:u-a")), store.Delete(store.KindServiceAccount, "sa-b", 0))
		wantIDs(t, snap, store.KindRoleBinding, "rb-3")
	})

	t.Run("OrganizationAdmin below the organization level does not count", func(t *testing.T) {
		s := withAccounts(t, open)
		apply(t, s, creates(admin("rb-1", "User:sa-a"), binding("rb-env", "User:sa-b", store.RoleOrganizationAdmin, envCRN))...)
		refused(t, s, store.ErrInvariant, store.Delete(store.KindRoleBinding, "rb-1", 0))
	})

	t.Run("other bindings can be deleted while the last OrganizationAdmin stays", func(t *testing.T) {
		s := withAccounts(t, open)
		apply(t, s, creates(admin("rb-1", "User:sa-a"), reader("rb-2", "User:sa-a"), key("K1", "sa-a"))...)
		snap := apply(t, s, store.Delete(store.KindRoleBinding, "rb-2", 0), store.Delete(store.KindAPIKey, "K1", 0),
			store.Delete(store.KindServiceAccount, "sa-b", 0))
		wantIDs(t, snap, store.KindRoleBinding, "rb-1")
	})
}

func testBatches(t *testing.T, open func(t *testing.T) store.Store) {
	for _, tc := range []struct {
		name string
		cmds []store.Command
		want error
	}{
		{"a batch whose second command fails leaves the first undone",
			creates(sa("sa-1", "one"), sa("sa-2", "payments")), store.ErrExists},
		{"a failing delete undoes the creates before it",
			append(creates(sa("sa-1", "one"), key("K1", "sa-1")), store.Delete(store.KindUser, "u-missing", 0)), store.ErrNotFound},
		{"a failing command undoes the updates and deletes before it",
			[]store.Command{store.Update(sa("sa-p", "renamed"), 0), store.Delete(store.KindAPIKey, "KP", 0), store.Create(key("K2", "sa-missing"))},
			store.ErrNotFound},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := open(t)
			apply(t, s, creates(sa("sa-p", "payments"), key("KP", "sa-p"))...)
			seq := s.Snapshot().Seq()
			refused(t, s, tc.want, tc.cmds...)
			snap := s.Snapshot()
			wantIDs(t, snap, store.KindServiceAccount, "sa-p")
			wantIDs(t, snap, store.KindAPIKey, "KP")
			if got := get(t, snap, store.KindServiceAccount, "sa-p").(*store.ServiceAccount); got.DisplayName != "payments" || got.Metadata.Version != 1 {
				t.Errorf("sa-p is %q at version %d, want payments at 1", got.DisplayName, got.Metadata.Version)
			}
			if snap.Seq() != seq {
				t.Errorf("Seq went from %d to %d on a refused Apply", seq, snap.Seq())
			}
		})
	}
	t.Run("commands of a batch see the ones before them", func(t *testing.T) {
		s := open(t)
		snap := apply(t, s, store.Create(sa("sa-1", "a")), store.Update(sa("sa-1", "b"), 1), store.Update(sa("sa-1", "c"), 2))
		got := get(t, snap, store.KindServiceAccount, "sa-1").(*store.ServiceAccount)
		if got.DisplayName != "c" || got.Metadata.Version != 3 {
			t.Errorf("sa-1 is %q at version %d, want c at 3", got.DisplayName, got.Metadata.Version)
		}
	})
	t.Run("an Apply with a done context is refused", func(t *testing.T) {
		s := open(t)
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		if _, err := s.Apply(ctx, store.Create(sa("sa-1", "a"))); err == nil {
			t.Fatal("Apply with a cancelled context succeeded")
		}
		wantIDs(t, s.Snapshot(), store.KindServiceAccount)
	})
}

// statics are the objects of a configuration file.
func statics() []store.Object {
	return []store.Object{
		sa("sa-static", "static"),
		user("u-static", "static@example.com"),
		provider("op-static", "static", "https://static.example.com"),
		pool("pool-static", "op-static", "static"),
		admin("rb-static", "User:sa-static"),
		acl("User:sa-static", "static"),
	}
}

func testStatic(t *testing.T, open func(t *testing.T) store.Store) {
	t.Run("static objects appear with source config", func(t *testing.T) {
		s := open(t)
		objs := statics()
		s.SetStatic(objs)
		snap := s.Snapshot()
		for _, o := range objs {
			got := get(t, snap, o.Kind(), o.Meta().ID)
			if m := got.Meta(); m.Source != store.SourceConfig || m.Version != 1 {
				t.Errorf("%s %s: source %q version %d, want config 1", o.Kind(), m.ID, m.Source, m.Version)
			}
			if g, w := fields(t, got), fields(t, o); !reflect.DeepEqual(g, w) {
				t.Errorf("%s %s = %v, want %v", o.Kind(), o.Meta().ID, g, w)
			}
			if o.Meta().Source != "" {
				t.Errorf("SetStatic changed the caller's %s", o.Meta().ID)
			}
		}
	})

	for _, tc := range []struct {
		name string
		cmd  store.Command
	}{
		{"updating a static service account", store.Update(sa("sa-static", "changed"), 0)},
		{"deleting a static service account", store.Delete(store.KindServiceAccount, "sa-static", 0)},
		{"deleting a static user", store.Delete(store.KindUser, "u-static", 0)},
		{"updating a static provider", store.Update(provider("op-static", "changed", "https://static.example.com"), 0)},
		{"deleting a static pool", store.Delete(store.KindIdentityPool, "pool-static", 0)},
		{"deleting a static role binding", store.Delete(store.KindRoleBinding, "rb-static", 0)},
		{"deleting a static ACL", store.Delete(store.KindACL, acl("User:sa-static", "static").Metadata.ID, 0)},
	} {
		t.Run(tc.name+" is refused with ErrReadOnly", func(t *testing.T) {
			s := open(t)
			s.SetStatic(statics())
			apply(t, s, store.Create(admin("rb-api", "User:u-static"))) // the static one is not the last
			refused(t, s, store.ErrReadOnly, tc.cmd)
		})
	}

	t.Run("creating an object with a static id is refused with ErrExists", func(t *testing.T) {
		s := open(t)
		s.SetStatic(statics())
		refused(t, s, store.ErrExists, store.Create(sa("sa-static", "other")))
		refused(t, s, store.ErrExists, store.Create(acl("User:sa-static", "static")))
	})

	t.Run("static names are taken", func(t *testing.T) {
		s := open(t)
		s.SetStatic(statics())
		refused(t, s, store.ErrExists, store.Create(sa("sa-other", "static")))
		refused(t, s, store.ErrExists, store.Create(user("u-other", "STATIC@example.com")))
		refused(t, s, store.ErrExists, store.Create(provider("op-other", "other", "https://static.example.com")))
	})

	t.Run("static objects count for references", func(t *testing.T) {
		s := open(t)
		s.SetStatic(statics())
		snap := apply(t, s, creates(
			key("KSTATIC", "sa-static"),
			key("KUSER", "u-static"),
			pool("pool-api", "op-static", "api"),
			reader("rb-sa", "User:sa-static"),
			reader("rb-pool", "User:pool-static"),
		)...)
		if k, _ := snap.APIKey("KSTATIC"); k == nil || k.Metadata.Source != store.SourceAPI {
			t.Errorf("API key of a static account: %v", k)
		}
	})

	t.Run("a static OrganizationAdmin counts for the invariant", func(t *testing.T) {
		s := withAccounts(t, open)
		apply(t, s, store.Create(admin("rb-api", "User:sa-a")))
		s.SetStatic(statics())
		snap := apply(t, s, store.Delete(store.KindServiceAccount, "sa-a", 0))
		wantIDs(t, snap, store.KindRoleBinding, "rb-static")
		refused(t, s, store.ErrReadOnly, store.Delete(store.KindRoleBinding, "rb-static", 0))
	})

	t.Run("an API OrganizationAdmin stays the last once the static one is gone", func(t *testing.T) {
		s := withAccounts(t, open)
		s.SetStatic(statics())
		apply(t, s, store.Create(admin("rb-api", "User:sa-a")))
		s.SetStatic(nil)
		refused(t, s, store.ErrInvariant, store.Delete(store.KindRoleBinding, "rb-api", 0))
	})

	t.Run("SetStatic replaces the previous static objects and keeps the API ones", func(t *testing.T) {
		s := withAccounts(t, open)
		s.SetStatic(statics())
		s.SetStatic([]store.Object{sa("sa-static2", "static2")})
		snap := s.Snapshot()
		wantIDs(t, snap, store.KindServiceAccount, "sa-a", "sa-b", "sa-static2")
		wantIDs(t, snap, store.KindRoleBinding)
		wantIDs(t, snap, store.KindIdentityProvider)
		wantIDs(t, snap, store.KindUser, "u-a")
		s.SetStatic(nil)
		wantIDs(t, s.Snapshot(), store.KindServiceAccount, "sa-a", "sa-b")
	})

	t.Run("static objects survive Apply", func(t *testing.T) {
		s := open(t)
		s.SetStatic(statics())
		snap := apply(t, s, store.Create(sa("sa-api", "api")))
		wantIDs(t, snap, store.KindServiceAccount, "sa-api", "sa-static")
		if o := get(t, snap, store.KindServiceAccount, "sa-static"); o.Meta().Source != store.SourceConfig {
			t.Errorf("static account's source is %q after Apply", o.Meta().Source)
		}
	})
}

// recorder records the snapshots a subscriber is given.
type recorder struct {
	mu    sync.Mutex
	snaps []*store.Snapshot
}

func (r *recorder) record(s *store.Snapshot) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.snaps = append(r.snaps, s)
}

func (r *recorder) seen() []*store.Snapshot {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.snaps)
}

func testSubscribe(t *testing.T, open func(t *testing.T) store.Store) {
	t.Run("the subscriber is called at once with the current snapshot", func(t *testing.T) {
		s := open(t)
		apply(t, s, store.Create(sa("sa-1", "a")))
		var r recorder
		cancel := s.Subscribe(r.record)
		defer cancel()
		seen := r.seen()
		if len(seen) != 1 || seen[0] != s.Snapshot() {
			t.Fatalf("Subscribe called fn %d times, want once with the current snapshot", len(seen))
		}
		wantPresent(t, seen[0], store.KindServiceAccount, "sa-1")
	})

	t.Run("then once per successful Apply with increasing Seq, before Apply returns", func(t *testing.T) {
		s := open(t)
		var r recorder
		cancel := s.Subscribe(r.record)
		defer cancel()
		for i := range 3 {
			snap := apply(t, s, store.Create(sa(fmt.Sprintf("sa-%d", i), fmt.Sprint(i))))
			seen := r.seen()
			if len(seen) != i+2 {
				t.Fatalf("after %d Applys the subscriber was called %d times, want %d", i+1, len(seen), i+2)
			}
			if last := seen[len(seen)-1]; last != snap {
				t.Fatalf("Apply %d returned a snapshot other than the one the subscriber saw", i+1)
			}
			if prev := seen[len(seen)-2]; snap.Seq() <= prev.Seq() {
				t.Errorf("Seq went from %d to %d", prev.Seq(), snap.Seq())
			}
		}
	})

	t.Run("not for a refused Apply", func(t *testing.T) {
		s := withAccounts(t, open)
		var r recorder
		cancel := s.Subscribe(r.record)
		defer cancel()
		refused(t, s, store.ErrExists, store.Create(sa("sa-a", "x")))
		refused(t, s, store.ErrNotFound, store.Delete(store.KindUser, "u-missing", 0))
		if n := len(r.seen()); n != 1 {
			t.Errorf("subscriber called %d times, want once (at Subscribe)", n)
		}
	})

	t.Run("SetStatic notifies with the static objects", func(t *testing.T) {
		s := open(t)
		var r recorder
		cancel := s.Subscribe(r.record)
		defer cancel()
		s.SetStatic(statics())
		seen := r.seen()
		if len(seen) != 2 {
			t.Fatalf("subscriber called %d times, want 2", len(seen))
		}
		wantPresent(t, seen[1], store.KindServiceAccount, "sa-static")
		if seen[1].Seq() <= seen[0].Seq() {
			t.Errorf("Seq went from %d to %d", seen[0].Seq(), seen[1].Seq())
		}
	})

	t.Run("cancel stops the calls", func(t *testing.T) {
		s := open(t)
		var r recorder
		cancel := s.Subscribe(r.record)
		apply(t, s, store.Create(sa("sa-1", "a")))
		cancel()
		apply(t, s, store.Create(sa("sa-2", "b")))
		s.SetStatic(statics())
		if n := len(r.seen()); n != 2 {
			t.Errorf("subscriber called %d times, want 2 (at Subscribe and the Apply before cancel)", n)
		}
	})

	t.Run("every subscriber sees every snapshot in order", func(t *testing.T) {
		s := open(t)
		var a, b recorder
		defer s.Subscribe(a.record)()
		apply(t, s, store.Create(sa("sa-1", "a")))
		defer s.Subscribe(b.record)()
		s1 := apply(t, s, store.Create(sa("sa-2", "b")))
		s2 := apply(t, s, store.Delete(store.KindServiceAccount, "sa-1", 0))
		seenA, seenB := a.seen(), b.seen()
		if len(seenA) != 4 || len(seenB) != 3 {
			t.Fatalf("subscribers called %d and %d times, want 4 and 3", len(seenA), len(seenB))
		}
		if seenA[2] != s1 || seenA[3] != s2 || seenB[1] != s1 || seenB[2] != s2 {
			t.Errorf("subscribers did not see the snapshots Apply returned")
		}
		if seenB[0] != seenA[1] {
			t.Errorf("the second subscriber's first snapshot is not the current one")
		}
	})
}

func testConcurrency(t *testing.T, open func(t *testing.T) store.Store) {
	t.Run("concurrent Applys all land and Seq strictly increases", func(t *testing.T) {
		const writers, each = 16, 4
		s := open(t)
		var r recorder
		defer s.Subscribe(r.record)()

		stop := make(chan struct{})
		var readers sync.WaitGroup
		for range 2 {
			readers.Go(func() {
				for {
					select {
					case <-stop:
						return
					default:
					}
					snap := s.Snapshot()
					if n, l := snap.Len(store.KindServiceAccount), len(snap.ServiceAccounts()); n != l {
						t.Errorf("a snapshot has Len %d but lists %d", n, l)
						return
					}
				}
			})
		}

		var wg sync.WaitGroup
		seqs := make(chan uint64, writers*each)
		for w := range writers {
			wg.Go(func() {
				for i := range each {
					id := fmt.Sprintf("sa-w%02d%02d", w, i)
					snap, err := s.Apply(context.Background(), store.Create(sa(id, id)), store.Create(key("K"+id, id)))
					if err != nil {
						t.Errorf("Apply %s: %v", id, err)
						return
					}
					if _, ok := snap.ServiceAccount(id); !ok {
						t.Errorf("the snapshot Apply returned lacks %s", id)
					}
					seqs <- snap.Seq()
				}
			})
		}
		wg.Wait()
		close(stop)
		readers.Wait()
		close(seqs)

		snap := s.Snapshot()
		if n := snap.Len(store.KindServiceAccount); n != writers*each {
			t.Errorf("%d service accounts, want %d", n, writers*each)
		}
		if n := len(snap.APIKeys()); n != writers*each {
			t.Errorf("%d API keys, want %d", n, writers*each)
		}
		seen := r.seen()
		for i := 1; i < len(seen); i++ {
			if seen[i].Seq() <= seen[i-1].Seq() {
				t.Fatalf("subscriber saw Seq %d after %d", seen[i].Seq(), seen[i-1].Seq())
			}
		}
		saw := map[uint64]bool{}
		for _, sn := range seen {
			saw[sn.Seq()] = true
		}
		returned := map[uint64]bool{}
		for q := range seqs {
			if returned[q] {
				t.Errorf("two Applys returned snapshots of Seq %d", q)
			}
			returned[q] = true
			if !saw[q] {
				t.Errorf("the subscriber never saw the snapshot of Seq %d that Apply returned", q)
			}
		}
	})

	t.Run("concurrent creates of one name: exactly one wins", func(t *testing.T) {
		const n = 8
		s := open(t)
		var wg sync.WaitGroup
		errs := make(chan error, n)
		for i := range n {
			wg.Go(func() {
				_, err := s.Apply(context.Background(), store.Create(sa(fmt.Sprintf("sa-c%d", i), "contested")))
				errs <- err
			})
		}
		wg.Wait()
		close(errs)
		won := 0
		for err := range errs {
			switch {
			case err == nil:
				won++
			case !errors.Is(err, store.ErrExists):
				t.Errorf("Apply: %v, want nil or ErrExists", err)
			}
		}
		if won != 1 || s.Snapshot().Len(store.KindServiceAccount) != 1 {
			t.Errorf("%d creates won, %d accounts; want 1 and 1", won, s.Snapshot().Len(store.KindServiceAccount))
		}
	})
}

func testKeyUse(t *testing.T, open func(t *testing.T) store.Store) {
	ctx := context.Background()
	t.Run("a new store has no key use", func(t *testing.T) {
		got, err := open(t).KeyLastUsed(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 0 {
			t.Errorf("KeyLastUsed = %v, want none", got)
		}
	})
	t.Run("RecordKeyUse keeps the later time of each key", func(t *testing.T) {
		s := open(t)
		t1, t2, t3 := t0.Add(time.Hour), t0.Add(2*time.Hour), t0.Add(3*time.Hour)
		for _, used := range []map[string]time.Time{
			{"A": t1, "B": t2},
			{"A": t0, "B": t3, "C": t1},
			{},
		} {
			if err := s.RecordKeyUse(ctx, used); err != nil {
				t.Fatal(err)
			}
		}
		got, err := s.KeyLastUsed(ctx)
		if err != nil {
			t.Fatal(err)
		}
		want := map[string]time.Time{"A": t1, "B": t3, "C": t1}
		if len(got) != len(want) {
			t.Fatalf("KeyLastUsed = %v, want %v", got, want)
		}
		for id, w := range want {
			if !got[id].Equal(w) {
				t.Errorf("KeyLastUsed[%s] = %v, want %v", id, got[id], w)
			}
		}
	})
	t.Run("the map KeyLastUsed returns is the caller's", func(t *testing.T) {
		s := open(t)
		if err := s.RecordKeyUse(ctx, map[string]time.Time{"A": t0}); err != nil {
			t.Fatal(err)
		}
		got, _ := s.KeyLastUsed(ctx)
		delete(got, "A")
		again, err := s.KeyLastUsed(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if !again["A"].Equal(t0) {
			t.Errorf("changing the returned map changed the store: %v", again)
		}
	})
}

func testDigest(t *testing.T, open func(t *testing.T) store.Store) {
	// Apply stamps objects with the store's clock, so two stores given the
	// same commands through Apply differ in created_at. Their states are
	// compared with the times fixed: through static objects, which keep
	// their metadata, and through the pure Snapshot.Apply at one time.
	cmds := creates(sa("sa-1", "a"), user("u-1", "a@example.com"), key("K1", "sa-1"),
		provider("op-1", "corp", "https://idp"), pool("pool-1", "op-1", "apps"), admin("rb-1", "User:u-1"), acl("User:sa-1", "orders"))

	t.Run("two empty stores have the same digest", func(t *testing.T) {
		if a, b := open(t).Snapshot().Digest(), open(t).Snapshot().Digest(); a != b {
			t.Errorf("digests %s and %s", a, b)
		}
	})

	t.Run("the same commands at the same time give the same digest on two stores", func(t *testing.T) {
		a, err := open(t).Snapshot().Apply(cmds, t0)
		if err != nil {
			t.Fatal(err)
		}
		b, err := open(t).Snapshot().Apply(cmds, t0)
		if err != nil {
			t.Fatal(err)
		}
		if a.Digest() != b.Digest() {
			t.Errorf("digests differ")
		}
		c, err := b.Apply([]store.Command{store.Update(sa("sa-1", "changed"), 0)}, t0)
		if err != nil {
			t.Fatal(err)
		}
		if c.Digest() == a.Digest() {
			t.Errorf("an update did not change the digest")
		}
	})

	t.Run("the same static objects give the same digest on two stores, a change another", func(t *testing.T) {
		a, b := open(t), open(t)
		a.SetStatic(statics())
		b.SetStatic(statics())
		if a.Snapshot().Digest() != b.Snapshot().Digest() {
			t.Fatalf("digests differ")
		}
		apply(t, b, store.Create(sa("sa-1", "a")))
		if a.Snapshot().Digest() == b.Snapshot().Digest() {
			t.Errorf("a create did not change the digest")
		}
	})

	t.Run("the same commands give the same objects on two stores, up to their times", func(t *testing.T) {
		a, b := open(t), open(t)
		snapA, snapB := apply(t, a, cmds...), apply(t, b, cmds...)
		for _, k := range store.Kinds {
			la, lb := snapA.List(k), snapB.List(k)
			if len(la) != len(lb) {
				t.Fatalf("%s: %d and %d objects", k, len(la), len(lb))
			}
			for i := range la {
				ma, mb := la[i].Meta(), lb[i].Meta()
				if ma.ID != mb.ID || ma.Version != mb.Version || ma.Source != mb.Source {
					t.Errorf("%s: metadata %+v and %+v", k, *ma, *mb)
				}
				if fa, fb := fields(t, la[i]), fields(t, lb[i]); !reflect.DeepEqual(fa, fb) {
					t.Errorf("%s %s: %v and %v", k, ma.ID, fa, fb)
				}
			}
		}
	})

	t.Run("every change changes the digest, and undoing it restores it", func(t *testing.T) {
		s := open(t)
		empty := s.Snapshot().Digest()
		d1 := apply(t, s, store.Create(sa("sa-1", "a"))).Digest()
		if d1 == empty {
			t.Errorf("a create did not change the digest")
		}
		if s.Snapshot().Digest() != d1 {
			t.Errorf("the digest of Snapshot() is not that of the snapshot Apply returned")
		}
		d2 := apply(t, s, store.Update(sa("sa-1", "a"), 0)).Digest()
		if d2 == d1 {
			t.Errorf("an update to the same content (a new version) did not change the digest")
		}
		d3 := apply(t, s, store.Delete(store.KindServiceAccount, "sa-1", 0)).Digest()
		if d3 != empty {
			t.Errorf("deleting the only object did not restore the empty digest")
		}
	})

	t.Run("the digest does not depend on the order of creation", func(t *testing.T) {
		base := open(t).Snapshot()
		a1, err := base.Apply(cmds[:1], t0)
		if err != nil {
			t.Fatal(err)
		}
		a, err := a1.Apply(cmds[1:2], t0)
		if err != nil {
			t.Fatal(err)
		}
		b, err := base.Apply([]store.Command{cmds[1], cmds[0]}, t0)
		if err != nil {
			t.Fatal(err)
		}
		if a.Digest() != b.Digest() {
			t.Errorf("digests differ by the order of creation")
		}
		if base.Len(store.KindServiceAccount) != 0 {
			t.Errorf("Snapshot.Apply changed the snapshot it was applied to")
		}
	})
}
