package assemble

import (
	"cmp"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/kafka-auth-proxy/kafka-auth-proxy/authn"
	"github.com/kafka-auth-proxy/kafka-auth-proxy/authn/oauth"
	"github.com/kafka-auth-proxy/kafka-auth-proxy/authn/pool"
	"github.com/kafka-auth-proxy/kafka-auth-proxy/authz"
	"github.com/kafka-auth-proxy/kafka-auth-proxy/authz/aclstore"
	"github.com/kafka-auth-proxy/kafka-auth-proxy/config"
	"github.com/kafka-auth-proxy/kafka-auth-proxy/store"
)

// The state store holds every account, key, provider, pool, binding and
// ACL: those of the configuration file (read-only, source config) and
// those created through the admin API or the Kafka ACL APIs. The
// functions here convert between the configuration file and the store,
// and from a store snapshot to the inputs of the authenticator and the
// authorizer.

// Static is the configuration file's objects, for store.Store.SetStatic.
// cluster is the proxy's cluster id, which role bindings and ACLs that
// name no cluster are scoped to.
func Static(cfg *config.Config, cluster string) ([]store.Object, error) {
	var out []store.Object
	for _, a := range cfg.APIKeys.Accounts {
		if strings.HasPrefix(a.ID, store.UserAccountPrefix+"-") {
			out = append(out, &store.User{Metadata: store.Meta{ID: a.ID}, Email: a.ID, FullName: a.Description})
			continue
		}
		out = append(out, &store.ServiceAccount{Metadata: store.Meta{ID: a.ID}, DisplayName: a.ID, Description: a.Description})
	}
	for _, k := range cfg.APIKeys.Keys {
		out = append(out, &store.APIKey{Metadata: store.Meta{ID: k.ID}, SecretHash: k.SecretHash, Owner: k.Account,
			Resource: k.Cluster, Description: k.Description})
	}
	for _, p := range cfg.OIDC.Providers {
		out = append(out, &store.IdentityProvider{Metadata: store.Meta{ID: p.Name}, DisplayName: p.Name,
			Issuer: p.Issuer, JWKSURI: p.JWKSURI, Audiences: p.Audiences})
	}
	for _, p := range cfg.OIDC.IdentityPools {
		out = append(out, &store.IdentityPool{Metadata: store.Meta{ID: p.ID}, Provider: p.Provider, DisplayName: p.ID,
			Description: p.Description, IdentityClaim: cmp.Or(p.IdentityClaim, pool.DefaultIdentityClaim), Filter: p.Filter})
	}
	for i, a := range cfg.Authorization.ACLs {
		x, err := ACL(a)
		if err != nil {
			return nil, fmt.Errorf("authorization.acls[%d]: %w", i, err)
		}
		// The file's ACLs apply to the proxy's cluster, whichever it is.
		out = append(out, aclstore.ToStore(x, ""))
	}
	for i, b := range cfg.Authorization.RoleBindings {
		crn, err := BindingCRN(b, cfg.Organization, cluster)
		if errors.Is(err, errClusterUnknown) {
			continue // added once the cluster id is known
		}
		if err != nil {
			return nil, fmt.Errorf("authorization.role_bindings[%d]: %w", i, err)
		}
		out = append(out, &store.RoleBinding{Metadata: store.Meta{ID: "rb-config-" + strconv.Itoa(i+1)},
			Principal: b.Principal, RoleName: b.Role, CRNPattern: crn})
	}
	return out, nil
}

// BindingCRN is the CRN pattern of a role binding of the configuration
// file: OrganizationAdmin binds the organization, EnvironmentAdmin the
// environment, the other cluster-wide roles the binding's cluster (the
// proxy's by default), and resource roles the binding's resource on it.
func BindingCRN(b config.RoleBinding, org config.Organization, cluster string) (string, error) {
	x, err := RoleBinding(b)
	if err != nil {
		return "", err
	}
	sc := store.Scope{Organization: org.ID}
	switch x.Role {
	case authz.RoleOrganizationAdmin:
		return sc.String(), nil
	case authz.RoleEnvironmentAdmin:
		sc.Environment = org.Environment
		return sc.String(), nil
	}
	c := cmp.Or(x.Cluster, cluster)
	if c == "" {
		return "", errClusterUnknown
	}
	sc.Environment, sc.CloudCluster = org.Environment, c
	if x.ResourceType == 0 {
		return sc.String(), nil
	}
	sc.Kafka = c
	for name, rt := range crnResourceTypes {
		if rt == x.ResourceType {
			sc.ResourceType = name
		}
	}
	sc.ResourceName = x.Name
	sc.Prefix = x.Pattern == authz.PatternPrefixed
	return sc.String(), nil
}

// errClusterUnknown: a binding names no cluster, and the proxy's is not
// known yet.
var errClusterUnknown = errors.New("the binding's cluster is not known yet (set authentication.cluster_id, or the binding's cluster)")

