package store_test

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kafka-auth-proxy/kafka-auth-proxy/store"
	"github.com/kafka-auth-proxy/kafka-auth-proxy/store/storetest"
)

func TestFile(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		return openFile(t, filepath.Join(t.TempDir(), "state.json"))
	})
}

func openFile(t *testing.T, path string) *store.File {
	t.Helper()
	f, err := store.OpenFile(path)
	if err != nil {
		t.Fatalf("OpenFile: %v", err)
	}
	return f
}

func mustApply(t *testing.T, s store.Store, cmds ...store.Command) *store.Snapshot {
	t.Helper()
	snap, err := s.Apply(context.Background(), cmds...)
	if err != nil {
		t.Fatalf("Apply: %v", err)
	}
	return snap
}

// replaceFile writes content to path atomically, as another writer would,
// so that a watcher never reads half of it.
func replaceFile(t *testing.T, path, content string) {
	t.Helper()
	tmp := path + ".new"
	if err := os.WriteFile(tmp, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

// waitFor polls cond until it holds, failing after a generous deadline.
// Only the outcome is asserted, never how long it took.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// watch runs f.Watch until the test ends.
func watch(t *testing.T, f *store.File, interval time.Duration, onError func(error)) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		f.Watch(ctx, interval, onError)
	}()
	t.Cleanup(func() {
		cancel()
		<-done
	})
}

func account(id, name string) *store.ServiceAccount {
	return &store.ServiceAccount{Metadata: store.Meta{ID: id}, DisplayName: name}
}

func apiKey(id, owner string) *store.APIKey {
	return &store.APIKey{Metadata: store.Meta{ID: id}, SecretHash: "sha256$c2FsdA$aGFzaA", Owner: owner, Resource: "lkc-1"}
}

func topicACL(principal, topic string) *store.ACL {
	a := &store.ACL{Cluster: "lkc-1", ResourceType: "TOPIC", ResourceName: topic, PatternType: "LITERAL",
		Principal: principal, Host: "*", Operation: "READ", Permission: "ALLOW"}
	a.Metadata.ID = store.ACLID(a)
	return a
}

// everyKind creates an object of every kind.
var everyKind = []store.Command{
	store.Create(account("sa-1", "payments")),
	store.Create(&store.User{Metadata: store.Meta{ID: "u-1"}, Email: "alice@example.com", FullName: "Alice"}),
	store.Create(&store.IdentityProvider{Metadata: store.Meta{ID: "op-1"}, DisplayName: "corp", Issuer: "https://idp",
		JWKSURI: "https://idp/keys", Audiences: []string{"kafka", "admin"}}),
	store.Create(&store.IdentityPool{Metadata: store.Meta{ID: "pool-1"}, Provider: "op-1", DisplayName: "apps",
		IdentityClaim: "claims.sub", Filter: "claims.group == 'apps'"}),
	store.Create(apiKey("ABCDEFGHIJKLMNOP", "sa-1")),
	store.Create(&store.RoleBinding{Metadata: store.Meta{ID: "rb-1"}, Principal: "User:u-1",
		RoleName: store.RoleOrganizationAdmin, CRNPattern: "crn://kafka-auth-proxy/organization=org-1"}),
	store.Create(topicACL("User:sa-1", "orders")),
}

func TestFileStateSurvivesReopening(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.json")
	f := openFile(t, path)
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("OpenFile of a missing file created it: %v", err)
	}
	mustApply(t, f, everyKind...)
	want := mustApply(t, f, store.Update(account("sa-1", "renamed"), 1))

	got := openFile(t, path).Snapshot()
	if got.Digest() != want.Digest() {
		t.Errorf("the reopened state differs from the one written")
	}
	for _, k := range store.Kinds {
		if got.Len(k) != 1 {
			t.Errorf("%s: %d objects after reopening, want 1", k, got.Len(k))
		}
	}
	sa, ok := got.ServiceAccount("sa-1")
	if !ok || sa.DisplayName != "renamed" || sa.Metadata.Version != 2 || sa.Metadata.Source != store.SourceAPI {
		t.Errorf("reopened sa-1 = %+v", sa)
	}
	if p, _ := got.Provider("op-1"); p == nil || len(p.Audiences) != 2 {
		t.Errorf("reopened provider = %+v", p)
	}
}

