package authz

import (
	"slices"
	"strings"
	"testing"
)

// grantsOf renders a binding's expansion as "Type:Pattern:Name:Operation"
// lines, checking the parts every grant shares on the way.
func grantsOf(t *testing.T, b RoleBinding) []string {
	t.Helper()
	acls, err := b.Expand()
	if err != nil {
		t.Fatalf("Expand(%s): %v", b, err)
	}
	var out []string
	for _, a := range acls {
		if a.Principal != b.Principal || a.Host != Wildcard || a.Permission != PermissionAllow {
			t.Errorf("grant %s: want principal %s, host *, ALLOW", a, b.Principal)
		}
		if err := a.Validate(); err != nil {
			t.Errorf("grant %s is not a valid ACL: %v", a, err)
		}
		out = append(out, a.ResourceType.String()+":"+a.Pattern.String()+":"+a.Name+":"+a.Operation.String())
	}
	return out
}

func TestRoleExpansion(t *testing.T) {
	const p = "User:sa-1"
	bound := func(role string, rt ResourceType, pattern PatternType, name string) RoleBinding {
		return RoleBinding{Principal: p, Role: role, ResourceType: rt, Pattern: pattern, Name: name}
	}
	clusterWide := func(role string) RoleBinding { return RoleBinding{Principal: p, Role: role, Cluster: "lkc-1"} }
	adminGrants := []string{
		"Cluster:Literal:kafka-cluster:All",
		"Topic:Literal:*:All",
		"Group:Literal:*:All",
		"TransactionalId:Literal:*:All",
	}
	tests := []struct {
		name    string
		binding RoleBinding
		want    []string
	}{
		{"DeveloperRead on a topic reads and describes it",
			bound(RoleDeveloperRead, ResourceTopic, PatternLiteral, "orders"),
			[]string{"Topic:Literal:orders:Read", "Topic:Literal:orders:Describe"}},
		{"DeveloperRead on a group prefix reads and describes those groups",
			bound(RoleDeveloperRead, ResourceGroup, PatternPrefixed, "billing-"),
			[]string{"Group:Prefixed:billing-:Read", "Group:Prefixed:billing-:Describe"}},
		{"DeveloperWrite on a topic writes and describes it",
			bound(RoleDeveloperWrite, ResourceTopic, PatternPrefixed, "orders-"),
			[]string{"Topic:Prefixed:orders-:Write", "Topic:Prefixed:orders-:Describe"}},
		{"DeveloperWrite on a transactional id writes and describes it",
			bound(RoleDeveloperWrite, ResourceTransactionalID, PatternLiteral, "tx-1"),
			[]string{"TransactionalId:Literal:tx-1:Write", "TransactionalId:Literal:tx-1:Describe"}},
		{"DeveloperManage on a topic manages it but reads and writes nothing",
			bound(RoleDeveloperManage, ResourceTopic, PatternLiteral, "orders"),
			[]string{"Topic:Literal:orders:Create", "Topic:Literal:orders:Delete", "Topic:Literal:orders:Describe",
				"Topic:Literal:orders:DescribeConfigs", "Topic:Literal:orders:AlterConfigs", "Topic:Literal:orders:Alter"}},
		{"DeveloperManage on a group describes and deletes it",
			bound(RoleDeveloperManage, ResourceGroup, PatternLiteral, "g"),
			[]string{"Group:Literal:g:Describe", "Group:Literal:g:Delete"}},
		{"DeveloperManage on a transactional id describes it",
			bound(RoleDeveloperManage, ResourceTransactionalID, PatternPrefixed, "tx-"),
			[]string{"TransactionalId:Prefixed:tx-:Describe"}},
		{"ResourceOwner owns a topic",
			bound(RoleResourceOwner, ResourceTopic, PatternPrefixed, "team-a."),
			[]string{"Topic:Prefixed:team-a.:All"}},
		{"ResourceOwner owns a group",
			bound(RoleResourceOwner, ResourceGroup, PatternLiteral, "g"),
			[]string{"Group:Literal:g:All"}},
		{"ResourceOwner owns a transactional id",
			bound(RoleResourceOwner, ResourceTransactionalID, PatternLiteral, "tx"),
			[]string{"TransactionalId:Literal:tx:All"}},
		{"Operator describes everything",
			clusterWide(RoleOperator),
			[]string{"Cluster:Literal:kafka-cluster:Describe", "Cluster:Literal:kafka-cluster:DescribeConfigs",
				"Topic:Literal:*:Describe", "Topic:Literal:*:DescribeConfigs",
				"Group:Literal:*:Describe", "TransactionalId:Literal:*:Describe"}},
		{"MetricsViewer describes the cluster only",
			clusterWide(RoleMetricsViewer),
			[]string{"Cluster:Literal:kafka-cluster:Describe", "Cluster:Literal:kafka-cluster:DescribeConfigs"}},
		{"CloudClusterAdmin may do anything", clusterWide(RoleCloudClusterAdmin), adminGrants},
		{"EnvironmentAdmin may do anything", clusterWide(RoleEnvironmentAdmin), adminGrants},
		{"OrganizationAdmin may do anything", clusterWide(RoleOrganizationAdmin), adminGrants},
	}
	covered := map[string]bool{}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := grantsOf(t, tt.binding); !slices.Equal(got, tt.want) {
				t.Errorf("grants:\n got %q\nwant %q", got, tt.want)
			}
		})
		covered[tt.binding.Role] = true
	}
	for _, r := range Roles() {
		if !covered[r] {
			t.Errorf("role %s has no expansion test", r)
		}
	}
}

