package deploy

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/kafka-auth-proxy/kafka-auth-proxy/authn/apikey"
	"github.com/kafka-auth-proxy/kafka-auth-proxy/authn/pool"
	"github.com/kafka-auth-proxy/kafka-auth-proxy/cmd/kafka-auth-proxy/assemble"
	"github.com/kafka-auth-proxy/kafka-auth-proxy/config"
)

// The stack's configuration loads with the proxy's own loader (strict keys,
// validation, normalization) and is the one the constants describe.
func TestProxyConfigMatchesTheStack(t *testing.T) {
	cfg := loadProxyConfig(t)
	if problems := cfg.Validate(); len(problems) > 0 {
		t.Fatalf("validation after loading: %v", problems)
	}
	for _, tc := range []struct{ what, got, want string }{
		{"auth", cfg.Auth, config.AuthSASL},
		{"authentication.cluster_id", cfg.Authentication.ClusterID, ClusterID},
		{"audit.output", cfg.Audit.Output, "stdout"},
		{"listener.sasl_mechanisms", strings.Join(cfg.Listener.SASLMechanisms, ","), "PLAIN,OAUTHBEARER"},
	} {
		if tc.got != tc.want {
			t.Errorf("%s = %q, want %q", tc.what, tc.got, tc.want)
		}
	}
	if len(cfg.ExtraListeners) != 0 {
		t.Errorf("extra listeners %v: their ports would need publishing too", cfg.ExtraListeners)
	}
}

// The demo API key is declared in the file, belongs to the service
// account, is scoped to the stack's cluster, and APISecret is its secret.
func TestProxyConfigDeclaresTheDemoAPIKey(t *testing.T) {
	cfg := loadProxyConfig(t)
	if len(cfg.APIKeys.Accounts) != 1 || cfg.APIKeys.Accounts[0].ID != ServiceAccount {
		t.Errorf("accounts %+v, want only %s", cfg.APIKeys.Accounts, ServiceAccount)
	}
	if len(cfg.APIKeys.Keys) != 1 {
		t.Fatalf("keys %+v, want only the demo key", cfg.APIKeys.Keys)
	}
	key := cfg.APIKeys.Keys[0]
	if key.ID != APIKey || key.Account != ServiceAccount || key.Cluster != ClusterID {
		t.Errorf("key %s of %s on %s, want %s of %s on %s", key.ID, key.Account, key.Cluster, APIKey, ServiceAccount, ClusterID)
	}
	h, err := apikey.ParseHash(key.SecretHash)
	if err != nil {
		t.Fatalf("secret_hash: %v", err)
	}
	if !h.Verify(APISecret) {
		t.Error("APISecret does not verify against the key's secret_hash")
	}
	if h.Verify(APISecret + "x") {
		t.Error("the hash verifies a wrong secret")
	}
	if len(APISecret) != apikey.SecretLength {
		t.Errorf("APISecret has %d characters; generated secrets have %d", len(APISecret), apikey.SecretLength)
	}
}

// The identity provider is the realm, seen as clients on the host see it
// (issuer) and as the proxy reaches it (jwks_uri, checked with the Compose
// file), and the pool admits the realm's demo group.
func TestProxyConfigTrustsTheRealm(t *testing.T) {
	cfg := loadProxyConfig(t)
	if len(cfg.OIDC.Providers) != 1 || len(cfg.OIDC.IdentityPools) != 1 {
		t.Fatalf("want one provider and one pool, got %d and %d", len(cfg.OIDC.Providers), len(cfg.OIDC.IdentityPools))
	}
	p, pl := cfg.OIDC.Providers[0], cfg.OIDC.IdentityPools[0]
	if p.Issuer != Issuer {
		t.Errorf("issuer %s, want %s", p.Issuer, Issuer)
	}
	if Issuer != KeycloakURL+"/realms/"+Realm || TokenEndpoint != Issuer+"/protocol/openid-connect/token" {
		t.Errorf("Issuer %s and TokenEndpoint %s are not the realm %s's at %s", Issuer, TokenEndpoint, Realm, KeycloakURL)
	}
	if !slices.Equal(p.Audiences, []string{Audience}) {
		t.Errorf("audiences %v, want [%s]", p.Audiences, Audience)
	}
	if pl.ID != IdentityPool || pl.Provider != p.Name {
		t.Errorf("pool %s of provider %s, want %s of %s", pl.ID, pl.Provider, IdentityPool, p.Name)
	}
}