func TestFileDoesNotStoreStaticObjects(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.json")
	f := openFile(t, path)
	f.SetStatic([]store.Object{account("sa-static", "static")})
	mustApply(t, f, store.Create(apiKey("KSTATICOWNED0000", "sa-static")), store.Create(account("sa-api", "api")))
	if content := readFile(t, path); strings.Contains(content, `"id": "sa-static"`) {
		t.Errorf("the state file holds the static account:\n%s", content)
	}
	snap := openFile(t, path).Snapshot()
	if _, ok := snap.ServiceAccount("sa-static"); ok {
		t.Errorf("the reopened file has the static account")
	}
	if _, ok := snap.ServiceAccount("sa-api"); !ok {
		t.Errorf("the reopened file lacks sa-api")
	}
	if k, ok := snap.APIKey("KSTATICOWNED0000"); !ok || k.Owner != "sa-static" {
		t.Errorf("the key of the static account was not kept: %+v", k)
	}
}

func TestFileRefusedApplyDoesNotWrite(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.json")
	f := openFile(t, path)
	mustApply(t, f, store.Create(account("sa-1", "a")))
	before := readFile(t, path)
	if _, err := f.Apply(context.Background(), store.Create(account("sa-2", "b")), store.Create(account("sa-3", "a"))); !errors.Is(err, store.ErrExists) {
		t.Fatalf("Apply = %v, want ErrExists", err)
	}
	if after := readFile(t, path); after != before {
		t.Errorf("a refused Apply rewrote the file:\n%s", after)
	}
}

func TestFileSecondFileSeesWritesThroughWatch(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.json")
	f1, f2 := openFile(t, path), openFile(t, path)
	var mu sync.Mutex
	var seen []*store.Snapshot
	defer f2.Subscribe(func(s *store.Snapshot) {
		mu.Lock()
		defer mu.Unlock()
		seen = append(seen, s)
	})()
	watch(t, f2, 5*time.Millisecond, func(err error) { t.Errorf("Watch: %v", err) })

	mustApply(t, f1, store.Create(account("sa-1", "a")))
	waitFor(t, "the second File to see sa-1", func() bool {
		_, ok := f2.Snapshot().ServiceAccount("sa-1")
		return ok
	})
	want := mustApply(t, f1, store.Delete(store.KindServiceAccount, "sa-1", 0), store.Create(account("sa-2", "b")))
	waitFor(t, "the second File to see the delete", func() bool {
		_, ok := f2.Snapshot().ServiceAccount("sa-1")
		return !ok
	})
	if got := f2.Snapshot(); got.Digest() != want.Digest() {
		t.Errorf("the second File's state differs from the first's")
	}
	mu.Lock()
	defer mu.Unlock()
	if n := len(seen); n < 3 {
		t.Errorf("the second File's subscriber was called %d times, want at least 3", n)
	}
	for i := 1; i < len(seen); i++ {
		if seen[i].Seq() <= seen[i-1].Seq() {
			t.Errorf("subscriber saw Seq %d after %d", seen[i].Seq(), seen[i-1].Seq())
		}
	}
}

func TestFileApplyRereadsUnderTheLock(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.json")
	f1, f2 := openFile(t, path), openFile(t, path) // no Watch: only Apply reads

	mustApply(t, f1, store.Create(account("sa-1", "a")))
	snap := mustApply(t, f2, store.Create(apiKey("K1", "sa-1"))) // refers to f1's account
	if _, ok := snap.ServiceAccount("sa-1"); !ok {
		t.Errorf("the second File's Apply did not see the first's account")
	}
	if _, err := f2.Apply(context.Background(), store.Create(account("sa-2", "a"))); !errors.Is(err, store.ErrExists) {
		t.Errorf("creating a name the first File took = %v, want ErrExists", err)
	}

	mustApply(t, f1, store.Update(account("sa-1", "b"), 1)) // now at version 2
	if _, err := f2.Apply(context.Background(), store.Update(account("sa-1", "c"), 1)); !errors.Is(err, store.ErrVersion) {
		t.Errorf("an update at the version before the first File's = %v, want ErrVersion", err)
	}
	mustApply(t, f2, store.Update(account("sa-1", "c"), 2))

	got := openFile(t, path).Snapshot()
	if sa, _ := got.ServiceAccount("sa-1"); sa == nil || sa.DisplayName != "c" || sa.Metadata.Version != 3 {
		t.Errorf("sa-1 = %+v, want c at version 3", sa)
	}
	if _, ok := got.APIKey("K1"); !ok {
		t.Errorf("the second File's key was lost")
	}
	// f1 reads f2's writes on its next Apply too.
	snap = mustApply(t, f1, store.Create(account("sa-3", "d")))
	if _, ok := snap.APIKey("K1"); !ok {
		t.Errorf("the first File's Apply did not see the second's key")
	}
	if sa, _ := snap.ServiceAccount("sa-1"); sa == nil || sa.Metadata.Version != 3 {
		t.Errorf("the first File's Apply did not see the second's update: %+v", sa)
	}
}

