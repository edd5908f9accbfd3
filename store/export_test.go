package store

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/kafka-auth-proxy/kafka-auth-proxy/authn/apikey"
)

// exportedState is a snapshot holding oneOfEachKind as API objects, with
// their metadata, and a static object.
func exportedState(t *testing.T) *Snapshot {
	t.Helper()
	var cmds []Command
	for _, o := range oneOfEachKind() {
		cmds = append(cmds, Restore(o))
	}
	snap, err := emptySnapshot().Apply(cmds, t0.Add(24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	return withStatic(snap, []Object{&ServiceAccount{Metadata: Meta{ID: "sa-static"}, DisplayName: "static"}})
}

func TestExportRoundTrip(t *testing.T) {
	snap := exportedState(t)
	used := map[string]time.Time{"ABCDEFGHIJKLMNOP": t0.Add(time.Hour + 500*time.Millisecond), "DELETEDKEY000000": t0}
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.FixedZone("CET", 3600))
	data, err := NewExport(snap, used, at).Encode()
	if err != nil {
		t.Fatal(err)
	}
	x, err := ParseExport(data)
	if err != nil {
		t.Fatalf("ParseExport: %v\n%s", err, data)
	}
	if !x.ExportedAt.Equal(at) {
		t.Errorf("exported_at %v, want %v", x.ExportedAt, at)
	}
	if _, ok := x.Objects[KindServiceAccount]; !ok || len(x.Objects[KindServiceAccount]) != 1 {
		t.Errorf("service accounts %v, want sa-1 only (not the static one)", x.Objects[KindServiceAccount])
	}
	for _, want := range oneOfEachKind() {
		got := x.Objects[want.Kind()]
		if len(got) != 1 {
			t.Errorf("%s: %d objects, want 1", want.Kind(), len(got))
			continue
		}
		if !reflect.DeepEqual(got[0], want) {
			t.Errorf("%s round trip:\n got %+v\nwant %+v", want.Kind(), got[0], want)
		}
	}
	if x.Len() != len(oneOfEachKind()) {
		t.Errorf("Len = %d, want %d", x.Len(), len(oneOfEachKind()))
	}
	wantUsed := map[string]time.Time{"ABCDEFGHIJKLMNOP": t0.Add(time.Hour)}
	if !reflect.DeepEqual(x.KeyLastUsed, wantUsed) {
		t.Errorf("key_last_used %v, want %v (the exported keys', to the second)", x.KeyLastUsed, wantUsed)
	}

	// Restored into an empty state, at any time, the export is the state
	// it was made from, less its static objects.
	onlyAPI := withStatic(snap, nil).Digest()
	if x.Digest() != onlyAPI {
		t.Errorf("the export's digest is not that of its objects")
	}
	imported, err := emptySnapshot().Apply(x.Restores(), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if imported.Digest() != onlyAPI {
		t.Errorf("the imported state's digest differs from the exported one's")
	}

	// Encoding is stable.
	again, err := x.Encode()
	if err != nil {
		t.Fatal(err)
	}
	if string(again) != string(data) {
		t.Errorf("a parsed export encodes otherwise:\n%s\nwant\n%s", again, data)
	}
}

// An export is not a state file: the state file backend refuses one
// rather than reading it as a state of its own version 1.
func TestExportIsNoStateFile(t *testing.T) {
	data, err := NewExport(exportedState(t), nil, t0).Encode()
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "state.json")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := OpenFile(path); err == nil || !strings.Contains(err.Error(), "state import") {
		t.Errorf("OpenFile of an export = %v, want an error naming state import", err)
	}
}

func TestExportEncoding(t *testing.T) {
	data, err := NewExport(exportedState(t), nil, t0).Encode()
	if err != nil {
		t.Fatal(err)
	}
	var top map[string]json.RawMessage
	if err := json.Unmarshal(data, &top); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, data)
	}
	if string(top["format"]) != `"kafka-auth-proxy-state"` || string(top["version"]) != "1" || string(top["exported_at"]) != `"2025-03-01T12:00:00Z"` {
		t.Errorf("header: format %s version %s exported_at %s", top["format"], top["version"], top["exported_at"])
	}
	var lists map[string][]json.RawMessage
	if err := json.Unmarshal(top["objects"], &lists); err != nil {
		t.Fatal(err)
	}
	for _, fk := range fileKeys {
		if l, ok := lists[fk.key]; !ok || len(l) != 1 {
			t.Errorf("objects.%s = %s, want one object", fk.key, l)
		}
	}
	// One object per line, so that an export reads and diffs well.
	if n := strings.Count(string(data), "\n      {\"metadata\":"); n != len(fileKeys) {
		t.Errorf("%d lines of objects, want %d:\n%s", n, len(fileKeys), data)
	}

	empty, err := NewExport(emptySnapshot(), nil, t0).Encode()
	if err != nil {
		t.Fatal(err)
	}
	x, err := ParseExport(empty)
	if err != nil {
		t.Fatalf("an empty export: %v\n%s", err, empty)
	}
	if x.Len() != 0 || len(x.Restores()) != 0 || x.Digest() != emptySnapshot().Digest() {
		t.Errorf("an empty export holds %d objects", x.Len())
	}
}

