package store

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
)

// testMeta is metadata as a stored object has it.
func testMeta(id string) Meta {
	return Meta{ID: id, Version: 3, CreatedAt: t0, UpdatedAt: t0.Add(90 * time.Minute).Add(123 * time.Millisecond), Source: SourceAPI}
}

func testACL() *ACL {
	a := &ACL{Cluster: "lkc-1", ResourceType: "TRANSACTIONAL_ID", ResourceName: "tx-", PatternType: "PREFIXED",
		Principal: "User:sa-1", Host: "*", Operation: "WRITE", Permission: "DENY"}
	a.Metadata = testMeta(ACLID(a))
	return a
}

// oneOfEachKind is an object of every kind with every field set.
func oneOfEachKind() []Object {
	return []Object{
		&ServiceAccount{Metadata: testMeta("sa-1"), DisplayName: "payments", Description: "the payments service"},
		&User{Metadata: testMeta("u-1"), Email: "alice@example.com", FullName: "Alice"},
		&APIKey{Metadata: testMeta("ABCDEFGHIJKLMNOP"), SecretHash: "sha256$c2FsdA$aGFzaA", Owner: "sa-1", Resource: "lkc-1",
			DisplayName: "k", Description: "d"},
		&IdentityProvider{Metadata: testMeta("op-1"), DisplayName: "corp", Description: "d", Issuer: "https://idp",
			JWKSURI: "https://idp/keys", Audiences: []string{"a", "b"}},
		&IdentityPool{Metadata: testMeta("pool-1"), Provider: "op-1", DisplayName: "apps", Description: "d",
			IdentityClaim: "claims.sub", Filter: "true"},
		&RoleBinding{Metadata: testMeta("rb-1"), Principal: "User:u-1", RoleName: RoleOrganizationAdmin, CRNPattern: OrganizationCRN("org-1")},
		testACL(),
	}
}

func TestCommandJSONRoundTrip(t *testing.T) {
	var cmds []Command
	for _, o := range oneOfEachKind() {
		cmds = append(cmds, Create(o), Update(o, 2), Update(o, 0), Delete(o.Kind(), o.Meta().ID, 7), Delete(o.Kind(), o.Meta().ID, 0), Restore(o))
	}
	kinds := map[Kind]bool{}
	for _, c := range cmds {
		kinds[c.Kind] = true
		t.Run(string(c.Op)+" "+string(c.Kind), func(t *testing.T) {
			b, err := json.Marshal(c)
			if err != nil {
				t.Fatal(err)
			}
			var got Command
			if err := json.Unmarshal(b, &got); err != nil {
				t.Fatalf("Unmarshal(%s): %v", b, err)
			}
			if !reflect.DeepEqual(got, c) {
				t.Errorf("round trip of %s:\n got %+v\nwant %+v", b, got, c)
			}
			var fields map[string]json.RawMessage
			if err := json.Unmarshal(b, &fields); err != nil {
				t.Fatal(err)
			}
			if _, ok := fields["object"]; ok != (c.Op != OpDelete) {
				t.Errorf("%s: object present %v, want %v", b, ok, c.Op != OpDelete)
			}
			if _, ok := fields["if_version"]; ok != (c.IfVersion != 0) {
				t.Errorf("%s: if_version present %v, want %v", b, ok, c.IfVersion != 0)
			}
		})
	}
	for _, k := range Kinds {
		if !kinds[k] {
			t.Errorf("kind %s is not covered", k)
		}
	}
}

func TestCommandJSONFormat(t *testing.T) {
	b, err := json.Marshal(Update(&ServiceAccount{Metadata: Meta{ID: "sa-1"}, DisplayName: "p"}, 4))
	if err != nil {
		t.Fatal(err)
	}
	want := `{"op":"update","kind":"ServiceAccount","id":"sa-1","if_version":4,"object":{"metadata":{"id":"sa-1","version":0,` +
		`"created_at":"0001-01-01T00:00:00Z","updated_at":"0001-01-01T00:00:00Z"},"display_name":"p"}}`
	if string(b) != want {
		t.Errorf("Marshal =\n%s\nwant\n%s", b, want)
	}
}