const v1File = `{
  "version": 1,
  "accounts": [
    {"id": "sa-abc123", "description": "payments: the payments service", "created": "2024-01-02T03:04:05Z"},
    {"id": "u-alice1", "description": "Alice"}
  ],
  "keys": [
    {"id": "ABCDEFGHIJKLMNOP", "secret_hash": "sha256$c2FsdA$aGFzaA", "account": "sa-abc123", "cluster": "lkc-1",
     "description": "d", "created": "2024-01-03T00:00:00Z"}
  ],
  "acls": [
    {"principal": "User:sa-abc123", "host": "*", "resource_type": "Topic", "name": "orders", "pattern": "Literal",
     "operation": "DescribeConfigs", "permission": "Allow", "created": "2024-01-04T00:00:00Z"}
  ]
}
`

func TestFileReadsVersion1(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.json")
	replaceFile(t, path, v1File)
	f := openFile(t, path)
	check := func(t *testing.T, snap *store.Snapshot) {
		t.Helper()
		created := time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)
		sa, ok := snap.ServiceAccount("sa-abc123")
		switch {
		case !ok:
			t.Errorf("no service account sa-abc123")
		case sa.DisplayName != "payments" || sa.Description != "the payments service":
			t.Errorf("sa-abc123: display_name %q description %q, want %q %q", sa.DisplayName, sa.Description, "payments", "the payments service")
		case !sa.Metadata.CreatedAt.Equal(created) || sa.Metadata.Version != 1 || sa.Metadata.Source != store.SourceAPI:
			t.Errorf("sa-abc123 metadata = %+v", sa.Metadata)
		}
		if u, ok := snap.User("u-alice1"); !ok || u.FullName != "Alice" {
			t.Errorf("user u-alice1 = %+v, %v", u, ok)
		}
		if k, ok := snap.Account("u-alice1"); !ok || k != store.KindUser {
			t.Errorf("u-alice1 is %q, want a user", k)
		}
		k, ok := snap.APIKey("ABCDEFGHIJKLMNOP")
		if !ok || k.Owner != "sa-abc123" || k.Resource != "lkc-1" || k.SecretHash != "sha256$c2FsdA$aGFzaA" || k.Description != "d" {
			t.Errorf("API key = %+v, %v", k, ok)
		}
		acls := snap.ACLs()
		if len(acls) != 1 {
			t.Fatalf("%d ACLs, want 1", len(acls))
		}
		a := acls[0]
		if a.ResourceType != "TOPIC" || a.PatternType != "LITERAL" || a.Operation != "DESCRIBE_CONFIGS" || a.Permission != "ALLOW" ||
			a.ResourceName != "orders" || a.Principal != "User:sa-abc123" || a.Host != "*" {
			t.Errorf("ACL = %+v", a)
		}
		if a.Metadata.ID != store.ACLID(a) {
			t.Errorf("ACL id %q, want its tuple %q", a.Metadata.ID, store.ACLID(a))
		}
	}
	check(t, f.Snapshot())
	if got := readFile(t, path); got != v1File {
		t.Errorf("reading a version 1 file rewrote it")
	}

	mustApply(t, f, store.Create(account("sa-new", "new")))
	var head struct {
		Version         int               `json:"version"`
		ServiceAccounts []json.RawMessage `json:"service_accounts"`
	}
	if err := json.Unmarshal([]byte(readFile(t, path)), &head); err != nil {
		t.Fatal(err)
	}
	if head.Version != store.Version || len(head.ServiceAccounts) != 2 {
		t.Errorf("after Apply: version %d with %d service accounts, want %d with 2", head.Version, len(head.ServiceAccounts), store.Version)
	}
	reopened := openFile(t, path).Snapshot()
	check(t, reopened)
	if reopened.Digest() != f.Snapshot().Digest() {
		t.Errorf("the rewritten file reads back differently")
	}

	// The migrated objects belong together: deleting the account deletes
	// its key and ACL.
	snap := mustApply(t, f, store.Delete(store.KindServiceAccount, "sa-abc123", 0))
	if snap.Len(store.KindAPIKey) != 0 || snap.Len(store.KindACL) != 0 {
		t.Errorf("deleting the migrated account left %d keys and %d ACLs", snap.Len(store.KindAPIKey), snap.Len(store.KindACL))
	}
}

