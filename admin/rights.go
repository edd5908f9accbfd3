package admin

import (
	"fmt"
	"strings"

	"github.com/kafka-auth-proxy/kafka-auth-proxy/authz"
	"github.com/kafka-auth-proxy/kafka-auth-proxy/store"
)

// Who may manage what. The rules are Confluent Cloud's:
//
//   - OrganizationAdmin manages everything, and is the only role that
//     creates or deletes service accounts, creates and deletes users, and
//     manages identity providers and pools.
//   - EnvironmentAdmin manages the role bindings, ACLs and cluster keys
//     of every cluster of its environment.
//   - CloudClusterAdmin manages the role bindings, ACLs and cluster keys
//     of its cluster.
//   - ResourceOwner grants and revokes the resource roles on the
//     resources it owns, or narrower ones.
//   - Anyone may describe their own account and manage their own keys.
//   - Nobody grants a role more general than one they hold: a binding may
//     be created or deleted only inside the scope of an administrator
//     binding of the caller (see mayGrant).
//   - Nobody removes their own OrganizationAdmin binding (and the store
//     keeps the last one).

// caller is an authenticated client of the API and its bindings, as of
// the snapshot the request is served from.
type caller struct {
	// principal is "User:sa-…", "User:u-…" or "User:pool-…".
	principal string
	// account is the sa-… or u-… id of a key's owner; "" for a pool.
	account string
	// local: the operator of this machine (LocalHandler), with every
	// right.
	local bool
	// name is how the audit log names the caller.
	name     string
	bindings []grant
}

// grant is one of the caller's role bindings, parsed.
type grant struct {
	role  string
	scope store.Scope
}

// newCaller collects the bindings of principal in snap for org. A
// binding whose role does not fit the level of its CRN (which the API
// refuses, but the store and the configuration file do not check) gives
// no right: an EnvironmentAdmin bound to the organization would
// otherwise grant OrganizationAdmin.
func newCaller(snap *store.Snapshot, org, principal, account string) *caller {
	c := &caller{principal: principal, account: account, name: principal}
	for _, b := range snap.RoleBindingsOf(principal) {
		sc, err := snap.BindingScope(b)
		if err != nil || sc.Organization != org || roleScopeLevel(b.RoleName) != sc.Level() {
			continue
		}
		c.bindings = append(c.bindings, grant{role: b.RoleName, scope: sc})
	}
	return c
}

// adminRoles may manage what is inside their scope.
var adminRoles = map[string]bool{
	authz.RoleOrganizationAdmin: true,
	authz.RoleEnvironmentAdmin:  true,
	authz.RoleCloudClusterAdmin: true,
}

// resourceRoles are the roles bound to resources, which a ResourceOwner
// may grant.
var resourceRoles = map[string]bool{
	authz.RoleDeveloperRead:   true,
	authz.RoleDeveloperWrite:  true,
	authz.RoleDeveloperManage: true,
	authz.RoleResourceOwner:   true,
}

// orgAdmin reports whether the caller is an OrganizationAdmin.
func (c *caller) orgAdmin() bool {
	if c.local {
		return true
	}
	for _, g := range c.bindings {
		if g.role == authz.RoleOrganizationAdmin && g.scope.Level() == "organization" {
			return true
		}
	}
	return false
}

// manager reports whether the caller holds any role that manages
// something (an administrator role or ResourceOwner). Managers may list
// accounts, providers and pools, whose ids they need to grant roles.
func (c *caller) manager() bool {
	if c.local {
		return true
	}
	for _, g := range c.bindings {
		if adminRoles[g.role] || g.role == authz.RoleResourceOwner {
			return true
		}
	}
	return false
}

// adminOf reports whether an administrator binding of the caller covers
// the scope.
func (c *caller) adminOf(sc store.Scope) bool {
	if c.local {
		return true
	}
	for _, g := range c.bindings {
		if adminRoles[g.role] && g.scope.Contains(sc) {
			return true
		}
	}
	return false
}

// denied is a refusal that names the right missing.
type denied struct{ right string }

func (d denied) Error() string { return "forbidden: " + d.right }

func deny(format string, args ...any) error { return denied{fmt.Sprintf(format, args...)} }

