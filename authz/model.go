// Package authz is the policy engine: it decides what an authenticated
// principal may do, the way Kafka's own authorizer would. The model is
// Kafka's ACLs on topics, groups, transactional ids and the cluster, plus
// RBAC role bindings that expand to ACL-equivalent grants (roles.go).
// Policies compile into a Table, an immutable per-principal index
// (table.go); a Subject answers one principal's questions from it through
// a lock-free memo (subject.go), falling back to the decision algorithm
// (decide.go); an Authorizer swaps tables atomically when the policy
// changes. What each Kafka request needs from the policy is the business
// of package enforce.
package authz

import (
	"fmt"
	"slices"
	"strings"
)

// ResourceType is a Kafka ACL resource type. The values are Kafka's wire
// codes.
type ResourceType int8

const (
	ResourceAny             ResourceType = 1 // filters only
	ResourceTopic           ResourceType = 2
	ResourceGroup           ResourceType = 3
	ResourceCluster         ResourceType = 4
	ResourceTransactionalID ResourceType = 5
)

// Operation is a Kafka ACL operation. The values are Kafka's wire codes.
type Operation int8

const (
	OpAny             Operation = 1 // filters only
	OpAll             Operation = 2
	OpRead            Operation = 3
	OpWrite           Operation = 4
	OpCreate          Operation = 5
	OpDelete          Operation = 6
	OpAlter           Operation = 7
	OpDescribe        Operation = 8
	OpClusterAction   Operation = 9
	OpDescribeConfigs Operation = 10
	OpAlterConfigs    Operation = 11
	OpIdempotentWrite Operation = 12
)

// PatternType is how an ACL's resource name matches. The values are
// Kafka's wire codes.
type PatternType int8

const (
	PatternAny      PatternType = 1 // filters only
	PatternMatch    PatternType = 2 // filters only: what would match a name
	PatternLiteral  PatternType = 3
	PatternPrefixed PatternType = 4
)

// Permission is ALLOW or DENY. The values are Kafka's wire codes.
type Permission int8

const (
	PermissionAny   Permission = 1 // filters only
	PermissionDeny  Permission = 2
	PermissionAllow Permission = 3
)

// ClusterName is the name of the one Cluster resource, as in Kafka.
const ClusterName = "kafka-cluster"

// Wildcard is the LITERAL name and the principal that match everything.
const (
	Wildcard          = "*"
	WildcardPrincipal = "User:*"
)

// ValidPrincipal reports whether p is a principal the proxy's policies
// can name: "User:<name>", including "User:*".
func ValidPrincipal(p string) bool {
	return strings.HasPrefix(p, "User:") && len(p) > len("User:")
}

// ACL is one access control entry, as in Kafka.
type ACL struct {
	Principal    string       // "User:sa-…", "User:u-…", "User:pool-…" or "User:*"
	Host         string       // "*" or an IP address
	ResourceType ResourceType // Topic, Group, Cluster or TransactionalId
	Name         string       // resource name or prefix; "*" with LITERAL is any
	Pattern      PatternType  // LITERAL or PREFIXED
	Operation    Operation
	Permission   Permission
}

// String renders the ACL the way kafka-acls prints one, for logs and audit
// events.
func (a ACL) String() string {
	return fmt.Sprintf("(principal=%s, host=%s, resource=%s:%s:%s, operation=%s, permission=%s)",
		a.Principal, a.Host, a.ResourceType, a.Pattern, a.Name, a.Operation, a.Permission)
}

// Validate reports what makes the ACL unusable in a policy.
func (a ACL) Validate() error {
	switch {
	case !ValidPrincipal(a.Principal):
		return fmt.Errorf("principal %q: want User:<name> or User:*", a.Principal)
	case a.Host == "":
		return fmt.Errorf("host is empty: use * for any host")
	case a.ResourceType < ResourceTopic || a.ResourceType > ResourceTransactionalID:
		return fmt.Errorf("resource type %s: want Topic, Group, Cluster or TransactionalId", a.ResourceType)
	case a.Name == "":
		return fmt.Errorf("resource name is empty")
	case a.ResourceType == ResourceCluster && (a.Name != ClusterName || a.Pattern != PatternLiteral):
		return fmt.Errorf("cluster resource must be LITERAL %q", ClusterName)
	case a.Pattern != PatternLiteral && a.Pattern != PatternPrefixed:
		return fmt.Errorf("pattern type %s: want LITERAL or PREFIXED", a.Pattern)
	case a.Operation < OpAll || a.Operation > OpIdempotentWrite:
		return fmt.Errorf("operation %s is not valid in an ACL", a.Operation)
	case a.Permission != PermissionAllow && a.Permission != PermissionDeny:
		return fmt.Errorf("permission %s: want Allow or Deny", a.Permission)
	}
	return nil
}

