package assemble

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/kafka-auth-proxy/kafka-auth-proxy/authn"
	"github.com/kafka-auth-proxy/kafka-auth-proxy/authz"
	"github.com/kafka-auth-proxy/kafka-auth-proxy/config"
	"github.com/kafka-auth-proxy/kafka-auth-proxy/store"
)

var testOrg = config.Organization{ID: "org-1", Environment: "env-a"}

func TestConfigBindingsBecomeCRNsOfTheirLevel(t *testing.T) {
	for _, tc := range []struct {
		b    config.RoleBinding
		want string
	}{
		{config.RoleBinding{Principal: "User:sa-a", Role: "OrganizationAdmin"}, "crn://kafka-auth-proxy/organization=org-1"},
		{config.RoleBinding{Principal: "User:sa-a", Role: "EnvironmentAdmin"}, "crn://kafka-auth-proxy/organization=org-1/environment=env-a"},
		{config.RoleBinding{Principal: "User:sa-a", Role: "CloudClusterAdmin"}, "crn://kafka-auth-proxy/organization=org-1/environment=env-a/cloud-cluster=lkc-1"},
		{config.RoleBinding{Principal: "User:sa-a", Role: "Operator", Cluster: "lkc-2"}, "crn://kafka-auth-proxy/organization=org-1/environment=env-a/cloud-cluster=lkc-2"},
		{config.RoleBinding{Principal: "User:sa-a", Role: "DeveloperRead", ResourceType: "topic", Name: "orders-", Pattern: "prefixed"},
			"crn://kafka-auth-proxy/organization=org-1/environment=env-a/cloud-cluster=lkc-1/kafka=lkc-1/topic=orders-*"},
		{config.RoleBinding{Principal: "User:sa-a", Role: "DeveloperWrite", ResourceType: "transactional_id", Name: "tx"},
			"crn://kafka-auth-proxy/organization=org-1/environment=env-a/cloud-cluster=lkc-1/kafka=lkc-1/transactional-id=tx"},
	} {
		got, err := BindingCRN(tc.b, testOrg, "lkc-1")
		if err != nil || got != tc.want {
			t.Errorf("BindingCRN(%+v) = %q, %v; want %q", tc.b, got, err, tc.want)
		}
	}
}

// Until the cluster id is known, the configuration's bindings that need it
// wait; the others are in the store at once.
func TestConfigBindingsWaitForTheClusterID(t *testing.T) {
	cfg := config.Default()
	cfg.Organization = testOrg
	cfg.Authorization.RoleBindings = []config.RoleBinding{
		{Principal: "User:sa-a", Role: "OrganizationAdmin"},
		{Principal: "User:sa-a", Role: "CloudClusterAdmin"},
	}
	objs, err := Static(cfg, "")
	if err != nil {
		t.Fatal(err)
	}
	if n := countKind(objs, store.KindRoleBinding); n != 1 {
		t.Errorf("without a cluster id: %d bindings, want the OrganizationAdmin one only", n)
	}
	objs, err = Static(cfg, "lkc-1")
	if err != nil {
		t.Fatal(err)
	}
	if n := countKind(objs, store.KindRoleBinding); n != 2 {
		t.Errorf("with a cluster id: %d bindings, want 2", n)
	}
}

func countKind(objs []store.Object, k store.Kind) int {
	n := 0
	for _, o := range objs {
		if o.Kind() == k {
			n++
		}
	}
	return n
}

// Bindings of the organization and the proxy's environment apply to its
// cluster; bindings of another environment or organization do not, and a
// binding of another cluster keeps its cluster, which the authorizer does
// not apply here.
func TestStoreBindingsApplyWhereTheirScopeReaches(t *testing.T) {
	st := store.NewMemory()
	ctx := context.Background()
	var cmds []store.Command
	cmds = append(cmds, store.Create(&store.ServiceAccount{Metadata: store.Meta{ID: "sa-a"}, DisplayName: "a"}))
	crns := map[string]string{
		"rb-org":       "crn://kafka-auth-proxy/organization=org-1",
		"rb-env":       "crn://kafka-auth-proxy/organization=org-1/environment=env-a",
		"rb-other-env": "crn://kafka-auth-proxy/organization=org-1/environment=env-b",
		"rb-other-org": "crn://kafka-auth-proxy/organization=org-2",
		"rb-cluster":   "crn://kafka-auth-proxy/organization=org-1/environment=env-a/cloud-cluster=lkc-1",
		"rb-topic":     "crn://kafka-auth-proxy/organization=org-1/environment=env-a/cloud-cluster=lkc-1/kafka=lkc-1/topic=orders-*",
		// Written to the state by hand: an environment role on the
		// whole organization grants nothing.
		"rb-wrong-level": "crn://kafka-auth-proxy/organization=org-1",
	}
	roles := map[string]string{"rb-org": "OrganizationAdmin", "rb-env": "EnvironmentAdmin", "rb-other-env": "EnvironmentAdmin",
		"rb-other-org": "OrganizationAdmin", "rb-cluster": "Operator", "rb-topic": "DeveloperRead", "rb-wrong-level": "EnvironmentAdmin"}
	for id, crn := range crns {
		cmds = append(cmds, store.Create(&store.RoleBinding{Metadata: store.Meta{ID: id}, Principal: "User:sa-a", RoleName: roles[id], CRNPattern: crn}))
	}
	snap, err := st.Apply(ctx, cmds...)
	if err != nil {
		t.Fatal(err)
	}
	got, bad := Bindings(snap, testOrg)
	if len(bad) != 1 || !strings.Contains(bad[0].Error(), "rb-wrong-level") {
		t.Fatalf("skipped bindings %v, want rb-wrong-level only", bad)
	}
	want := []authz.RoleBinding{
		{Principal: "User:sa-a", Role: "Operator", Cluster: "lkc-1"},
		{Principal: "User:sa-a", Role: "EnvironmentAdmin"},
		{Principal: "User:sa-a", Role: "OrganizationAdmin"},
		{Principal: "User:sa-a", Role: "DeveloperRead", Cluster: "lkc-1", ResourceType: authz.ResourceTopic, Name: "orders-", Pattern: authz.PatternPrefixed},
	}
	if !slices.Equal(got, want) {
		t.Errorf("Bindings:\n got %v\nwant %v", got, want)
	}
}