// mayGrant reports whether the caller may create or delete a binding of
// role on sc: the caller is an OrganizationAdmin, or an administrator
// binding of the caller contains sc, or the caller owns the resource sc
// names (or a wider one) and role is a resource role. A scope inside the
// caller's can only hold roles as general as the caller's own or less, so
// no caller grants more than it holds.
func (c *caller) mayGrant(role string, sc store.Scope) error {
	if c.orgAdmin() {
		return nil
	}
	for _, g := range c.bindings {
		if !g.scope.Contains(sc) {
			continue
		}
		if adminRoles[g.role] {
			return nil
		}
		if g.role == authz.RoleResourceOwner && resourceRoles[role] {
			return nil
		}
	}
	return deny("granting or revoking %s on %s needs OrganizationAdmin, or EnvironmentAdmin, CloudClusterAdmin or ResourceOwner on a scope that contains it", role, sc)
}

// ownKey reports whether the key belongs to the caller.
func (c *caller) ownKey(owner string) bool { return c.account != "" && owner == c.account }

// mayManageKey reports whether the caller may create, see, change or
// delete a key of owner on resource (a cluster id or store.ResourceCloud).
// cluster is the scope of the cluster, when the resource is one.
func (c *caller) mayManageKey(owner, resource string, cluster store.Scope) error {
	if c.ownKey(owner) || c.orgAdmin() {
		return nil
	}
	if resource == store.ResourceCloud {
		return deny("cloud API keys of other accounts need OrganizationAdmin")
	}
	if c.adminOf(cluster) {
		return nil
	}
	return deny("API keys of other accounts on cluster %s need OrganizationAdmin, or EnvironmentAdmin or CloudClusterAdmin on it", resource)
}

// maySeeAccount reports whether the caller may see the account id.
func (c *caller) maySeeAccount(id string) bool {
	return c.account == id || c.manager()
}

// roleScopeLevel is the level of CRN each role is bound at.
func roleScopeLevel(role string) string { return authz.RoleLevel(role) }

// crnResourceTypes maps CRN resource segments to ACL resource types.
var crnResourceTypes = map[string]authz.ResourceType{
	store.CRNTopic:           authz.ResourceTopic,
	store.CRNGroup:           authz.ResourceGroup,
	store.CRNTransactionalID: authz.ResourceTransactionalID,
}

// checkBinding reports what is wrong with a binding of role on sc for
// this proxy's scope: an unknown role, a CRN of the wrong level for the
// role, a resource type the role does not cover, or an organization,
// environment or cluster the proxy does not know.
func checkBinding(role string, sc store.Scope, scope scopeView) error {
	if !roleKnown(role) {
		return fmt.Errorf("role_name: unknown role %q: want one of %s", role, strings.Join(authz.Roles(), ", "))
	}
	if sc.Organization != scope.org {
		return fmt.Errorf("crn_pattern: organization %s is not this one (%s)", sc.Organization, scope.org)
	}
	if sc.Environment != "" && sc.Environment != scope.env {
		return fmt.Errorf("crn_pattern: environment %s does not exist; the environment is %s", sc.Environment, scope.env)
	}
	if sc.CloudCluster != "" && sc.CloudCluster != scope.cluster {
		return fmt.Errorf("crn_pattern: cluster %s does not exist in %s; the cluster is %s", sc.CloudCluster, scope.env, scope.cluster)
	}
	if want := roleScopeLevel(role); sc.Level() != want {
		return fmt.Errorf("crn_pattern: %s is bound to %s, and %s names %s", role, article(want), sc, article(sc.Level()))
	}
	if sc.ResourceType != "" {
		b := authz.RoleBinding{Principal: "User:x", Role: role, ResourceType: crnResourceTypes[sc.ResourceType],
			Name: sc.ResourceName, Pattern: authz.PatternLiteral}
		if sc.Prefix {
			b.Pattern = authz.PatternPrefixed
		}
		if err := b.Validate(); err != nil {
			return fmt.Errorf("crn_pattern: %w", err)
		}
	}
	return nil
}

func roleKnown(role string) bool {
	for _, r := range authz.Roles() {
		if r == role {
			return true
		}
	}
	return false
}

// scopeView is the proxy's scope for one request.
type scopeView struct {
	org, env, cluster string
}

func (v scopeView) clusterScope() store.Scope {
	return store.Scope{Organization: v.org, Environment: v.env, CloudCluster: v.cluster}
}

func (v scopeView) envScope() store.Scope {
	return store.Scope{Organization: v.org, Environment: v.env}
}

// article is "a cluster", "an organization".
func article(noun string) string {
	if strings.ContainsAny(noun[:1], "aeiou") {
		return "an " + noun
	}
	return "a " + noun
}
