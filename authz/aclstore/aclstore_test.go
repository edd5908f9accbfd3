package aclstore

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"go.uber.org/zap/zaptest"

	"github.com/kafka-auth-proxy/kafka-auth-proxy/authz"
	"github.com/kafka-auth-proxy/kafka-auth-proxy/store"
)

func topicACL(principal, name string, op authz.Operation) authz.ACL {
	return authz.ACL{Principal: principal, Host: "*", ResourceType: authz.ResourceTopic, Name: name,
		Pattern: authz.PatternLiteral, Operation: op, Permission: authz.PermissionAllow}
}

func allowed(az *authz.Authorizer, principal, topic string, op authz.Operation) bool {
	return az.Load().Subject(principal, "10.0.0.1").Authorize(authz.ResourceTopic, topic, op).Allowed
}

func newStore(t *testing.T, path string, static authz.Policy) (*Store, *authz.Authorizer) {
	t.Helper()
	az, err := authz.NewAuthorizer(authz.Policy{})
	if err != nil {
		t.Fatal(err)
	}
	s := New(path, az, static, zaptest.NewLogger(t))
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	if err := s.Start(ctx, 20*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	return s, az
}

func TestCreatedACLsAreStoredAppliedAndKeptOnce(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.json")
	static := authz.Policy{ACLs: []authz.ACL{topicACL("User:sa-a", "orders", authz.OpRead)}}
	s, az := newStore(t, path, static)
	if !allowed(az, "User:sa-a", "orders", authz.OpRead) || allowed(az, "User:sa-a", "payments", authz.OpWrite) {
		t.Fatal("the configuration's policy is not in force")
	}
	acl := topicACL("User:sa-a", "payments", authz.OpWrite)
	for range 2 {
		if err := s.Create(context.Background(), []authz.ACL{acl}); err != nil {
			t.Fatal(err)
		}
	}
	if !allowed(az, "User:sa-a", "payments", authz.OpWrite) {
		t.Error("a created ACL is not in force when Create returns")
	}
	st, err := store.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(st.ACLs) != 1 || st.ACLs[0].ResourceType != "Topic" || st.ACLs[0].Operation != "Write" || st.ACLs[0].Created.IsZero() {
		t.Errorf("state file ACLs: %+v", st.ACLs)
	}
	// Another proxy started on the same file has the ACL too.
	_, az2 := newStore(t, path, static)
	if !allowed(az2, "User:sa-a", "payments", authz.OpWrite) {
		t.Error("the stored ACL does not survive a restart")
	}
}

func TestDeleteReportsConfigurationACLsAsFixed(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.json")
	static := authz.Policy{ACLs: []authz.ACL{topicACL("User:sa-a", "orders", authz.OpRead)}}
	s, az := newStore(t, path, static)
	if err := s.Create(context.Background(), []authz.ACL{topicACL("User:sa-a", "payments", authz.OpWrite), topicACL("User:sa-b", "payments", authz.OpWrite)}); err != nil {
		t.Fatal(err)
	}
	principal := "User:sa-a"
	deleted, fixed, err := s.Delete(context.Background(), []authz.Filter{{
		ResourceType: authz.ResourceAny, Pattern: authz.PatternAny, Principal: &principal,
		Operation: authz.OpAny, Permission: authz.PermissionAny,
	}})
	if err != nil {
		t.Fatal(err)
	}
	if len(deleted[0]) != 1 || deleted[0][0].Name != "payments" || len(fixed[0]) != 1 || fixed[0][0].Name != "orders" {
		t.Errorf("deleted %v, fixed %v", deleted, fixed)
	}
	if allowed(az, "User:sa-a", "payments", authz.OpWrite) || !allowed(az, "User:sa-b", "payments", authz.OpWrite) {
		t.Error("the deletion is not in force, or deleted too much")
	}
}

func TestChangesMadeByOthersAreApplied(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.json")
	_, az := newStore(t, path, authz.Policy{})
	err := store.Update(context.Background(), path, func(st *store.State) error {
		st.ACLs = append(st.ACLs, store.ACL{Principal: "User:sa-a", Host: "*", ResourceType: "topic", Name: "x",
			Pattern: "literal", Operation: "read", Permission: "allow"})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for !allowed(az, "User:sa-a", "x", authz.OpRead) {
		if time.Now().After(deadline) {
			t.Fatal("an ACL written to the state file by another process was not applied")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestWithoutAStateFileACLsCannotBeCreated(t *testing.T) {
	s, _ := newStore(t, "", authz.Policy{})
	if err := s.Create(context.Background(), []authz.ACL{topicACL("User:sa-a", "x", authz.OpRead)}); !errors.Is(err, ErrNoStateFile) {
		t.Errorf("got %v, want ErrNoStateFile", err)
	}
}