// Cloud keys reach the authenticator as such, so that it refuses them for
// Kafka; providers of the API get the defaults and the URL policy, those
// of the file keep their settings.
func TestCredentialsOfTheStore(t *testing.T) {
	cfg := config.Default()
	cfg.OIDC.Providers = []config.OIDCProvider{{Name: "corp", Issuer: "https://corp.example.com", ClockSkew: config.Duration(5 * time.Second)}}
	cfg.OIDC.IdentityPools = []config.IdentityPool{{ID: "pool-corp", Provider: "corp", Filter: "true"}}
	st := store.NewMemory()
	objs, err := Static(cfg, "lkc-1")
	if err != nil {
		t.Fatal(err)
	}
	st.SetStatic(objs)
	snap, err := st.Apply(context.Background(),
		store.Create(&store.ServiceAccount{Metadata: store.Meta{ID: "sa-a"}, DisplayName: "a"}),
		store.Create(&store.APIKey{Metadata: store.Meta{ID: "AAAAAAAAAAAAAAAA"}, SecretHash: "h", Owner: "sa-a", Resource: store.ResourceCloud}),
		store.Create(&store.IdentityProvider{Metadata: store.Meta{ID: "op-x"}, DisplayName: "x", Issuer: "https://x.example.com"}),
		store.Create(&store.IdentityPool{Metadata: store.Meta{ID: "pool-x"}, Provider: "op-x", DisplayName: "x", Filter: "true", IdentityClaim: "claims.sub"}),
	)
	if err != nil {
		t.Fatal(err)
	}
	cp, err := NewControlPlane(st, cfg, func() string { return "lkc-1" }, zap.NewNop())
	if err != nil {
		t.Fatal(err)
	}
	c := Credentials(snap, cfg, cp.URLs())
	if !slices.Contains(c.Keys, authn.Key{ID: "AAAAAAAAAAAAAAAA", SecretHash: "h", Account: "sa-a", Cluster: authn.CloudKey}) {
		t.Errorf("keys %v: want the cloud key with cluster %q", c.Keys, authn.CloudKey)
	}
	byName := map[string]authn.Provider{}
	for _, p := range c.Providers {
		byName[p.Name] = p
	}
	if p := byName["corp"]; p.ClockSkew != 5*time.Second || p.URLs != nil {
		t.Errorf("the configured provider: %+v; want its own clock skew and no URL policy", p)
	}
	if p := byName["op-x"]; p.URLs == nil || p.ClockSkew != config.DefaultClockSkew.D() || len(p.Algorithms) == 0 {
		t.Errorf("the API's provider: %+v; want the defaults and the URL policy", p)
	}
	if len(c.Pools) != 2 {
		t.Errorf("pools %v: want the file's and the API's", c.Pools)
	}
}

// The control plane applies each write to the authorizer before the
// write returns.
func TestAWriteAppliesBeforeItReturns(t *testing.T) {
	cfg := config.Default()
	cfg.Organization = testOrg
	st := store.NewMemory()
	cp, err := NewControlPlane(st, cfg, func() string { return "lkc-1" }, zap.NewNop())
	if err != nil {
		t.Fatal(err)
	}
	az, err := authz.NewAuthorizer(cp.Policy())
	if err != nil {
		t.Fatal(err)
	}
	cp.Follow(nil, az)
	defer cp.Stop()
	allowed := func() bool {
		return az.Subject(nil, "User:sa-a", "127.0.0.1").Authorize(authz.ResourceTopic, "orders-1", authz.OpWrite).Allowed
	}
	if allowed() {
		t.Fatal("allowed before any binding")
	}
	if _, err := st.Apply(context.Background(),
		store.Create(&store.ServiceAccount{Metadata: store.Meta{ID: "sa-a"}, DisplayName: "a"}),
		store.Create(&store.RoleBinding{Metadata: store.Meta{ID: "rb-1"}, Principal: "User:sa-a", RoleName: "DeveloperWrite",
			CRNPattern: "crn://kafka-auth-proxy/organization=org-1/environment=env-a/cloud-cluster=lkc-1/kafka=lkc-1/topic=orders-*"})); err != nil {
		t.Fatal(err)
	}
	if !allowed() {
		t.Error("the binding did not apply by the time Apply returned")
	}
}