// An export holds secret hashes only: the secrets of its keys are nowhere
// in it, and the hashes still verify them after a round trip.
func TestExportHoldsNoSecrets(t *testing.T) {
	secret, err := apikey.NewSecret()
	if err != nil {
		t.Fatal(err)
	}
	hash, err := apikey.HashSecret(secret)
	if err != nil {
		t.Fatal(err)
	}
	snap, err := emptySnapshot().Apply([]Command{
		Create(&ServiceAccount{Metadata: Meta{ID: "sa-1"}, DisplayName: "a"}),
		Create(&APIKey{Metadata: Meta{ID: "ABCDEFGHIJKLMNOP"}, SecretHash: hash, Owner: "sa-1", Resource: "lkc-1"}),
	}, t0)
	if err != nil {
		t.Fatal(err)
	}
	data, err := NewExport(snap, nil, t0).Encode()
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(data), secret) {
		t.Fatalf("the export holds the secret:\n%s", data)
	}
	if !strings.Contains(string(data), `"secret_hash":"`+hash+`"`) {
		t.Errorf("the export lacks the secret hash:\n%s", data)
	}
	x, err := ParseExport(data)
	if err != nil {
		t.Fatal(err)
	}
	imported, err := emptySnapshot().Apply(x.Restores(), t0.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	k, ok := imported.APIKey("ABCDEFGHIJKLMNOP")
	if !ok {
		t.Fatal("the key was not imported")
	}
	h, err := apikey.ParseHash(k.SecretHash)
	if err != nil || !h.Verify(secret) {
		t.Errorf("the imported hash does not verify the secret: %v", err)
	}
}