var resourceNames = map[ResourceType]string{
	ResourceAny: "Any", ResourceTopic: "Topic", ResourceGroup: "Group",
	ResourceCluster: "Cluster", ResourceTransactionalID: "TransactionalId",
}

var operationNames = map[Operation]string{
	OpAny: "Any", OpAll: "All", OpRead: "Read", OpWrite: "Write", OpCreate: "Create",
	OpDelete: "Delete", OpAlter: "Alter", OpDescribe: "Describe",
	OpClusterAction: "ClusterAction", OpDescribeConfigs: "DescribeConfigs",
	OpAlterConfigs: "AlterConfigs", OpIdempotentWrite: "IdempotentWrite",
}

var patternNames = map[PatternType]string{
	PatternAny: "Any", PatternMatch: "Match", PatternLiteral: "Literal", PatternPrefixed: "Prefixed",
}

var permissionNames = map[Permission]string{
	PermissionAny: "Any", PermissionDeny: "Deny", PermissionAllow: "Allow",
}

func (r ResourceType) String() string { return nameOr(resourceNames, r) }
func (o Operation) String() string    { return nameOr(operationNames, o) }
func (p PatternType) String() string  { return nameOr(patternNames, p) }
func (p Permission) String() string   { return nameOr(permissionNames, p) }

func nameOr[K ~int8](names map[K]string, k K) string {
	if s, ok := names[k]; ok {
		return s
	}
	return fmt.Sprintf("Unknown(%d)", int8(k))
}

// parseName finds k by its name, ignoring case and underscores, so that
// "transactional_id", "TransactionalId" and "TRANSACTIONAL_ID" all work.
func parseName[K ~int8](names map[K]string, what, s string) (K, error) {
	norm := func(s string) string { return strings.ToLower(strings.ReplaceAll(s, "_", "")) }
	var valid []string
	for k, n := range names {
		if norm(n) == norm(s) {
			return k, nil
		}
		if n != "Any" && n != "Match" {
			valid = append(valid, n)
		}
	}
	slices.Sort(valid)
	return 0, fmt.Errorf("unknown %s %q: want one of %s", what, s, strings.Join(valid, ", "))
}

// ParseResourceType, ParseOperation, ParsePatternType and ParsePermission
// read the names used in config files and on the command line.
func ParseResourceType(s string) (ResourceType, error) {
	return parseName(resourceNames, "resource type", s)
}
func ParseOperation(s string) (Operation, error) { return parseName(operationNames, "operation", s) }
func ParsePatternType(s string) (PatternType, error) {
	return parseName(patternNames, "pattern type", s)
}
func ParsePermission(s string) (Permission, error) {
	return parseName(permissionNames, "permission", s)
}

// RoleBinding grants a role to a principal. A binding without a resource
// applies to the whole cluster; one with a resource applies to the
// resources its name and pattern match.
type RoleBinding struct {
	Principal string
	Role      string
	// Cluster is the cluster id the binding is scoped to; it must be the
	// proxy's cluster for the binding to apply.
	Cluster      string
	ResourceType ResourceType // 0 when the binding is cluster-wide
	Name         string
	Pattern      PatternType
}

func (b RoleBinding) String() string {
	s := fmt.Sprintf("(principal=%s, role=%s, cluster=%s", b.Principal, b.Role, b.Cluster)
	if b.ResourceType != 0 {
		s += fmt.Sprintf(", resource=%s:%s:%s", b.ResourceType, b.Pattern, b.Name)
	}
	return s + ")"
}

// Policy is everything a Table is compiled from.
type Policy struct {
	ACLs         []ACL
	RoleBindings []RoleBinding
	// SuperUsers skip every check.
	SuperUsers []string
	// AllowIfNoACL allows access to a resource that no ACL (of any
	// principal) matches, like Kafka's allow.everyone.if.no.acl.found.
	AllowIfNoACL bool
	// Cluster is the proxy's cluster id; role bindings scoped to another
	// cluster do not apply.
	Cluster string
	// ReservedTopics are topics no client may see or touch, super users
	// included, whatever the ACLs say: the proxy's own state topic.
	ReservedTopics []string
}