// The pool's filter admits the tokens the realm issues to ClientID (claims
// as Keycloak 26 writes them for a client-credentials grant) and nothing
// without the group.
func TestIdentityPoolFilterAdmitsTheRealmsTokens(t *testing.T) {
	cfg := loadProxyConfig(t)
	pc := cfg.OIDC.IdentityPools[0]
	p, err := pool.Compile(pool.Config{ID: pc.ID, Provider: pc.Provider, Filter: pc.Filter, IdentityClaim: pc.IdentityClaim})
	if err != nil {
		t.Fatal(err)
	}
	if p.Principal() != "User:"+IdentityPool {
		t.Errorf("principal %s, want User:%s", p.Principal(), IdentityPool)
	}
	token := func(edit func(map[string]any)) map[string]any {
		claims := map[string]any{
			"iss": Issuer, "aud": Audience, "azp": ClientID, "typ": "Bearer",
			"sub":                "bb5ac26b-438d-4dc4-a2b8-ed6e4799a72d",
			"preferred_username": "service-account-" + ClientID,
			"groups":             []any{Group},
			"scope":              "email profile",
		}
		if edit != nil {
			edit(claims)
		}
		return claims
	}
	for _, tc := range []struct {
		name     string
		claims   map[string]any
		identity string // "" when the pool must not match
	}{
		{"the demo client's token", token(nil), ClientID},
		{"several audiences and groups", token(func(c map[string]any) {
			c["aud"] = []any{Audience, "account"}
			c["groups"] = []any{"other", Group}
		}), ClientID},
		{"another group", token(func(c map[string]any) { c["groups"] = []any{"other"} }), ""},
		{"no groups claim", token(func(c map[string]any) { delete(c, "groups") }), ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			identity, ok, err := p.Match(tc.claims)
			if tc.identity == "" {
				if ok {
					t.Fatalf("matched, as %q", identity)
				}
				return
			}
			if err != nil || !ok || identity != tc.identity {
				t.Fatalf("Match = %q, %v, %v; want %q", identity, ok, err, tc.identity)
			}
		})
	}
}

// Both principals own exactly the demo- prefix of topics, groups and
// transactional ids, and nothing else.
func TestRoleBindingsGrantTheDemoPrefix(t *testing.T) {
	cfg := loadProxyConfig(t)
	type grant struct{ principal, role, resourceType, name, pattern string }
	var got []grant
	for _, b := range cfg.Authorization.RoleBindings {
		got = append(got, grant{b.Principal, b.Role, b.ResourceType, b.Name, b.Pattern})
		if b.Cluster != "" && b.Cluster != ClusterID {
			t.Errorf("binding %+v is for another cluster", b)
		}
	}
	var want []grant
	for _, principal := range []string{"User:" + ServiceAccount, "User:" + IdentityPool} {
		for _, rt := range []string{"topic", "group", "transactional_id"} {
			want = append(want, grant{principal, "ResourceOwner", rt, ResourcePrefix, "prefixed"})
		}
	}
	if !slices.Equal(got, want) {
		t.Errorf("role bindings\n got %v\nwant %v", got, want)
	}
	if len(cfg.Authorization.ACLs) != 0 || len(cfg.Authorization.SuperUsers) != 0 || cfg.Authorization.AllowIfNoACL {
		t.Error("the stack grants more than the role bindings")
	}
	if _, err := assemble.Policy(cfg, ClusterID); err != nil {
		t.Errorf("the policy does not compile: %v", err)
	}
}

// realm is the part of a Keycloak realm representation the stack uses.
type realm struct {
	Realm   string        `json:"realm"`
	Enabled bool          `json:"enabled"`
	Groups  []realmGroup  `json:"groups"`
	Clients []realmClient `json:"clients"`
	Users   []realmUser   `json:"users"`
}