func TestParseExportErrors(t *testing.T) {
	head := `{"format": "kafka-auth-proxy-state", "version": 1, "exported_at": "2026-01-02T03:04:05Z",` + "\n"
	sa := func(meta string) string {
		return head + `"objects": {"service_accounts": [{"metadata": {` + meta + `}, "display_name": "a"}]}}`
	}
	const meta = `"id": "sa-1", "version": 1, "created_at": "2026-01-01T00:00:00Z", "updated_at": "2026-01-01T00:00:00Z"`
	for _, tc := range []struct {
		name, data string
		want       []string
	}{
		{"an empty file", " \n", []string{"empty"}},
		{"a newer format version", `{"format": "kafka-auth-proxy-state", "version": 2, "objects": {"gadgets": []}}`,
			[]string{"format version 2 is newer than this program understands (1)", "upgrade"}},
		{"format version 0", `{"format": "kafka-auth-proxy-state", "version": 0}`, []string{"version 0 is invalid"}},
		{"no format", `{"version": 1, "objects": {}}`, []string{`no "format"`}},
		{"another format", `{"format": "something-else", "version": 1}`, []string{`"something-else"`}},
		{"a state file", `{"version": 2, "service_accounts": [], "api_keys": []}`, []string{"state file, not an export", "state export"}},
		{"a syntax error", head + `"objects": {` + "\n" + `"service_accounts": [}` + "\n}}", []string{"line 3, column 22"}},
		{"a truncated file", head + `"objects": {"service_accounts": [`, []string{"unexpected end"}},
		{"a field of the wrong type", head + `"objects": {` + "\n\n" + `"users": [{"email": 7}]}}`, []string{"line 4", "email"}},
		{"a version of the wrong type", "{\n\"format\": \"kafka-auth-proxy-state\", \"version\": \"1\"}", []string{"line 2"}},
		{"an unknown list", head + `"objects": {"gadgets": []}}`, []string{`unknown list "gadgets"`}},
		{"an object without id", sa(`"version": 1`), []string{"service account #1: no id"}},
		{"an object without version", sa(`"id": "sa-1"`), []string{"sa-1: no version"}},
		{"an object of the configuration file", sa(meta + `, "source": "config"`), []string{`source "config"`}},
		{"a null object", head + `"objects": {"api_keys": [null]}}`, []string{"API key #1: null"}},
		{"an object listed twice", head + `"objects": {"service_accounts": [{"metadata": {` + meta + `}, "display_name": "a"},` +
			`{"metadata": {` + meta + `}, "display_name": "b"}]}}`, []string{"sa-1: listed twice"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			x, err := ParseExport([]byte(tc.data))
			if err == nil {
				t.Fatalf("ParseExport succeeded: %+v", x)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
	t.Run("an ACL without an id gets its tuple's", func(t *testing.T) {
		x, err := ParseExport([]byte(head + `"objects": {"acls": [{"metadata": {"version": 1}, "cluster": "lkc-1", "resource_type": "TOPIC",` +
			`"resource_name": "t", "pattern_type": "LITERAL", "principal": "User:*", "host": "*", "operation": "READ", "permission": "ALLOW"}]}}`))
		if err != nil {
			t.Fatal(err)
		}
		if a := x.Objects[KindACL][0].(*ACL); a.Metadata.ID != ACLID(a) {
			t.Errorf("ACL id %q, want %q", a.Metadata.ID, ACLID(a))
		}
	})
	t.Run("an older export without key_last_used or lists parses", func(t *testing.T) {
		x, err := ParseExport([]byte(sa(meta)))
		if err != nil {
			t.Fatal(err)
		}
		if x.Len() != 1 || len(x.KeyLastUsed) != 0 {
			t.Errorf("parsed %d objects, %d times", x.Len(), len(x.KeyLastUsed))
		}
	})
}

func TestExportMerge(t *testing.T) {
	x := NewExport(exportedState(t), nil, t0)
	// The target: the same service account, the user changed, the
	// provider's id declared in the configuration file, and nothing else.
	var cmds []Command
	for _, o := range oneOfEachKind()[:2] {
		cmds = append(cmds, Restore(o))
	}
	target, err := emptySnapshot().Apply(cmds, t0)
	if err != nil {
		t.Fatal(err)
	}
	target, err = target.Apply([]Command{Update(&User{Metadata: Meta{ID: "u-1"}, Email: "alice@example.com", FullName: "Alice B"}, 0)}, t0)
	if err != nil {
		t.Fatal(err)
	}
	target = withStatic(target, []Object{&IdentityProvider{Metadata: Meta{ID: "op-1"}, DisplayName: "corp", Issuer: "https://idp"}})

	m := x.Merge(target)
	if len(m.Unchanged) != 1 || m.Unchanged[0].Meta().ID != "sa-1" {
		t.Errorf("unchanged %v, want sa-1", m.Unchanged)
	}
	var conflicts []string
	for _, c := range m.Conflicts {
		conflicts = append(conflicts, c.Exported.Meta().ID+"/"+c.Current.Meta().ID)
	}
	if strings.Join(conflicts, " ") != "u-1/u-1 op-1/op-1" {
		t.Errorf("conflicts %q, want u-1 and op-1", conflicts)
	}
	var restored []string
	for _, c := range m.Restores {
		if c.Op != OpRestore {
			t.Errorf("command %s, want restore", c.Op)
		}
		restored = append(restored, c.ID)
	}
	if strings.Join(restored, " ") != "pool-1 ABCDEFGHIJKLMNOP rb-1 "+testACL().Metadata.ID {
		t.Errorf("restores %q, in the order of Kinds", restored)
	}
	merged, err := target.Apply(m.Restores, t0.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if u, _ := merged.User("u-1"); u.FullName != "Alice B" {
		t.Errorf("the target's conflicting user was replaced")
	}
	// Merging again restores nothing.
	again := x.Merge(merged)
	if len(again.Restores) != 0 || len(again.Unchanged) != 5 || len(again.Conflicts) != 2 {
		t.Errorf("merging twice: %d restores, %d unchanged, %d conflicts", len(again.Restores), len(again.Unchanged), len(again.Conflicts))
	}
}

// A large import is one Apply of restores; each costs its own object, not
// the whole batch.
func BenchmarkImport(b *testing.B) {
	const n = 20_000 // accounts; twice as many keys and bindings
	src := emptySnapshot()
	e := src.edit()
	meta := func(id string) Meta {
		return Meta{ID: id, Version: 2, CreatedAt: t0, UpdatedAt: t0.Add(time.Hour), Source: SourceAPI}
	}
	for i := range n {
		e.put(&ServiceAccount{Metadata: meta(fmt.Sprintf("sa-%05d", i)), DisplayName: fmt.Sprint("app-", i)})
		e.put(&User{Metadata: meta(fmt.Sprintf("u-%05d", i)), Email: fmt.Sprint(i, "@example.com")})
	}
	for i := range 2 * n {
		e.put(&APIKey{Metadata: meta(fmt.Sprintf("K%015d", i)), SecretHash: "sha256$x$y", Owner: fmt.Sprintf("sa-%05d", i/2), Resource: "lkc-1"})
		e.put(&RoleBinding{Metadata: meta(fmt.Sprintf("rb-%06d", i)), Principal: fmt.Sprintf("User:sa-%05d", i/2),
			RoleName: fmt.Sprint("DeveloperRead", i%2), CRNPattern: OrganizationCRN("org-1")})
	}
	data, err := NewExport(e.next, nil, t0).Encode()
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for b.Loop() {
		x, err := ParseExport(data)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := emptySnapshot().Apply(x.Restores(), t0); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(6*n), "objects/op")
}
