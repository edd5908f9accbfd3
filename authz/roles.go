package authz

import (
	"fmt"
	"strings"
)

// Role names, as in Confluent Cloud.
const (
	RoleDeveloperRead     = "DeveloperRead"
	RoleDeveloperWrite    = "DeveloperWrite"
	RoleDeveloperManage   = "DeveloperManage"
	RoleResourceOwner     = "ResourceOwner"
	RoleOperator          = "Operator"
	RoleCloudClusterAdmin = "CloudClusterAdmin"
	RoleEnvironmentAdmin  = "EnvironmentAdmin"
	RoleOrganizationAdmin = "OrganizationAdmin"
	RoleMetricsViewer     = "MetricsViewer"
)

// RoleGrant is one line of a role's definition: the operations the role
// allows on one resource type.
type RoleGrant struct {
	ResourceType ResourceType
	Operations   []Operation
}

// roleDef defines a role. A resource-scoped role (clusterWide false) is
// bound to one resource (or prefix) and its grants say what it allows for
// each resource type it may be bound to. A cluster-wide role is bound to
// the cluster and its grants apply to the Cluster resource and to every
// resource (LITERAL "*") of the other types.
type roleDef struct {
	name        string
	clusterWide bool
	grants      []RoleGrant
}

func roleOps(o ...Operation) []Operation { return o }

// adminGrants are the grants of the three administrator roles, which do not
// differ inside one cluster: they differ in how far beyond the cluster they
// reach (environment, organization), which the proxy does not model.
var adminGrants = []RoleGrant{
	{ResourceCluster, roleOps(OpAll)},
	{ResourceTopic, roleOps(OpAll)},
	{ResourceGroup, roleOps(OpAll)},
	{ResourceTransactionalID, roleOps(OpAll)},
}

// roleTable is the definition of every role, in the order Roles lists them.
// Grants are listed Cluster first, then Topic, Group, TransactionalId.
//
// Idempotent producers need no Cluster grant for DeveloperWrite: since
// KIP-679 Kafka lets Write on any topic stand in for IdempotentWrite on the
// cluster, and the per-API table follows that rule.
var roleTable = []roleDef{
	{name: RoleDeveloperRead, grants: []RoleGrant{
		{ResourceTopic, roleOps(OpRead, OpDescribe)},
		{ResourceGroup, roleOps(OpRead, OpDescribe)},
	}},
	{name: RoleDeveloperWrite, grants: []RoleGrant{
		{ResourceTopic, roleOps(OpWrite, OpDescribe)},
		{ResourceTransactionalID, roleOps(OpWrite, OpDescribe)},
	}},
	{name: RoleDeveloperManage, grants: []RoleGrant{
		{ResourceTopic, roleOps(OpCreate, OpDelete, OpDescribe, OpDescribeConfigs, OpAlterConfigs, OpAlter)},
		{ResourceGroup, roleOps(OpDescribe, OpDelete)},
		{ResourceTransactionalID, roleOps(OpDescribe)},
	}},
	{name: RoleResourceOwner, grants: []RoleGrant{
		{ResourceTopic, roleOps(OpAll)},
		{ResourceGroup, roleOps(OpAll)},
		{ResourceTransactionalID, roleOps(OpAll)},
	}},
	{name: RoleOperator, clusterWide: true, grants: []RoleGrant{
		{ResourceCluster, roleOps(OpDescribe, OpDescribeConfigs)},
		{ResourceTopic, roleOps(OpDescribe, OpDescribeConfigs)},
		{ResourceGroup, roleOps(OpDescribe)},
		{ResourceTransactionalID, roleOps(OpDescribe)},
	}},
	{name: RoleCloudClusterAdmin, clusterWide: true, grants: adminGrants},
	{name: RoleEnvironmentAdmin, clusterWide: true, grants: adminGrants},
	{name: RoleOrganizationAdmin, clusterWide: true, grants: adminGrants},
	{name: RoleMetricsViewer, clusterWide: true, grants: []RoleGrant{
		{ResourceCluster, roleOps(OpDescribe, OpDescribeConfigs)},
	}},
}

// rolesByName indexes roleTable; it is built once and never changed.
var rolesByName = func() map[string]*roleDef {
	m := make(map[string]*roleDef, len(roleTable))
	for i := range roleTable {
		m[roleTable[i].name] = &roleTable[i]
	}
	return m
}()

// Roles lists the role names a binding may use, in a stable order.
func Roles() []string {
	names := make([]string, len(roleTable))
	for i, r := range roleTable {
		names[i] = r.name
	}
	return names
}

// RoleIsClusterWide reports whether role is bound to the whole cluster
// (true) or to one resource (false); unknown roles report false.
func RoleIsClusterWide(role string) bool {
	r, ok := rolesByName[role]
	return ok && r.clusterWide
}

