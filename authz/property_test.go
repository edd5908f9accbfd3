package authz

import (
	"math/rand/v2"
	"strings"
	"testing"
)

// The property test compares the compiled table with a reference
// evaluator that applies Kafka's rules by scanning every ACL, on random
// policies built to make rules collide: few principals, hosts and
// operations, and short names over a two-letter alphabet, so that
// literals, prefixes and wildcards overlap all the time.

var (
	propPrincipals = []string{"User:a", "User:b", "User:c", WildcardPrincipal}
	propRequesters = []string{"User:a", "User:b", "User:c", "User:d", "User:su"}
	propACLHosts   = []string{Wildcard, Wildcard, "10.0.0.1", "10.0.0.2"}
	propHosts      = []string{"10.0.0.1", "10.0.0.2", "10.0.0.3"}
	propTypes      = []ResourceType{ResourceTopic, ResourceGroup, ResourceTransactionalID, ResourceCluster}
	propClusters   = []string{"", "c1", "c2"}
)

func pick[T any](r *rand.Rand, xs []T) T { return xs[r.IntN(len(xs))] }

// shortName is 1 to maxLen letters of "ab", or rarely "*".
func shortName(r *rand.Rand, maxLen int) string {
	if r.IntN(12) == 0 {
		return Wildcard
	}
	var b strings.Builder
	for range 1 + r.IntN(maxLen) {
		b.WriteByte("ab"[r.IntN(2)])
	}
	return b.String()
}

func randomACL(r *rand.Rand) ACL {
	a := ACL{
		Principal:    pick(r, propPrincipals),
		Host:         pick(r, propACLHosts),
		ResourceType: pick(r, propTypes),
		Name:         shortName(r, 3),
		Pattern:      pick(r, []PatternType{PatternLiteral, PatternPrefixed}),
		Operation:    OpAll + Operation(r.IntN(int(OpIdempotentWrite-OpAll)+1)),
		Permission:   PermissionAllow,
	}
	if r.IntN(10) < 3 {
		a.Permission = PermissionDeny
	}
	if a.ResourceType == ResourceCluster {
		a.Name, a.Pattern = ClusterName, PatternLiteral
	}
	return a
}

func randomBinding(r *rand.Rand) RoleBinding {
	role := pick(r, roleTable)
	b := RoleBinding{Principal: pick(r, propPrincipals), Role: role.name, Cluster: pick(r, propClusters)}
	if !role.clusterWide {
		b.ResourceType = pick(r, role.grants).ResourceType
		b.Name = shortName(r, 3)
		b.Pattern = pick(r, []PatternType{PatternLiteral, PatternPrefixed})
	}
	return b
}

func randomPolicy(r *rand.Rand) Policy {
	p := Policy{Cluster: "c1", AllowIfNoACL: r.IntN(4) == 0}
	for range r.IntN(30) {
		p.ACLs = append(p.ACLs, randomACL(r))
	}
	for range r.IntN(4) {
		p.RoleBindings = append(p.RoleBindings, randomBinding(r))
	}
	if r.IntN(3) == 0 {
		p.SuperUsers = []string{"User:su"}
	}
	return p
}

// refRule is a rule of the reference evaluator: an ACL or grant, with its
// position in the policy (ACLs first, then grants in binding order).
type refRule struct {
	ACL
	seq     int
	binding *RoleBinding
}

func refRules(p Policy) []refRule {
	var rules []refRule
	for i, a := range p.ACLs {
		rules = append(rules, refRule{ACL: a, seq: i})
	}
	for i := range p.RoleBindings {
		b := &p.RoleBindings[i]
		if b.Cluster != "" && b.Cluster != p.Cluster {
			continue
		}
		grants, err := b.Expand()
		if err != nil {
			panic(err)
		}
		for _, g := range grants {
			rules = append(rules, refRule{ACL: g, seq: len(rules), binding: b})
		}
	}
	return rules
}

func refMatchesResource(a ACL, rt ResourceType, name string) bool {
	if a.ResourceType != rt {
		return false
	}
	if a.Pattern == PatternPrefixed {
		return strings.HasPrefix(name, a.Name)
	}
	return a.Name == name || a.Name == Wildcard
}

func refApplies(a ACL, principal, host string) bool {
	return (a.Principal == principal || a.Principal == WildcardPrincipal) && (a.Host == Wildcard || a.Host == host)
}

func refImplies(granted, wanted Operation) bool {
	switch wanted {
	case OpDescribe:
		return granted == OpRead || granted == OpWrite || granted == OpDelete || granted == OpAlter
	case OpDescribeConfigs:
		return granted == OpAlterConfigs
	}
	return false
}

type refDecision struct {
	allowed bool
	kind    RuleKind
	rule    *refRule
}