func TestOpenFileRefusesBadFiles(t *testing.T) {
	for _, tc := range []struct {
		name    string
		content string
		want    []string // in the error, beside the path
	}{
		{"a syntax error", "{\n  \"version\": 2,\n  \"service_accounts\": [\n    {\"metadata\": {\"id\": \"sa-1\"},,}\n  ]\n}\n",
			[]string{"line 4"}},
		{"a value of the wrong type", "{\n  \"version\": 2,\n  \"users\": 5\n}\n", []string{"line 3"}},
		{"a version of the wrong type", "{\n\n  \"version\": \"2\"\n}\n", []string{"line 3"}},
		{"a version 1 file with a syntax error", "{\"version\": 1,\n \"accounts\": [\n  {\"id\": sa-1}]}\n", []string{"line 3"}},
		{"a truncated file", "{\n  \"version\": 2,\n  \"users\": [", []string{"line 3"}},
		{"an empty file", "  \n", []string{"empty"}},
		{"an object without an id", `{"version": 2, "service_accounts": [{"display_name": "x"}]}`, []string{"without an id"}},
		{"a null object", `{"version": 2, "service_accounts": [], "api_keys": [null]}`, []string{"API key #1 is null"}},
		{"an export", `{"format": "kafka-auth-proxy-state", "version": 1, "objects": {}}`, []string{"not a state file", "state import"}},
		{"a newer version", `{"version": 3}`, []string{"version 3", "upgrade"}},
		{"a negative version", `{"version": -1}`, []string{"invalid"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "state.json")
			replaceFile(t, path, tc.content)
			f, err := store.OpenFile(path)
			if err == nil {
				t.Fatalf("OpenFile succeeded with %d service accounts", f.Snapshot().Len(store.KindServiceAccount))
			}
			for _, w := range append([]string{path}, tc.want...) {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("OpenFile error %q does not contain %q", err, w)
				}
			}
		})
	}
}

func TestFileWatchReportsACorruptFileOnce(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.json")
	f := openFile(t, path)
	mustApply(t, f, store.Create(account("sa-1", "a")))
	good := f.Snapshot()

	var mu sync.Mutex
	var errs []error
	reported := func() []error {
		mu.Lock()
		defer mu.Unlock()
		return append([]error(nil), errs...)
	}
	const interval = 2 * time.Millisecond
	watch(t, f, interval, func(err error) {
		mu.Lock()
		defer mu.Unlock()
		errs = append(errs, err)
	})

	corrupt := "{\n  \"version\": 2,\n  \"service_accounts\": [\n"
	replaceFile(t, path, corrupt)
	waitFor(t, "Watch to report the corrupt file", func() bool { return len(reported()) > 0 })
	if err := reported()[0]; !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "line") {
		t.Errorf("Watch reported %q, want the file and the line", err)
	}
	if f.Snapshot() != good {
		t.Errorf("a corrupt file replaced the state in force")
	}
	// Give the watcher many more polls of the same corrupt file, rewritten
	// too; whatever their number, none may be reported.
	time.Sleep(25 * interval)
	replaceFile(t, path, corrupt)
	time.Sleep(25 * interval)
	if n := len(reported()); n != 1 {
		t.Errorf("the corrupt file was reported %d times, want once: %v", n, reported())
	}

	// An Apply refuses to overwrite the corrupt file.
	if _, err := f.Apply(context.Background(), store.Create(account("sa-2", "b"))); err == nil {
		t.Errorf("Apply over a corrupt file succeeded")
	}
	if got := readFile(t, path); got != corrupt {
		t.Errorf("the corrupt file was overwritten:\n%s", got)
	}

	// Once the file is repaired its state is taken, and a new corruption
	// is reported again.
	other := openFile(t, filepath.Join(t.TempDir(), "other.json"))
	mustApply(t, other, store.Create(account("sa-3", "c")))
	replaceFile(t, path, readFile(t, other.Path()))
	waitFor(t, "Watch to take the repaired file", func() bool {
		_, ok := f.Snapshot().ServiceAccount("sa-3")
		return ok
	})
	if _, ok := f.Snapshot().ServiceAccount("sa-1"); ok {
		t.Errorf("the repaired file's state still has sa-1")
	}
	replaceFile(t, path, corrupt)
	waitFor(t, "Watch to report the second corruption", func() bool { return len(reported()) == 2 })
}