// RoleLevel is the level of scope a binding of role names, in the words
// of store.Scope.Level: "organization" for OrganizationAdmin,
// "environment" for EnvironmentAdmin, "cluster" for the other roles bound
// to a cluster, "resource" for the roles bound to resources.
func RoleLevel(role string) string {
	switch {
	case role == RoleOrganizationAdmin:
		return "organization"
	case role == RoleEnvironmentAdmin:
		return "environment"
	case RoleIsClusterWide(role):
		return "cluster"
	}
	return "resource"
}

// RoleGrants returns what role allows, per resource type, for rendering
// documentation and CLI output. For a cluster-wide role the Cluster line
// applies to the cluster and the other lines to every resource of their
// type; for a resource-scoped role each line applies to the bound resource
// when it has that type. The result is a copy.
func RoleGrants(role string) ([]RoleGrant, error) {
	r, ok := rolesByName[role]
	if !ok {
		return nil, unknownRole(role)
	}
	out := make([]RoleGrant, len(r.grants))
	for i, g := range r.grants {
		out[i] = RoleGrant{ResourceType: g.ResourceType, Operations: append([]Operation(nil), g.Operations...)}
	}
	return out, nil
}

func unknownRole(role string) error {
	return fmt.Errorf("unknown role %q: want one of %s", role, strings.Join(Roles(), ", "))
}

// covers lists the resource types r grants something on, for messages.
func (r *roleDef) covers() string {
	names := make([]string, len(r.grants))
	for i, g := range r.grants {
		names[i] = g.ResourceType.String()
	}
	return strings.Join(names, ", ")
}

func (r *roleDef) grantFor(rt ResourceType) (RoleGrant, bool) {
	for _, g := range r.grants {
		if g.ResourceType == rt {
			return g, true
		}
	}
	return RoleGrant{}, false
}

// Validate reports what makes the binding unusable: an unknown role, a bad
// principal, a resource-scoped role without a resource or with a resource
// type the role does not cover, a cluster-wide role with a resource, or a
// bad resource name or pattern. Whether the binding's cluster is the
// proxy's is not checked here: bindings for other clusters are valid, they
// just do not apply.
func (b RoleBinding) Validate() error {
	if !ValidPrincipal(b.Principal) {
		return fmt.Errorf("principal %q: want User:<name>", b.Principal)
	}
	r, ok := rolesByName[b.Role]
	if !ok {
		return unknownRole(b.Role)
	}
	hasResource := b.ResourceType != 0 || b.Name != "" || b.Pattern != 0
	if r.clusterWide {
		if hasResource {
			return fmt.Errorf("role %s applies to the whole cluster and takes no resource; got %s:%s:%s",
				r.name, b.ResourceType, b.Pattern, b.Name)
		}
		return nil
	}
	if !hasResource {
		return fmt.Errorf("role %s needs a resource (%s)", r.name, r.covers())
	}
	if _, ok := r.grantFor(b.ResourceType); !ok {
		return fmt.Errorf("role %s does not apply to resource type %s; it covers %s", r.name, b.ResourceType, r.covers())
	}
	if b.Name == "" {
		return fmt.Errorf("role %s: resource name is empty", r.name)
	}
	if b.Pattern != PatternLiteral && b.Pattern != PatternPrefixed {
		return fmt.Errorf("role %s: pattern type %s: want LITERAL or PREFIXED", r.name, b.Pattern)
	}
	return nil
}

// appliesTo reports whether the binding is in force on the proxy's cluster:
// a binding names no cluster (any) or the proxy's own.
func (b RoleBinding) appliesTo(cluster string) bool {
	return b.Cluster == "" || b.Cluster == cluster
}

// Expand validates the binding and returns the ALLOW ACLs it is
// equivalent to, on host "*". A resource-scoped binding grants on its own
// resource name and pattern; a cluster-wide binding grants on the Cluster
// resource and on LITERAL "*" of the other resource types.
func (b RoleBinding) Expand() ([]ACL, error) {
	if err := b.Validate(); err != nil {
		return nil, err
	}
	return b.appendGrants(nil), nil
}

// appendGrants appends the binding's grants to dst; b must be valid.
func (b RoleBinding) appendGrants(dst []ACL) []ACL {
	r := rolesByName[b.Role]
	grant := func(rt ResourceType, name string, pattern PatternType, ops []Operation) {
		for _, op := range ops {
			dst = append(dst, ACL{
				Principal: b.Principal, Host: Wildcard,
				ResourceType: rt, Name: name, Pattern: pattern,
				Operation: op, Permission: PermissionAllow,
			})
		}
	}
	if !r.clusterWide {
		g, _ := r.grantFor(b.ResourceType)
		grant(b.ResourceType, b.Name, b.Pattern, g.Operations)
		return dst
	}
	for _, g := range r.grants {
		name := Wildcard
		if g.ResourceType == ResourceCluster {
			name = ClusterName
		}
		grant(g.ResourceType, name, PatternLiteral, g.Operations)
	}
	return dst
}