// refAuthorize is Kafka's authorizer, written as plainly as possible.
func refAuthorize(p Policy, rules []refRule, principal, host string, rt ResourceType, name string, op Operation) refDecision {
	for _, su := range p.SuperUsers {
		if su == principal {
			return refDecision{true, RuleSuperUser, nil}
		}
	}
	for i := range rules {
		r := &rules[i]
		if r.Permission == PermissionDeny && refApplies(r.ACL, principal, host) && refMatchesResource(r.ACL, rt, name) &&
			(r.Operation == op || r.Operation == OpAll) {
			return refDecision{false, RuleACL, r}
		}
	}
	for i := range rules {
		r := &rules[i]
		if r.Permission == PermissionAllow && refApplies(r.ACL, principal, host) && refMatchesResource(r.ACL, rt, name) &&
			(r.Operation == op || r.Operation == OpAll || refImplies(r.Operation, op)) {
			kind := RuleACL
			if r.binding != nil {
				kind = RuleRoleBinding
			}
			return refDecision{true, kind, r}
		}
	}
	if p.AllowIfNoACL {
		matched := false
		for _, r := range rules {
			matched = matched || refMatchesResource(r.ACL, rt, name)
		}
		if !matched {
			return refDecision{true, RuleAllowIfNoACL, nil}
		}
	}
	return refDecision{false, RuleDefaultDeny, nil}
}

// refAuthorizeAny is Kafka's Authorizer.authorizeByResourceType.
func refAuthorizeAny(p Policy, rules []refRule, principal, host string, rt ResourceType, op Operation) bool {
	if refAuthorize(p, rules, principal, host, rt, "hardcode", op).allowed {
		return true
	}
	denyLiteral, denyPrefix := map[string]bool{}, map[string]bool{}
	var allowLiteral, allowPrefix []string
	wildcardAllow := false
	for _, r := range rules {
		if r.ResourceType != rt || !refApplies(r.ACL, principal, host) || (r.Operation != op && r.Operation != OpAll) {
			continue
		}
		switch {
		case r.Permission == PermissionDeny && r.Pattern == PatternLiteral && r.Name == Wildcard:
			return false
		case r.Permission == PermissionDeny && r.Pattern == PatternLiteral:
			denyLiteral[r.Name] = true
		case r.Permission == PermissionDeny:
			denyPrefix[r.Name] = true
		case r.Pattern == PatternLiteral && r.Name == Wildcard:
			wildcardAllow = true // decides only after the loop: a DENY "*" still wins
		case r.Pattern == PatternLiteral:
			allowLiteral = append(allowLiteral, r.Name)
		default:
			allowPrefix = append(allowPrefix, r.Name)
		}
	}
	if wildcardAllow {
		return true
	}
	dominated := func(name string) bool {
		for n := 1; n <= len(name); n++ {
			if denyPrefix[name[:n]] {
				return true
			}
		}
		return false
	}
	for _, n := range allowLiteral {
		if !denyLiteral[n] && !dominated(n) {
			return true
		}
	}
	for _, n := range allowPrefix {
		if !dominated(n) {
			return true
		}
	}
	return false
}

func sameBinding(a, b *RoleBinding) bool {
	return (a == nil) == (b == nil) && (a == nil || *a == *b)
}

func TestPropertyTableMatchesReference(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	const policies, questions = 3000, 60
	decisions := 0
	for range policies {
		p := randomPolicy(r)
		rules := refRules(p)
		tbl := mustCompile(t, p)
		for range questions {
			principal, host := pick(r, propRequesters), pick(r, propHosts)
			rt := pick(r, propTypes)
			name := shortName(r, 4)
			if rt == ResourceCluster {
				name = ClusterName
			}
			op := OpAll + Operation(r.IntN(int(OpIdempotentWrite-OpAll)+1))
			want := refAuthorize(p, rules, principal, host, rt, name, op)
			s := tbl.Subject(principal, host)
			for try := range 2 { // the second answer comes from the memo
				got := s.Authorize(rt, name, op)
				decisions++
				if got.Allowed != want.allowed || got.Rule.Kind != want.kind ||
					(want.rule != nil && (int(got.Rule.seq) != want.rule.seq || got.Rule.ACL != want.rule.ACL || !sameBinding(got.Rule.Binding, want.rule.binding))) {
					t.Fatalf("policy %+v\n%s@%s %s %s:%s (try %d):\n got allowed=%v by %v\nwant allowed=%v by %v %+v",
						p, principal, host, op, rt, name, try, got.Allowed, got.Rule, want.allowed, want.kind, want.rule)
				}
			}
		}
		for _, principal := range propRequesters {
			for _, host := range propHosts {
				for _, rt := range propTypes {
					for _, op := range []Operation{OpWrite, OpRead, OpDescribe} {
						want := refAuthorizeAny(p, rules, principal, host, rt, op)
						s := tbl.Subject(principal, host)
						for try := range 2 {
							if got := s.AuthorizeAny(rt, op); got.Allowed != want {
								t.Fatalf("policy %+v\nAuthorizeAny %s@%s %s %s (try %d): got %v by %v, want %v",
									p, principal, host, op, rt, try, got.Allowed, got.Rule, want)
							}
						}
					}
				}
			}
		}
	}
	t.Logf("%d policies, %d decisions compared", policies, decisions)
}