func TestFileWatchStopsWithItsContext(t *testing.T) {
	f := openFile(t, filepath.Join(t.TempDir(), "state.json"))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		f.Watch(ctx, time.Millisecond, nil)
	}()
	cancel()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		t.Fatal("Watch did not return after its context ended")
	}
}

func TestFileMode(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.json")
	f := openFile(t, path)
	mustApply(t, f, store.Create(account("sa-1", "a")))
	mustApply(t, f, store.Create(account("sa-2", "b"))) // a replaced file too
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("state file mode %v, want 0600", fi.Mode().Perm())
	}
}

func TestFileApplyAfterACrashedWriter(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "state.json")
	f := openFile(t, path)
	mustApply(t, f, store.Create(account("sa-1", "a")))
	stale := filepath.Join(dir, ".state.json.tmp-xyz")
	if err := os.WriteFile(stale, []byte(`{"version": 2, "service_accounts": [`), 0o600); err != nil {
		t.Fatal(err)
	}
	mustApply(t, f, store.Create(account("sa-2", "b")))
	if _, err := os.Stat(stale); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the stale temporary file is still there: %v", err)
	}
	snap := openFile(t, path).Snapshot()
	if snap.Len(store.KindServiceAccount) != 2 {
		t.Errorf("after the crash, %d accounts, want 2", snap.Len(store.KindServiceAccount))
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if strings.Contains(e.Name(), ".tmp-") {
			t.Errorf("temporary file %s left behind", e.Name())
		}
	}
}

func TestFileKeyUseIsShared(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.json")
	f1, f2 := openFile(t, path), openFile(t, path)
	t1 := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	ctx := context.Background()
	if err := f1.RecordKeyUse(ctx, map[string]time.Time{"A": t1}); err != nil {
		t.Fatal(err)
	}
	if err := f2.RecordKeyUse(ctx, map[string]time.Time{"A": t1.Add(-time.Hour), "B": t1}); err != nil {
		t.Fatal(err)
	}
	got, err := f1.KeyLastUsed(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || !got["A"].Equal(t1) || !got["B"].Equal(t1) {
		t.Errorf("KeyLastUsed = %v, want A and B at %v", got, t1)
	}
}

// An API object whose id the configuration file takes later is hidden,
// not lost: the next write keeps it in the file, and it comes back when
// the configuration drops the id.
func TestAConfigObjectShadowsAnAPIObjectWithoutLosingIt(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "state.json")
	f, err := store.OpenFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Apply(ctx, store.Create(&store.ServiceAccount{Metadata: store.Meta{ID: "sa-shared"}, DisplayName: "from the api"})); err != nil {
		t.Fatal(err)
	}
	f.SetStatic([]store.Object{&store.ServiceAccount{Metadata: store.Meta{ID: "sa-shared"}, DisplayName: "from the config"}})
	if sa, _ := f.Snapshot().ServiceAccount("sa-shared"); sa.Metadata.Source != store.SourceConfig {
		t.Fatalf("while the configuration declares it: %+v, want the configuration's", sa)
	}
	// Another write rewrites the file: the shadowed account stays in it.
	if _, err := f.Apply(ctx, store.Create(&store.ServiceAccount{Metadata: store.Meta{ID: "sa-other"}, DisplayName: "other"})); err != nil {
		t.Fatal(err)
	}
	reopened, err := store.OpenFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if sa, ok := reopened.Snapshot().ServiceAccount("sa-shared"); !ok || sa.DisplayName != "from the api" {
		t.Fatalf("the file after a write: %+v, %v; want the API's account kept", sa, ok)
	}
	f.SetStatic(nil)
	if sa, ok := f.Snapshot().ServiceAccount("sa-shared"); !ok || sa.DisplayName != "from the api" || sa.Metadata.Source != store.SourceAPI {
		t.Errorf("once the configuration drops it: %+v, %v; want the API's account back", sa, ok)
	}
}
