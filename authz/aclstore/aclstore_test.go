package aclstore

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/kafka-auth-proxy/kafka-auth-proxy/authz"
	"github.com/kafka-auth-proxy/kafka-auth-proxy/store"
)

func acl(name string, op authz.Operation) authz.ACL {
	return authz.ACL{Principal: "User:sa-app", Host: "*", ResourceType: authz.ResourceTopic, Name: name,
		Pattern: authz.PatternLiteral, Operation: op, Permission: authz.PermissionAllow}
}

func TestStoredACLsKeepKafkasNames(t *testing.T) {
	for _, a := range []authz.ACL{
		acl("orders", authz.OpRead),
		{Principal: "User:*", Host: "10.0.0.1", ResourceType: authz.ResourceTransactionalID, Name: "tx-", Pattern: authz.PatternPrefixed,
			Operation: authz.OpDescribeConfigs, Permission: authz.PermissionDeny},
		{Principal: "User:sa-a", Host: "*", ResourceType: authz.ResourceCluster, Name: authz.ClusterName, Pattern: authz.PatternLiteral,
			Operation: authz.OpIdempotentWrite, Permission: authz.PermissionAllow},
	} {
		x := ToStore(a, "lkc-1")
		if x.Metadata.ID != store.ACLID(x) || x.Cluster != "lkc-1" {
			t.Errorf("ToStore(%v): id %q cluster %q", a, x.Metadata.ID, x.Cluster)
		}
		back, err := FromStore(x)
		if err != nil || back != a {
			t.Errorf("FromStore(ToStore(%v)) = %v, %v", a, back, err)
		}
	}
	x := ToStore(acl("orders", authz.OpDescribeConfigs), "")
	if x.ResourceType != "TOPIC" || x.PatternType != "LITERAL" || x.Operation != "DESCRIBE_CONFIGS" || x.Permission != "ALLOW" {
		t.Errorf("stored names: %+v", x)
	}
	if _, err := FromStore(&store.ACL{ResourceType: "TOPIC", PatternType: "LITERAL", Operation: "FLY", Permission: "ALLOW", Principal: "User:x", Host: "*", ResourceName: "t"}); err == nil {
		t.Error("an ACL with an unknown operation was accepted")
	}
}

func TestACLsOfOtherClustersDoNotApply(t *testing.T) {
	st := store.NewMemory()
	ctx := context.Background()
	if _, err := st.Apply(ctx, store.Create(ToStore(acl("mine", authz.OpRead), "lkc-1")),
		store.Create(ToStore(acl("theirs", authz.OpRead), "lkc-2")),
		store.Create(ToStore(acl("any", authz.OpRead), ""))); err != nil {
		t.Fatal(err)
	}
	entries, bad := Of(st.Snapshot(), "lkc-1")
	var names []string
	for _, e := range entries {
		names = append(names, e.ACL.Name)
	}
	slices.Sort(names)
	if len(bad) != 0 || len(names) != 2 || names[0] != "any" || names[1] != "mine" {
		t.Errorf("Of(lkc-1) = %v, %v; want [any mine]", names, bad)
	}
}

func TestTheKafkaACLAPIsWriteTheStore(t *testing.T) {
	ctx := context.Background()
	st := store.NewMemory()
	st.SetStatic([]store.Object{ToStore(acl("fixed", authz.OpRead), "")})
	s := New(st, func() string { return "lkc-1" }, false)

	if err := s.Create(ctx, []authz.ACL{acl("a", authz.OpRead), acl("a", authz.OpRead), acl("b", authz.OpWrite)}); err != nil {
		t.Fatal(err)
	}
	if err := s.Create(ctx, []authz.ACL{acl("a", authz.OpRead)}); err != nil {
		t.Fatalf("creating an existing ACL again: %v", err)
	}
	static, dynamic := s.ACLs()
	if len(static) != 1 || len(dynamic) != 2 {
		t.Fatalf("ACLs() = %v, %v; want 1 static and 2 created", static, dynamic)
	}
	any := authz.Filter{ResourceType: authz.ResourceTopic, Pattern: authz.PatternAny, Operation: authz.OpAny, Permission: authz.PermissionAny}
	deleted, fixed, err := s.Delete(ctx, []authz.Filter{any})
	if err != nil {
		t.Fatal(err)
	}
	if len(deleted[0]) != 2 || len(fixed[0]) != 1 || fixed[0][0].Name != "fixed" {
		t.Errorf("Delete: deleted %v, fixed %v; want the 2 created deleted and the static one reported", deleted, fixed)
	}
	if _, dynamic := s.ACLs(); len(dynamic) != 0 {
		t.Errorf("after Delete: %v", dynamic)
	}
}

func TestWithoutAStateFileACLChangesAreRefused(t *testing.T) {
	s := New(store.NewMemory(), func() string { return "lkc-1" }, true)
	if err := s.Create(context.Background(), []authz.ACL{acl("a", authz.OpRead)}); !errors.Is(err, ErrNoStateFile) {
		t.Fatalf("Create = %v, want ErrNoStateFile", err)
	}
}
