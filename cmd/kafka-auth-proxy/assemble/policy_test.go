package assemble

import (
	"reflect"
	"testing"

	"github.com/kafka-auth-proxy/kafka-auth-proxy/authz"
	"github.com/kafka-auth-proxy/kafka-auth-proxy/config"
)

// The file's spelling of an ACL or binding becomes the authorizer's, with
// the documented defaults.
func TestAuthorizationPolicyDefaults(t *testing.T) {
	cfg := &config.Config{Authorization: config.Authorization{
		SuperUsers: []string{"User:sa-root"},
		ACLs: []config.ACL{
			{Principal: "User:sa-a", ResourceType: "topic", Name: "orders-", Pattern: "PREFIXED", Operation: "read"},
			{Principal: "User:*", Host: "10.0.0.1", ResourceType: "Cluster", Operation: "idempotent_write", Permission: "deny"},
			{Principal: "User:pool-x", ResourceType: "TRANSACTIONAL_ID", Name: "tx", Operation: "Write"},
		},
		RoleBindings: []config.RoleBinding{
			{Principal: "User:sa-a", Role: "DeveloperRead", ResourceType: "group", Name: "orders-app"},
			{Principal: "User:sa-ops", Role: "Operator", Cluster: "lkc-1"},
		},
	}}
	got, err := Policy(cfg, "lkc-1")
	if err != nil {
		t.Fatal(err)
	}
	want := authz.Policy{
		SuperUsers:     []string{"User:sa-root"},
		Cluster:        "lkc-1",
		ReservedTopics: []string{"_kafka_auth_proxy_state"},
		ACLs: []authz.ACL{
			{Principal: "User:sa-a", Host: "*", ResourceType: authz.ResourceTopic, Name: "orders-", Pattern: authz.PatternPrefixed, Operation: authz.OpRead, Permission: authz.PermissionAllow},
			{Principal: "User:*", Host: "10.0.0.1", ResourceType: authz.ResourceCluster, Name: authz.ClusterName, Pattern: authz.PatternLiteral, Operation: authz.OpIdempotentWrite, Permission: authz.PermissionDeny},
			{Principal: "User:pool-x", Host: "*", ResourceType: authz.ResourceTransactionalID, Name: "tx", Pattern: authz.PatternLiteral, Operation: authz.OpWrite, Permission: authz.PermissionAllow},
		},
		RoleBindings: []authz.RoleBinding{
			{Principal: "User:sa-a", Role: "DeveloperRead", ResourceType: authz.ResourceGroup, Name: "orders-app", Pattern: authz.PatternLiteral},
			{Principal: "User:sa-ops", Role: "Operator", Cluster: "lkc-1"},
		},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got  %+v\nwant %+v", got, want)
	}
}
