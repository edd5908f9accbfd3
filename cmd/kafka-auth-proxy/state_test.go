package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl/plain"

	"github.com/kafka-auth-proxy/kafka-auth-proxy/authn/apikey"
	"github.com/kafka-auth-proxy/kafka-auth-proxy/store"
)

// seededKey is the API key of seedState and its secret.
type seededKey struct {
	id, secret string
	used       time.Time
}

// seedState writes a state file with an object of every kind, one of them
// updated, and a key's last use.
func seedState(t *testing.T, path string) seededKey {
	t.Helper()
	k := seededKey{used: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
	var err error
	if k.id, err = apikey.NewKeyID(); err != nil {
		t.Fatal(err)
	}
	if k.secret, err = apikey.NewSecret(); err != nil {
		t.Fatal(err)
	}
	hash, err := apikey.HashSecret(k.secret)
	if err != nil {
		t.Fatal(err)
	}
	f, err := store.OpenFile(path)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	_, err = f.Apply(ctx,
		store.Create(&store.ServiceAccount{Metadata: store.Meta{ID: "sa-app"}, DisplayName: "app"}),
		store.Create(&store.User{Metadata: store.Meta{ID: "u-alice"}, Email: "alice@example.com", FullName: "Alice"}),
		store.Create(&store.IdentityProvider{Metadata: store.Meta{ID: "op-corp"}, DisplayName: "corp", Issuer: "https://login.example.com",
			Audiences: []string{"kafka"}}),
		store.Create(&store.IdentityPool{Metadata: store.Meta{ID: "pool-apps"}, Provider: "op-corp", DisplayName: "apps",
			IdentityClaim: "claims.sub", Filter: "true"}),
		store.Create(&store.APIKey{Metadata: store.Meta{ID: k.id}, SecretHash: hash, Owner: "sa-app", Resource: "cli-test", DisplayName: "producer"}),
		store.Create(&store.RoleBinding{Metadata: store.Meta{ID: "rb-admin"}, Principal: "User:u-alice", RoleName: store.RoleOrganizationAdmin,
			CRNPattern: store.OrganizationCRN("org-1")}),
		store.Create(stateACL()))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Apply(ctx, store.Update(&store.ServiceAccount{Metadata: store.Meta{ID: "sa-app"}, DisplayName: "app", Description: "orders"}, 1)); err != nil {
		t.Fatal(err)
	}
	if err := store.MergeLastUsed(path, map[string]time.Time{k.id: k.used}); err != nil {
		t.Fatal(err)
	}
	return k
}

func stateACL() *store.ACL {
	a := &store.ACL{Cluster: "cli-test", ResourceType: "TOPIC", ResourceName: "orders", PatternType: "LITERAL",
		Principal: "User:sa-app", Host: "*", Operation: "READ", Permission: "ALLOW"}
	a.Metadata.ID = store.ACLID(a)
	return a
}

func openState(t *testing.T, path string) *store.File {
	t.Helper()
	f, err := store.OpenFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func applyState(t *testing.T, path string, cmds ...store.Command) {
	t.Helper()
	if _, err := openState(t, path).Apply(context.Background(), cmds...); err != nil {
		t.Fatal(err)
	}
}

// wantSameObject checks that o is in snap with the same metadata and
// content.
func wantSameObject(t *testing.T, snap *store.Snapshot, o store.Object) {
	t.Helper()
	got, ok := snap.Get(o.Kind(), o.Meta().ID)
	if !ok {
		t.Errorf("%s %s is missing", o.Kind(), o.Meta().ID)
		return
	}
	if !reflect.DeepEqual(got, o) {
		t.Errorf("%s %s:\n got %+v\nwant %+v", o.Kind(), o.Meta().ID, got, o)
	}
}

// An export imported into a fresh state file is the same state: every
// object with its metadata, the same digest, and keys that verify their
// secrets.
func TestStateExportImport(t *testing.T) {
	isolate(t)
	dir := t.TempDir()
	src, dst, backup := filepath.Join(dir, "src.json"), filepath.Join(dir, "dst.json"), filepath.Join(dir, "backup.json")
	key := seedState(t, src)

	out := mustExecute(t, "state", "export", backup, "--state-file", src)
	for _, want := range []string{"Exported the state file " + src + " to " + backup, "service accounts     1", "API keys             1",
		"key last-use times   1", "kafka-auth-proxy-state version 1"} {
		if !strings.Contains(out, want) {
			t.Errorf("export summary lacks %q:\n%s", want, out)
		}
	}
	info, err := os.Stat(backup)
	if err != nil {
		t.Fatal(err)
	}
	if info.Mode().Perm() != 0o600 {
		t.Errorf("export mode %v, want 0600", info.Mode().Perm())
	}
	raw, err := os.ReadFile(backup)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(raw), key.secret) {
		t.Fatal("the export holds a secret")
	}

	in := mustExecute(t, "state", "import", backup, "--state-file", dst)
	if !strings.Contains(in, "Imported "+backup) || !strings.Contains(in, "role bindings        1") {
		t.Errorf("import summary:\n%s", in)
	}
	from, to := openState(t, src).Snapshot(), openState(t, dst).Snapshot()
	if from.Digest() != to.Digest() {
		t.Errorf("the imported state's digest differs from the exported one's")
	}
	if d := "digest               " + from.Digest(); !strings.Contains(out, d) || !strings.Contains(in, d) {
		t.Errorf("the summaries do not both show the digest %s:\n%s\n%s", from.Digest(), out, in)
	}
	for _, k := range store.Kinds {
		if from.Len(k) != 1 || to.Len(k) != 1 {
			t.Errorf("%s: %d exported, %d imported, want 1 and 1", k, from.Len(k), to.Len(k))
		}
		for _, o := range from.List(k) {
			wantSameObject(t, to, o)
		}
	}
	if sa, _ := to.ServiceAccount("sa-app"); sa == nil || sa.Metadata.Version != 2 || sa.Description != "orders" {
		t.Errorf("the updated account was imported as %+v", sa)
	}
	k, ok := to.APIKey(key.id)
	if !ok {
		t.Fatal("the key was not imported")
	}
	if h, err := apikey.ParseHash(k.SecretHash); err != nil || !h.Verify(key.secret) {
		t.Errorf("the imported key does not verify its secret: %v", err)
	}
	used, err := store.LoadLastUsed(dst)
	if err != nil || !used[key.id].Equal(key.used) {
		t.Errorf("imported last-use times %v, %v; want %s at %v", used, err, key.id, key.used)
	}

	// A state that holds objects is not imported into without --merge.
	before := to.Digest()
	_, err = execute("state", "import", backup, "--state-file", dst)
	if err == nil || !strings.Contains(err.Error(), "holds 7 objects already") || !strings.Contains(err.Error(), "--merge") {
		t.Errorf("import into a non-empty state: %v", err)
	}
	if openState(t, dst).Snapshot().Digest() != before {
		t.Errorf("a refused import changed the state")
	}

	// An export is not written over a file without --force.
	if err := os.WriteFile(backup, []byte("precious"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := execute("state", "export", backup, "--state-file", src); err == nil || !strings.Contains(err.Error(), "--force") {
		t.Errorf("export over a file: %v", err)
	}
	if b, _ := os.ReadFile(backup); string(b) != "precious" {
		t.Errorf("a refused export changed the file")
	}
	mustExecute(t, "state", "export", backup, "--state-file", src, "--force")
	if b, _ := os.ReadFile(backup); !bytes.Equal(b[:40], raw[:40]) {
		t.Errorf("export --force did not replace the file: %.40s", b)
	}
	if info, _ := os.Stat(backup); info.Mode().Perm() != 0o600 {
		t.Errorf("export --force left mode %v, want 0600", info.Mode().Perm())
	}
	if _, err := execute("state", "export", src, "--state-file", src, "--force"); err == nil || !strings.Contains(err.Error(), "state file itself") {
		t.Errorf("export onto the state file: %v", err)
	}
	if _, err := execute("state", "export", filepath.Join(dir, "x.json"), "--state-file", filepath.Join(dir, "missing.json")); err == nil ||
		!strings.Contains(err.Error(), "does not exist") {
		t.Errorf("export of a missing state file: %v", err)
	}
}

func TestStateImportErrors(t *testing.T) {
	isolate(t)
	dir := t.TempDir()
	dst := filepath.Join(dir, "dst.json")
	bad := filepath.Join(dir, "bad.json")
	if err := os.WriteFile(bad, []byte("{\"format\": \"kafka-auth-proxy-state\",\n\"version\": 1,\n\"objects\": {]}"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := execute("state", "import", bad, "--state-file", dst); err == nil || !strings.Contains(err.Error(), bad+": export: line 3") {
		t.Errorf("a corrupt export: %v", err)
	}
	newer := filepath.Join(dir, "newer.json")
	if err := os.WriteFile(newer, []byte(`{"format": "kafka-auth-proxy-state", "version": 9}`), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := execute("state", "import", newer, "--state-file", dst); err == nil || !strings.Contains(err.Error(), "upgrade kafka-auth-proxy") {
		t.Errorf("a newer export: %v", err)
	}
	if _, err := execute("state", "import", filepath.Join(dir, "missing.json"), "--state-file", dst); err == nil {
		t.Errorf("a missing export was imported")
	}
	empty := filepath.Join(dir, "empty.json")
	if err := os.WriteFile(empty, []byte(`{"format": "kafka-auth-proxy-state", "version": 1}`), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := execute("state", "import", empty); err == nil || !strings.Contains(err.Error(), "--state-file") {
		t.Errorf("without a state file: %v", err)
	}
	if _, err := os.Stat(dst); err == nil {
		t.Errorf("a failed import wrote the state file")
	}
}

// With --merge, the objects the state lacks are added, those it has are
// kept and the different ones reported; an object that cannot be added
// fails the whole import.
func TestStateImportMerge(t *testing.T) {
	isolate(t)
	dir := t.TempDir()
	src, dst, backup := filepath.Join(dir, "src.json"), filepath.Join(dir, "dst.json"), filepath.Join(dir, "backup.json")
	key := seedState(t, src)
	mustExecute(t, "state", "export", backup, "--state-file", src)
	mustExecute(t, "state", "import", backup, "--state-file", dst)
	exported := openState(t, src).Snapshot()

	// The state moves on: an account is updated, objects are deleted,
	// others created, one of them with the name of a deleted one.
	applyState(t, dst,
		store.Update(&store.ServiceAccount{Metadata: store.Meta{ID: "sa-app"}, DisplayName: "app", Description: "changed"}, 2),
		store.Delete(store.KindACL, stateACL().Metadata.ID, 0),
		store.Delete(store.KindAPIKey, key.id, 0),
		store.Delete(store.KindIdentityPool, "pool-apps", 0),
		store.Create(&store.ServiceAccount{Metadata: store.Meta{ID: "sa-other"}, DisplayName: "other"}),
		store.Create(&store.IdentityPool{Metadata: store.Meta{ID: "pool-new"}, Provider: "op-corp", DisplayName: "apps", Filter: "true"}))
	before := openState(t, dst).Snapshot().Digest()

	_, err := execute("state", "import", backup, "--state-file", dst, "--merge")
	if err == nil || !strings.Contains(err.Error(), "nothing was changed") || !strings.Contains(err.Error(), "pool-new") {
		t.Fatalf("a merge whose pool's name is taken: %v", err)
	}
	if _, err := execute("state", "import", backup, "--state-file", dst, "--merge", "--dry-run"); err == nil ||
		!strings.Contains(err.Error(), "would be refused") {
		t.Errorf("a dry run of the same: %v", err)
	}
	if openState(t, dst).Snapshot().Digest() != before {
		t.Fatal("a refused merge changed the state")
	}
	applyState(t, dst, store.Delete(store.KindIdentityPool, "pool-new", 0))
	before = openState(t, dst).Snapshot().Digest()

	out := mustExecute(t, "state", "import", backup, "--state-file", dst, "--merge", "--dry-run")
	if !strings.Contains(out, "Would merge") || !strings.Contains(out, "Nothing was changed") {
		t.Errorf("dry run:\n%s", out)
	}
	if openState(t, dst).Snapshot().Digest() != before {
		t.Fatal("a dry run changed the state")
	}

	out = mustExecute(t, "state", "import", backup, "--state-file", dst, "--merge")
	for _, want := range []string{
		"Merged " + backup,
		"service accounts            0         0         1",
		"API keys                    1         0         0",
		"identity pools              1         0         0",
		"ACLs                        1         0         0",
		"users                       0         1         0",
		"service account sa-app: the state's is at version 3",
		"the export's at version 2",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("merge summary lacks %q:\n%s", want, out)
		}
	}
	snap := openState(t, dst).Snapshot()
	for _, o := range []struct {
		kind store.Kind
		id   string
	}{{store.KindACL, stateACL().Metadata.ID}, {store.KindAPIKey, key.id}, {store.KindIdentityPool, "pool-apps"}} {
		want, _ := exported.Get(o.kind, o.id)
		wantSameObject(t, snap, want) // restored with the metadata of the export
	}
	if sa, _ := snap.ServiceAccount("sa-app"); sa == nil || sa.Description != "changed" || sa.Metadata.Version != 3 {
		t.Errorf("the conflicting account was not kept: %+v", sa)
	}
	if _, ok := snap.ServiceAccount("sa-other"); !ok {
		t.Errorf("the state's own account is gone")
	}
	if used, _ := store.LoadLastUsed(dst); !used[key.id].Equal(key.used) {
		t.Errorf("the restored key's last use is %v, want %v", used[key.id], key.used)
	}

	// Merging again adds nothing.
	again := mustExecute(t, "state", "import", backup, "--state-file", dst, "--merge")
	if !strings.Contains(again, "API keys                    0         1         0") {
		t.Errorf("a second merge:\n%s", again)
	}
}

// "-" is the standard output and input; the summary of an export to the
// standard output goes to the standard error.
func TestStateThroughAPipe(t *testing.T) {
	isolate(t)
	dir := t.TempDir()
	src, dst := filepath.Join(dir, "src.json"), filepath.Join(dir, "dst.json")
	seedState(t, src)
	var stdout, stderr bytes.Buffer
	cmd := newRootCmd()
	cmd.SetOut(&stdout)
	cmd.SetErr(&stderr)
	cmd.SetArgs([]string{"state", "export", "-", "--state-file", src})
	if err := cmd.Execute(); err != nil {
		t.Fatal(err)
	}
	x, err := store.ParseExport(stdout.Bytes())
	if err != nil {
		t.Fatalf("the standard output is no export: %v\n%s", err, stdout.String())
	}
	if x.Len() != 7 || !strings.Contains(stderr.String(), "to the standard output") {
		t.Errorf("%d objects; summary:\n%s", x.Len(), stderr.String())
	}
	out, err := executeWithInput(stdout.String(), "state", "import", "-", "--state-file", dst)
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if openState(t, src).Snapshot().Digest() != openState(t, dst).Snapshot().Digest() {
		t.Errorf("the state did not pass through the pipe")
	}
}

// A key exported from one proxy's state logs in through another proxy
// the state is imported into, with its secret, while that proxy runs.
func TestImportedKeysLogIn(t *testing.T) {
	isolate(t)
	p := startRunningProxy(t, false)
	dir := t.TempDir()
	src, backup := filepath.Join(dir, "src.json"), filepath.Join(dir, "backup.json")
	key := seedState(t, src)
	mustExecute(t, "state", "export", backup, "--state-file", src)
	mustExecute(t, "state", "import", backup, "--config", p.cfgFile)

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	login := kgo.SASL(plain.Auth{User: key.id, Pass: key.secret}.AsMechanism())
	for {
		cl, err := kgo.NewClient(kgo.SeedBrokers(p.srv.BootstrapAddr()), login, kgo.DefaultProduceTopic("t"))
		if err != nil {
			t.Fatal(err)
		}
		actx, acancel := context.WithTimeout(ctx, 2*time.Second)
		err = cl.ProduceSync(actx, kgo.StringRecord("x")).FirstErr()
		acancel()
		cl.Close()
		if err == nil {
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("the imported key never logged in: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