type realmGroup struct {
	Name string `json:"name"`
	Path string `json:"path"`
}

type realmClient struct {
	ClientID                  string        `json:"clientId"`
	Enabled                   bool          `json:"enabled"`
	PublicClient              bool          `json:"publicClient"`
	ClientAuthenticatorType   string        `json:"clientAuthenticatorType"`
	Secret                    string        `json:"secret"`
	ServiceAccountsEnabled    bool          `json:"serviceAccountsEnabled"`
	StandardFlowEnabled       bool          `json:"standardFlowEnabled"`
	DirectAccessGrantsEnabled bool          `json:"directAccessGrantsEnabled"`
	ProtocolMappers           []realmMapper `json:"protocolMappers"`
}

type realmMapper struct {
	Name           string            `json:"name"`
	ProtocolMapper string            `json:"protocolMapper"`
	Config         map[string]string `json:"config"`
}

type realmUser struct {
	Username               string   `json:"username"`
	Enabled                bool     `json:"enabled"`
	ServiceAccountClientID string   `json:"serviceAccountClientId"`
	Groups                 []string `json:"groups"`
}

// The realm has the demo client with its secret and a service account for
// the client-credentials grant, in the group that the pool admits, and
// its access tokens carry the audience and the groups claim.
func TestRealmIssuesTokensThePoolAdmits(t *testing.T) {
	var r realm
	if err := json.Unmarshal(readRepoFile(t, realmFile), &r); err != nil {
		t.Fatal(err)
	}
	if r.Realm != Realm || !r.Enabled {
		t.Errorf("realm %q (enabled %v), want %q", r.Realm, r.Enabled, Realm)
	}
	i := slices.IndexFunc(r.Clients, func(c realmClient) bool { return c.ClientID == ClientID })
	if i < 0 {
		t.Fatalf("the realm has no client %s", ClientID)
	}
	c := r.Clients[i]
	if !c.Enabled || c.PublicClient || c.ClientAuthenticatorType != "client-secret" || c.Secret != ClientSecret {
		t.Errorf("client %s: want an enabled confidential client with secret ClientSecret", ClientID)
	}
	if !c.ServiceAccountsEnabled || c.StandardFlowEnabled || c.DirectAccessGrantsEnabled {
		t.Errorf("client %s: want the client-credentials grant only", ClientID)
	}

	cfg := loadProxyConfig(t)
	mappers := map[string]map[string]string{}
	for _, m := range c.ProtocolMappers {
		mappers[m.ProtocolMapper] = m.Config
	}
	aud := mappers["oidc-audience-mapper"]
	if aud == nil || aud["access.token.claim"] != "true" || !slices.Contains(cfg.OIDC.Providers[0].Audiences, aud["included.custom.audience"]) {
		t.Errorf("no audience mapper puts one of the proxy's audiences %v in access tokens: %v", cfg.OIDC.Providers[0].Audiences, aud)
	}
	groups := mappers["oidc-group-membership-mapper"]
	if groups == nil || groups["claim.name"] != "groups" || groups["access.token.claim"] != "true" || groups["full.path"] != "false" {
		t.Errorf("no group membership mapper writes the groups claim (names, not paths) in access tokens: %v", groups)
	}
	if !strings.Contains(cfg.OIDC.IdentityPools[0].Filter, `"`+Group+`" in claims.groups`) {
		t.Errorf("the pool's filter %q does not test the group %s", cfg.OIDC.IdentityPools[0].Filter, Group)
	}

	if !slices.ContainsFunc(r.Groups, func(g realmGroup) bool { return g.Name == Group }) {
		t.Errorf("the realm has no group %s", Group)
	}
	var member bool
	for _, u := range r.Users {
		member = member || (u.ServiceAccountClientID == ClientID && u.Enabled && slices.Contains(u.Groups, "/"+Group))
	}
	if !member {
		t.Errorf("the service account of %s is not in the group /%s", ClientID, Group)
	}
}
