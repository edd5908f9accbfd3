package authz

// The decision algorithm: how a Subject answers a question its memo does
// not hold, following Kafka's StandardAuthorizer.

// verdict collects the first matching DENY and ALLOW rules, by policy
// order, so that the reported rule does not depend on map iteration.
type verdict struct {
	deny, allow *Rule
}

func (v *verdict) consider(rules []*Rule, host string, want opSet) {
	for _, r := range rules {
		if r.ops&want == 0 || (r.host != Wildcard && r.host != host) {
			continue
		}
		if r.ACL.Permission == PermissionDeny {
			v.deny = earliest(v.deny, r)
		} else {
			v.allow = earliest(v.allow, r)
		}
	}
}

// decide computes a decision from the table, without the memo: Kafka's
// rules, where any matching DENY wins, then any matching ALLOW, then the
// default.
func (s *Subject) decide(rt ResourceType, name string, op Operation) Decision {
	if rt == ResourceTopic && s.table.Reserved(name) {
		return reservedDeny
	}
	if s.super {
		return superUserAll
	}
	slot, ok := typeSlot(rt)
	want := opBit(op)
	if !ok || want&allOps == 0 {
		return defaultDeny
	}
	var v verdict
	for _, pi := range s.indexes {
		v.consider(pi.rules[ruleKey{name, rt, false}], s.host, want)
		v.consider(pi.wildcard[slot], s.host, want)
		for _, n := range pi.prefixLens[slot] {
			if n > len(name) {
				break
			}
			v.consider(pi.rules[ruleKey{name[:n], rt, true}], s.host, want)
		}
	}
	switch {
	case v.deny != nil:
		return Decision{Allowed: false, Rule: v.deny}
	case v.allow != nil:
		return Decision{Allowed: true, Rule: v.allow}
	case s.table.allowIfNoACL && !s.table.anyACL.matches(rt, name):
		return allowIfNoACLs
	}
	return defaultDeny
}

// byTypeProbe is the resource name Kafka's authorizeByResourceType first
// authorizes literally, so that super users (and anything else that allows
// that name, such as a LITERAL "*" ALLOW or allow-if-no-ACL) pass before
// the ACLs are examined.
const byTypeProbe = "hardcode"

// decideAny answers whether op is allowed on at least one resource of type
// rt, following Kafka's Authorizer.authorizeByResourceType: after the probe
// above, a LITERAL "*" DENY denies, a LITERAL "*" ALLOW allows, and
// otherwise some LITERAL or PREFIXED ALLOW must survive every DENY that
// dominates it (a LITERAL DENY on the same name, or a PREFIXED DENY on a
// prefix of it or on the name itself). Only ACLs on op itself or All
// count: implied operations do not, as in Kafka.
func (s *Subject) decideAny(rt ResourceType, op Operation) Decision {
	if d := s.decide(rt, byTypeProbe, op); d.Allowed {
		return d
	}
	slot, ok := typeSlot(rt)
	if !ok || opBit(op)&allOps == 0 {
		return defaultDeny
	}
	var (
		allows                    []*Rule
		denyLiteral, denyPrefix   map[string]*Rule
		wildcardDeny, wildcardAll *Rule
	)
	consider := func(r *Rule) {
		if (r.ACL.Operation != op && r.ACL.Operation != OpAll) || (r.host != Wildcard && r.host != s.host) {
			return
		}
		wildcard := r.ACL.Pattern == PatternLiteral && r.ACL.Name == Wildcard
		switch {
		case r.ACL.Permission == PermissionAllow && wildcard:
			wildcardAll = earliest(wildcardAll, r)
		case r.ACL.Permission == PermissionAllow:
			allows = append(allows, r)
		case wildcard:
			wildcardDeny = earliest(wildcardDeny, r)
		default:
			m := &denyLiteral
			if r.ACL.Pattern == PatternPrefixed {
				m = &denyPrefix
			}
			if *m == nil {
				*m = make(map[string]*Rule)
			}
			(*m)[r.ACL.Name] = earliest((*m)[r.ACL.Name], r)
		}
	}
	for _, pi := range s.indexes {
		for k, rules := range pi.rules {
			if k.rt == rt {
				for _, r := range rules {
					consider(r)
				}
			}
		}
		for _, r := range pi.wildcard[slot] {
			consider(r)
		}
	}
	switch {
	case wildcardDeny != nil:
		return Decision{Allowed: false, Rule: wildcardDeny}
	case wildcardAll != nil:
		return Decision{Allowed: true, Rule: wildcardAll}
	}
	// The earliest ALLOW no DENY dominates; failing that, the earliest
	// DENY that dominated one, to name in the audit log.
	var allowed, dominated *Rule
	for _, r := range allows {
		var deny *Rule
		if r.ACL.Pattern == PatternLiteral {
			deny = denyLiteral[r.ACL.Name] // a LITERAL DENY does not dominate a PREFIXED ALLOW
		}
		for n := 1; deny == nil && len(denyPrefix) > 0 && n <= len(r.ACL.Name); n++ {
			deny = denyPrefix[r.ACL.Name[:n]]
		}
		if deny == nil {
			allowed = earliest(allowed, r)
		} else {
			dominated = earliest(dominated, deny)
		}
	}
	switch {
	case allowed != nil:
		return Decision{Allowed: true, Rule: allowed}
	case dominated != nil:
		return Decision{Allowed: false, Rule: dominated}
	}
	return defaultDeny
}

// earliest returns whichever of the rules comes first in the policy; a may
// be nil.
func earliest(a, b *Rule) *Rule {
	if a == nil || b.seq < a.seq {
		return b
	}
	return a
}
