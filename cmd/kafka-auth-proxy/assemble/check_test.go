package assemble

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/kafka-auth-proxy/kafka-auth-proxy/authn/apikey"
	"github.com/kafka-auth-proxy/kafka-auth-proxy/config"
)

// What only the proxy's packages can tell about a file, reported by Load
// with key paths and lines like the config package's own problems. The
// files start with the upstream (2 lines); added keys start on line 3 or 4.
func TestLoadReportsTheProblemsThePackagesFind(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		want []config.Problem
	}{
		{
			name: "authorization entries are checked field by field",
			yaml: "auth: none\nupstream:\n  bootstrap: [127.0.0.1:19092]\nauthorization:\n  super_users: [sa-admin]\n  audit_allowed_sample_rate: 2\n  acls:\n    - principal: User:sa-a\n      resource_type: topic\n      name: orders-\n      operation: read\n    - principal: sa-a\n      resource_type: tpic\n      name: x\n      operation: read\n  role_bindings:\n    - principal: User:sa-a\n      role: DeveloperRead\n    - principal: User:sa-a\n      role: Boss\n",
			want: []config.Problem{
				{Path: "authorization.super_users[0]", Line: 5, Message: `want User:<account or pool id>; got "sa-admin"`},
				{Path: "authorization.audit_allowed_sample_rate", Line: 6, Message: "must be between 0 and 1; got 2"},
				{Path: "authorization.acls[1].principal", Line: 12, Message: `want User:<account or pool id> or User:*; got "sa-a"`},
				{Path: "authorization.acls[1].resource_type", Line: 13, Message: `unknown resource type "tpic": want one of Cluster, Group, Topic, TransactionalId`},
				{Path: "authorization.role_bindings[0]", Line: 17, Message: "role DeveloperRead needs a resource (Topic, Group)"},
				{Path: "authorization.role_bindings[1]", Line: 19, Message: `unknown role "Boss": want one of DeveloperRead, DeveloperWrite, DeveloperManage, ResourceOwner, Operator, CloudClusterAdmin, EnvironmentAdmin, OrganizationAdmin, MetricsViewer`},
			},
		},

		{
			name: "accounts and keys are checked",
			yaml: "upstream:\n  bootstrap: [127.0.0.1:19092]\napi_keys:\n  accounts:\n    - id: payments\n  keys:\n    - id: short\n      secret_hash: md5$x\n      account: sa-nobody\n",
			want: []config.Problem{
				{Path: "api_keys.accounts[0].id", Line: 5, Message: `must be sa-… (service account) or u-… (user account), lower-case letters, digits and dashes; got "payments"`},
				{Path: "api_keys.keys[0].cluster", Line: 7, Message: "required when a key is declared (keys are scoped to one cluster id)"},
				{Path: "api_keys.keys[0].id", Line: 7, Message: `must be 16 upper-case letters and digits; got "short"`},
				{Path: "api_keys.keys[0].secret_hash", Line: 8, Message: hashProblem("md5$x")},
				{Path: "api_keys.keys[0].account", Line: 9, Message: `account "sa-nobody" is not declared in api_keys.accounts`},
			},
		},

		{
			name: "pool filters are compiled, errors carry their position",
			yaml: "upstream:\n  bootstrap: [127.0.0.1:19092]\noidc:\n  providers:\n    - name: corp\n      issuer: https://idp\n      audiences: [kafka]\n  identity_pools:\n    - id: pool-a\n      provider: corp\n      filter: 'claims.aud == \"kafka\" &&'\n    - id: payments\n      provider: other\n      filter: 'true'\n      identity_claim: '42'\n",
			want: []config.Problem{
				{Path: "oidc.identity_pools[0].filter", Line: 11, Message: "CEL error at line 1, column 25 of the expression: Syntax error: mismatched input '<EOF>' expecting {'[', '{', '(', '.', '-', '!', 'true', 'false', 'null', NUM_FLOAT, NUM_INT, NUM_UINT, STRING, BYTES, IDENTIFIER}"},
				{Path: "oidc.identity_pools[1].id", Line: 12, Message: `must start with "pool-"; got "payments"`},
				{Path: "oidc.identity_pools[1].provider", Line: 13, Message: `provider "other" is not declared in oidc.providers`},
				{Path: "oidc.identity_pools[1].identity_claim", Line: 15, Message: "CEL error: must yield string; this expression yields int"},
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "proxy.yaml")
			if err := os.WriteFile(path, []byte(tc.yaml), 0o600); err != nil {
				t.Fatal(err)
			}
			got := CheckFile(path)
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("problems:\n got  %+v\n want %+v", got, tc.want)
			}
		})
	}
}

func hashProblem(h string) string {
	_, err := apikey.ParseHash(h)
	return err.Error()
}