func TestRoleBindingValidate(t *testing.T) {
	tests := []struct {
		name    string
		binding RoleBinding
		wantErr string // "" when valid
	}{
		{"resource-scoped role with a literal topic",
			RoleBinding{Principal: "User:sa-1", Role: RoleDeveloperRead, ResourceType: ResourceTopic, Pattern: PatternLiteral, Name: "t"}, ""},
		{"cluster-wide role scoped to a cluster id",
			RoleBinding{Principal: "User:sa-1", Role: RoleOperator, Cluster: "lkc-1"}, ""},
		{"the wildcard principal, as in ACLs",
			RoleBinding{Principal: "User:*", Role: RoleMetricsViewer}, ""},
		{"unknown role",
			RoleBinding{Principal: "User:sa-1", Role: "DeveloperRed"}, `unknown role "DeveloperRed"`},
		{"role names are case-sensitive",
			RoleBinding{Principal: "User:sa-1", Role: "operator"}, `unknown role "operator"`},
		{"empty principal",
			RoleBinding{Role: RoleOperator}, `principal ""`},
		{"principal without a type",
			RoleBinding{Principal: "sa-1", Role: RoleOperator}, `principal "sa-1"`},
		{"resource-scoped role without a resource",
			RoleBinding{Principal: "User:sa-1", Role: RoleDeveloperWrite}, "role DeveloperWrite needs a resource (Topic, TransactionalId)"},
		{"cluster-wide role with a resource",
			RoleBinding{Principal: "User:sa-1", Role: RoleCloudClusterAdmin, ResourceType: ResourceTopic, Pattern: PatternLiteral, Name: "t"},
			"applies to the whole cluster and takes no resource"},
		{"cluster-wide role with the cluster as resource",
			RoleBinding{Principal: "User:sa-1", Role: RoleOperator, ResourceType: ResourceCluster, Pattern: PatternLiteral, Name: ClusterName},
			"takes no resource"},
		{"resource type the role does not cover",
			RoleBinding{Principal: "User:sa-1", Role: RoleDeveloperRead, ResourceType: ResourceTransactionalID, Pattern: PatternLiteral, Name: "tx"},
			"role DeveloperRead does not apply to resource type TransactionalId; it covers Topic, Group"},
		{"the cluster as a resource of a resource-scoped role",
			RoleBinding{Principal: "User:sa-1", Role: RoleResourceOwner, ResourceType: ResourceCluster, Pattern: PatternLiteral, Name: ClusterName},
			"does not apply to resource type Cluster"},
		{"empty resource name",
			RoleBinding{Principal: "User:sa-1", Role: RoleDeveloperRead, ResourceType: ResourceTopic, Pattern: PatternLiteral},
			"resource name is empty"},
		{"missing pattern",
			RoleBinding{Principal: "User:sa-1", Role: RoleDeveloperRead, ResourceType: ResourceTopic, Name: "t"},
			"pattern type Unknown(0)"},
		{"filter-only pattern",
			RoleBinding{Principal: "User:sa-1", Role: RoleDeveloperRead, ResourceType: ResourceTopic, Pattern: PatternMatch, Name: "t"},
			"pattern type Match: want LITERAL or PREFIXED"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.binding.Validate()
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("Validate(%s) = %v, want nil", tt.binding, err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Fatalf("Validate(%s) = %v, want an error containing %q", tt.binding, err, tt.wantErr)
			}
			if _, expandErr := tt.binding.Expand(); (expandErr == nil) != (err == nil) {
				t.Errorf("Expand error %v disagrees with Validate error %v", expandErr, err)
			}
		})
	}
}

func TestRoleCatalogue(t *testing.T) {
	want := []string{RoleDeveloperRead, RoleDeveloperWrite, RoleDeveloperManage, RoleResourceOwner,
		RoleOperator, RoleCloudClusterAdmin, RoleEnvironmentAdmin, RoleOrganizationAdmin, RoleMetricsViewer}
	if got := Roles(); !slices.Equal(got, want) {
		t.Fatalf("Roles() = %q, want %q", got, want)
	}
	clusterWide := map[string]bool{RoleOperator: true, RoleCloudClusterAdmin: true, RoleEnvironmentAdmin: true,
		RoleOrganizationAdmin: true, RoleMetricsViewer: true}
	for _, r := range want {
		if got := RoleIsClusterWide(r); got != clusterWide[r] {
			t.Errorf("RoleIsClusterWide(%s) = %v, want %v", r, got, clusterWide[r])
		}
		grants, err := RoleGrants(r)
		if err != nil || len(grants) == 0 {
			t.Errorf("RoleGrants(%s) = %v, %v; want grants", r, grants, err)
		}
	}
	if _, err := RoleGrants("Nobody"); err == nil || !strings.Contains(err.Error(), "want one of DeveloperRead,") {
		t.Errorf("RoleGrants of an unknown role: err = %v, want one listing the roles", err)
	}
	if RoleIsClusterWide("Nobody") {
		t.Error("an unknown role is not cluster-wide")
	}

	// RoleGrants hands out copies: editing one must not change the role.
	g, _ := RoleGrants(RoleDeveloperRead)
	g[0].Operations[0] = OpAll
	if g2, _ := RoleGrants(RoleDeveloperRead); g2[0].Operations[0] != OpRead {
		t.Fatal("RoleGrants exposed the role table to changes")
	}
}
