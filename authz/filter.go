package authz

import "fmt"

// Filter selects ACLs the way Kafka's AclBindingFilter does, for
// DescribeAcls and DeleteAcls.
//
//   - ResourceType, Operation and Permission match their own value, or
//     anything when they are the Any value.
//   - Name, Principal and Host match anything when nil, and otherwise an
//     equal string only: a filter principal "User:*" selects the ACLs of
//     User:*, not everyone's.
//   - Pattern LITERAL or PREFIXED selects ACLs of that pattern type whose
//     name equals Name. PatternAny selects any pattern type with an equal
//     name. PatternMatch selects the ACLs that would apply to a resource
//     called Name: LITERAL ACLs on Name or "*", and PREFIXED ACLs whose
//     prefix Name starts with.
type Filter struct {
	ResourceType ResourceType
	Name         *string
	Pattern      PatternType
	Principal    *string
	Host         *string
	Operation    Operation
	Permission   Permission
}

// Matches reports whether the filter selects a.
func (f Filter) Matches(a ACL) bool {
	return f.matchesResource(a) &&
		(f.Principal == nil || *f.Principal == a.Principal) &&
		(f.Host == nil || *f.Host == a.Host) &&
		(f.Operation == OpAny || f.Operation == a.Operation) &&
		(f.Permission == PermissionAny || f.Permission == a.Permission)
}

// matchesResource follows Kafka's ResourcePatternFilter.matches.
func (f Filter) matchesResource(a ACL) bool {
	if f.ResourceType != ResourceAny && f.ResourceType != a.ResourceType {
		return false
	}
	if f.Pattern != PatternAny && f.Pattern != PatternMatch && f.Pattern != a.Pattern {
		return false
	}
	if f.Name == nil {
		return true
	}
	if f.Pattern != PatternMatch {
		return *f.Name == a.Name
	}
	if a.Pattern == PatternPrefixed {
		return len(*f.Name) >= len(a.Name) && (*f.Name)[:len(a.Name)] == a.Name
	}
	return *f.Name == a.Name || a.Name == Wildcard
}

// Kafka's wire codes that a filter may carry. Codes Kafka knows but ACLs in
// this proxy never have (resource types DelegationToken=6 and User=7,
// operations CreateTokens=13 and DescribeTokens=14) are valid in a filter
// and select nothing, as a broker without such ACLs would answer. Code 0
// (UNKNOWN) and codes Kafka does not know make the filter invalid.
const (
	maxKafkaResourceType = 7
	maxKafkaOperation    = 14
)

// Validate reports a filter Kafka would refuse in DescribeAcls or
// DeleteAcls: one with an UNKNOWN resource type, pattern type, operation or
// permission. Any and Match are fine in a filter; CreateAcls, which takes
// ACLs and not filters, refuses them through ACL.Validate.
func (f Filter) Validate() error {
	switch {
	case f.ResourceType < ResourceAny || f.ResourceType > maxKafkaResourceType:
		return fmt.Errorf("filter resource type %s is unknown", f.ResourceType)
	case f.Pattern < PatternAny || f.Pattern > PatternPrefixed:
		return fmt.Errorf("filter pattern type %s is unknown", f.Pattern)
	case f.Operation < OpAny || f.Operation > maxKafkaOperation:
		return fmt.Errorf("filter operation %s is unknown", f.Operation)
	case f.Permission < PermissionAny || f.Permission > PermissionAllow:
		return fmt.Errorf("filter permission %s is unknown", f.Permission)
	}
	return nil
}

// String renders the filter like Kafka's AclBindingFilter, with <any> for
// nil fields.
func (f Filter) String() string {
	s := func(p *string) string {
		if p == nil {
			return "<any>"
		}
		return *p
	}
	return fmt.Sprintf("(principal=%s, host=%s, resource=%s:%s:%s, operation=%s, permission=%s)",
		s(f.Principal), s(f.Host), f.ResourceType, f.Pattern, s(f.Name), f.Operation, f.Permission)
}