var crnResourceTypes = map[string]authz.ResourceType{
	store.CRNTopic:           authz.ResourceTopic,
	store.CRNGroup:           authz.ResourceGroup,
	store.CRNTransactionalID: authz.ResourceTransactionalID,
}

// Bindings converts the role bindings of snap to the authorizer's form for
// the proxy's cluster. Bindings of the organization, or of the proxy's
// environment, apply to every cluster of it; a binding of another
// organization or environment applies nowhere here and is left out, as
// are bindings that do not parse (returned as errors).
func Bindings(snap *store.Snapshot, org config.Organization) (out []authz.RoleBinding, bad []error) {
	for _, b := range snap.RoleBindings() {
		sc, err := store.ParseCRN(b.CRNPattern)
		if err != nil {
			bad = append(bad, fmt.Errorf("role binding %s: %w", b.Metadata.ID, err))
			continue
		}
		if sc.Organization != org.ID || (sc.Environment != "" && sc.Environment != org.Environment) {
			continue
		}
		if want := authz.RoleLevel(b.RoleName); sc.Level() != want {
			// The API refuses such bindings; one written to the state
			// by hand grants nothing rather than more than its level.
			bad = append(bad, fmt.Errorf("role binding %s: %s is bound to a %s, and %s names a %s", b.Metadata.ID, b.RoleName, want, b.CRNPattern, sc.Level()))
			continue
		}
		x := authz.RoleBinding{Principal: b.Principal, Role: b.RoleName, Cluster: sc.CloudCluster}
		if sc.ResourceType != "" {
			x.ResourceType = crnResourceTypes[sc.ResourceType]
			x.Name, x.Pattern = sc.ResourceName, authz.PatternLiteral
			if sc.Prefix {
				x.Pattern = authz.PatternPrefixed
			}
		}
		if err := x.Validate(); err != nil {
			bad = append(bad, fmt.Errorf("role binding %s: %w", b.Metadata.ID, err))
			continue
		}
		out = append(out, x)
	}
	return out, bad
}

// PolicyOf is the authorization policy of snap for cluster: its ACLs on
// the cluster and its role bindings, with the configuration file's
// settings (super users, allow_if_no_acl).
func PolicyOf(snap *store.Snapshot, cfg *config.Config, cluster string) (authz.Policy, []error) {
	p := authz.Policy{SuperUsers: cfg.Authorization.SuperUsers, AllowIfNoACL: cfg.Authorization.AllowIfNoACL, Cluster: cluster,
		ReservedTopics: []string{store.StateTopic}}
	entries, bad := aclstore.Of(snap, cluster)
	for _, e := range entries {
		p.ACLs = append(p.ACLs, e.ACL)
	}
	bindings, badB := Bindings(snap, cfg.Organization)
	p.RoleBindings = bindings
	return p, append(bad, badB...)
}

// Credentials is the authenticator's input: the configuration file's
// settings and the credentials of snap. Providers of the configuration
// file keep their settings (clock skew, algorithms, CA file, refresh);
// providers of the API get the defaults and may only reach the URLs urls
// allows.
func Credentials(snap *store.Snapshot, cfg *config.Config, urls *oauth.URLPolicy) authn.Config {
	out := Authn(cfg)
	out.Accounts, out.Keys, out.Providers, out.Pools = nil, nil, nil, nil
	for _, a := range snap.ServiceAccounts() {
		out.Accounts = append(out.Accounts, a.Metadata.ID)
	}
	for _, u := range snap.Users() {
		out.Accounts = append(out.Accounts, u.Metadata.ID)
	}
	for _, k := range snap.APIKeys() {
		out.Keys = append(out.Keys, authn.Key{ID: k.Metadata.ID, SecretHash: k.SecretHash, Account: k.Owner, Cluster: k.Resource})
	}
	configured := map[string]authn.Provider{}
	for _, p := range Authn(cfg).Providers {
		configured[p.Name] = p
	}
	for _, p := range snap.Providers() {
		if c, ok := configured[p.Metadata.ID]; ok && p.Metadata.Source == store.SourceConfig {
			out.Providers = append(out.Providers, c)
			continue
		}
		n := config.OIDCProvider{Name: p.Metadata.ID}
		n.SetDefaults()
		out.Providers = append(out.Providers, authn.Provider{Name: p.Metadata.ID, Issuer: p.Issuer, JWKSURI: p.JWKSURI,
			Audiences: p.Audiences, ClockSkew: n.ClockSkew.D(), Algorithms: n.Algorithms, JWKSRefresh: n.JWKSRefresh.D(),
			JWKSMinRefreshInterval: n.JWKSMinRefreshInterval.D(), URLs: urls})
	}
	for _, p := range snap.Pools() {
		out.Pools = append(out.Pools, pool.Config{ID: p.Metadata.ID, Provider: p.Provider, IdentityClaim: p.IdentityClaim, Filter: p.Filter})
	}
	return out
}