func TestCommandJSONLog(t *testing.T) {
	var cmds []Command
	for _, o := range oneOfEachKind() {
		cmds = append(cmds, Create(o))
	}
	cmds = append(cmds, Delete(KindACL, testACL().Metadata.ID, 1))
	b, err := json.Marshal(cmds)
	if err != nil {
		t.Fatal(err)
	}
	var got []Command
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, cmds) {
		t.Errorf("a list of commands did not round trip")
	}
	// The decoded commands apply like the originals.
	a, err := emptySnapshot().Apply(cmds[:len(cmds)-1], t0)
	if err != nil {
		t.Fatal(err)
	}
	b2, err := emptySnapshot().Apply(got[:len(got)-1], t0)
	if err != nil {
		t.Fatal(err)
	}
	if a.Digest() != b2.Digest() {
		t.Errorf("decoded commands applied to another state")
	}
}

func TestCommandJSONErrors(t *testing.T) {
	for _, tc := range []struct {
		name, json, want string
	}{
		{"an unknown kind with an object", `{"op":"create","kind":"Bogus","id":"x","object":{}}`, `unknown kind "Bogus"`},
		{"an object that does not decode", `{"op":"create","kind":"User","id":"u-1","object":{"email":5}}`, "User"},
		{"not an object", `[1]`, "cannot unmarshal"},
		{"malformed JSON", `{"op":`, "unexpected end"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var c Command
			err := json.Unmarshal([]byte(tc.json), &c)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Unmarshal(%s) = %v, want an error containing %q", tc.json, err, tc.want)
			}
		})
	}
	t.Run("an unknown kind without an object decodes and is refused by Apply", func(t *testing.T) {
		var c Command
		if err := json.Unmarshal([]byte(`{"op":"delete","kind":"Bogus","id":"x"}`), &c); err != nil {
			t.Fatal(err)
		}
		if _, err := emptySnapshot().Apply([]Command{c}, t0); !errors.Is(err, ErrInvalid) {
			t.Errorf("Apply = %v, want ErrInvalid", err)
		}
	})
	t.Run("a null object is no object", func(t *testing.T) {
		var c Command
		if err := json.Unmarshal([]byte(`{"op":"delete","kind":"User","id":"u-1","object":null}`), &c); err != nil {
			t.Fatal(err)
		}
		if c.Object != nil || c != Delete(KindUser, "u-1", 0) {
			t.Errorf("decoded %+v", c)
		}
	})
}

func TestKafkaName(t *testing.T) {
	for in, want := range map[string]string{
		"TransactionalId":  "TRANSACTIONAL_ID",
		"DescribeConfigs":  "DESCRIBE_CONFIGS",
		"transactional_id": "TRANSACTIONAL_ID",
		"Topic":            "TOPIC",
		"ALLOW":            "ALLOW",
		"Literal":          "LITERAL",
		"Prefixed":         "PREFIXED",
		"AlterConfigs":     "ALTER_CONFIGS",
		"DESCRIBE_CONFIGS": "DESCRIBE_CONFIGS",
		"IdempotentWrite":  "IDEMPOTENT_WRITE",
		"":                 "",
	} {
		if got := KafkaName(in); got != want {
			t.Errorf("KafkaName(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestErrorMessage(t *testing.T) {
	for _, tc := range []struct {
		err  *Error
		want string
	}{
		{refuse(ErrNotFound, KindAPIKey, "K1", "does not exist"), "API key K1: does not exist"},
		{refuse(ErrInvariant, KindRoleBinding, "", "last"), "role binding: last"},
		{refuse(ErrExists, KindIdentityPool, "pool-1", "x %d", 2), "identity pool pool-1: x 2"},
	} {
		if got := tc.err.Error(); got != tc.want {
			t.Errorf("Error() = %q, want %q", got, tc.want)
		}
		if !errors.Is(tc.err, tc.err.Err) {
			t.Errorf("%v does not wrap %v", tc.err, tc.err.Err)
		}
	}
}
