package authz

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
)

// RuleKind says what kind of rule made a decision.
type RuleKind uint8

const (
	RuleDefaultDeny  RuleKind = iota // nothing allowed the request
	RuleACL                          // an ACL of the policy
	RuleRoleBinding                  // a grant expanded from a role binding
	RuleSuperUser                    // the principal is a super user
	RuleAllowIfNoACL                 // no ACL matches the resource and the policy allows that
	RuleReserved                     // the resource is the proxy's own, closed to every client
)

// ruleKindNames are the kinds as audit and metric labels.
var ruleKindNames = [...]string{
	RuleDefaultDeny:  "default_deny",
	RuleACL:          "acl",
	RuleRoleBinding:  "role_binding",
	RuleSuperUser:    "super_user",
	RuleAllowIfNoACL: "allow_if_no_acl",
	RuleReserved:     "reserved",
}

func (k RuleKind) String() string {
	if int(k) < len(ruleKindNames) {
		return ruleKindNames[k]
	}
	return fmt.Sprintf("Unknown(%d)", k)
}

// Rule is what decided: an ACL, a role binding's grant, or one of the
// shared rules for super users, allow-if-no-ACL and the default deny.
// Rules belong to a Table and must not be modified.
type Rule struct {
	Kind RuleKind
	// ACL is the matching ACL; for a role binding, the expanded grant. It
	// is the zero ACL for the shared rules.
	ACL ACL
	// Binding is the role binding the grant came from (RuleRoleBinding
	// only).
	Binding *RoleBinding

	host string // ACL.Host in canonical form, for matching
	ops  opSet  // the operations this rule matches (ALLOW: with the implied ones)
	seq  int32  // position in the policy; the lowest matching rule is reported
	// text is the rule's description, built the first time it is asked
	// for and then shared by every audit event that names the rule.
	// Building it for all rules up front took a quarter of the time and
	// memory of compiling a large policy, for rules mostly never audited.
	text atomic.Pointer[string]
}

// String describes the rule for logs and audit events, like
// `acl (principal=User:sa-1, host=*, resource=Topic:Literal:orders,
// operation=Read, permission=Allow)`.
func (r *Rule) String() string {
	if t := r.text.Load(); t != nil {
		return *t
	}
	prefix := r.Kind.String() + " "
	if r.Binding != nil {
		prefix += r.Binding.String() + " grant "
	}
	t := aclText(prefix, r.ACL)
	r.text.Store(&t) // a racing caller stores an equal string: harmless
	return t
}

// fixedRule makes one of the shared rules, whose text is known up front.
func fixedRule(kind RuleKind, text string) *Rule {
	r := &Rule{Kind: kind}
	r.text.Store(&text)
	return r
}

// Decision is the answer to one authorization question. Rule is never nil.
type Decision struct {
	Allowed bool
	Rule    *Rule
}

// The shared rules. They are never modified; Decisions point at them so
// that returning one allocates nothing.
var (
	defaultDenyRule  = fixedRule(RuleDefaultDeny, "default_deny: no ACL or role binding allows")
	superUserRule    = fixedRule(RuleSuperUser, "super_user")
	allowIfNoACLRule = fixedRule(RuleAllowIfNoACL, "allow_if_no_acl: no ACL matches the resource")
	reservedRule     = fixedRule(RuleReserved, "reserved: the proxy's own state topic, closed to every client")

	defaultDeny   = Decision{Allowed: false, Rule: defaultDenyRule}
	superUserAll  = Decision{Allowed: true, Rule: superUserRule}
	allowIfNoACLs = Decision{Allowed: true, Rule: allowIfNoACLRule}
	reservedDeny  = Decision{Allowed: false, Rule: reservedRule}
)

// opSet is a set of operations, one bit per wire code.
type opSet uint16

func opBit(op Operation) opSet {
	if op < 0 || op > 15 {
		return 0
	}
	return 1 << uint(op)
}

// allOps are the operations OpAll stands for: every real operation and
// All itself, but not the filter-only Any.
var allOps = func() opSet {
	var s opSet
	for op := OpAll; op <= OpIdempotentWrite; op++ {
		s |= opBit(op)
	}
	return s
}()

// impliedByAllow lists what an ALLOW on an operation grants besides the
// operation itself, as in Kafka. DENY implies nothing.
var impliedByAllow = map[Operation][]Operation{
	OpRead:         {OpDescribe},
	OpWrite:        {OpDescribe},
	OpDelete:       {OpDescribe},
	OpAlter:        {OpDescribe},
	OpAlterConfigs: {OpDescribeConfigs},
}

// allowMatches and denyMatches are, per operation of an ACL, the set of
// requested operations it matches. They are derived once from the table
// above.
var allowMatches, denyMatches = func() (allow, deny [16]opSet) {
	for op := OpAll; op <= OpIdempotentWrite; op++ {
		allow[op], deny[op] = opBit(op), opBit(op)
		for _, implied := range impliedByAllow[op] {
			allow[op] |= opBit(implied)
		}
	}
	allow[OpAll], deny[OpAll] = allOps, allOps
	return allow, deny
}()

// matchedOps is the set of requested operations an ACL matches; a is
// valid.
func matchedOps(a *ACL) opSet {
	if a.Permission == PermissionAllow {
		return allowMatches[a.Operation]
	}
	return denyMatches[a.Operation]
}

// numTypes is the number of resource types an ACL can name: Topic, Group,
// Cluster and TransactionalId, whose wire codes are consecutive.
const numTypes = int(ResourceTransactionalID-ResourceTopic) + 1

func typeSlot(rt ResourceType) (int, bool) {
	i := int(rt) - int(ResourceTopic)
	return i, i >= 0 && i < numTypes
}

// ruleKey names the rules of one principal on one resource: a LITERAL
// name other than "*", or a PREFIXED prefix. One map per principal, rather
// than one per principal and resource type and pattern, keeps the number
// of maps, which dominates compile time and memory, low.
type ruleKey struct {
	name     string
	rt       ResourceType
	prefixed bool
}

// principalIndex holds the rules of one principal (or of User:*).
type principalIndex struct {
	rules    map[ruleKey][]*Rule
	wildcard [numTypes][]*Rule // LITERAL "*", by resource type
	// prefixLens are the distinct prefix lengths per resource type,
	// ascending, so that a lookup probes one key per length instead of
	// scanning every prefix.
	prefixLens [numTypes][]int
	// hosts are the specific (non-"*") hosts the rules name. A client
	// whose host is not among them is treated like any other such host,
	// which lets connections from many addresses share one Subject.
	hosts  map[string]struct{}
	size   int   // rules, counted before they are added
	number int32 // order of first appearance in the policy, while compiling
}

func (pi *principalIndex) add(r *Rule, refs *ruleRefs) {
	slot, _ := typeSlot(r.ACL.ResourceType)
	if r.ACL.Pattern == PatternLiteral && r.ACL.Name == Wildcard {
		pi.wildcard[slot] = append(pi.wildcard[slot], r)
	} else {
		if pi.rules == nil {
			pi.rules = make(map[ruleKey][]*Rule, pi.size)
		}
		k := ruleKey{r.ACL.Name, r.ACL.ResourceType, r.ACL.Pattern == PatternPrefixed}
		pi.rules[k] = refs.append(pi.rules[k], r)
	}
	if r.host != Wildcard {
		if pi.hosts == nil {
			pi.hosts = make(map[string]struct{})
		}
		pi.hosts[r.host] = struct{}{}
	}
}

func (pi *principalIndex) finish() { pi.prefixLens = prefixLengths(pi.rules) }

// prefixLengths returns the distinct lengths of m's PREFIXED keys, per
// resource type, ascending.
func prefixLengths[V any](m map[ruleKey]V) (lens [numTypes][]int) {
	for k := range m {
		if slot, _ := typeSlot(k.rt); k.prefixed {
			lens[slot] = append(lens[slot], len(k.name))
		}
	}
	for i := range lens {
		slices.Sort(lens[i])
		lens[i] = slices.Clip(slices.Compact(lens[i]))
	}
	return lens
}

// ruleRefs hands out one-element rule lists from a single array: most
// names have one rule, and allocating a slice for each made up a large
// part of compiling a big policy.
type ruleRefs struct{ free []*Rule }

func (rr *ruleRefs) append(list []*Rule, r *Rule) []*Rule {
	if list != nil || len(rr.free) == 0 {
		return append(list, r) // a second rule for the name: a slice of its own
	}
	rr.free[0] = r
	list, rr.free = rr.free[:1:1], rr.free[1:]
	return list
}

// resourceSet answers whether any ACL, of any principal, matches a
// resource: the question behind AllowIfNoACL.
type resourceSet struct {
	names      map[ruleKey]struct{}
	wildcard   [numTypes]bool
	prefixLens [numTypes][]int
}

func (rs *resourceSet) add(a *ACL) {
	slot, _ := typeSlot(a.ResourceType)
	if a.Pattern == PatternLiteral && a.Name == Wildcard {
		rs.wildcard[slot] = true
		return
	}
	rs.names[ruleKey{a.Name, a.ResourceType, a.Pattern == PatternPrefixed}] = struct{}{}
}

func (rs *resourceSet) matches(rt ResourceType, name string) bool {
	slot, ok := typeSlot(rt)
	if !ok {
		return false
	}
	if rs.wildcard[slot] {
		return true
	}
	if _, ok := rs.names[ruleKey{name, rt, false}]; ok {
		return true
	}
	for _, n := range rs.prefixLens[slot] {
		if n > len(name) {
			break
		}
		if _, ok := rs.names[ruleKey{name[:n], rt, true}]; ok {
			return true
		}
	}
	return false
}

// Stats describes a compiled policy.
type Stats struct {
	ACLs            int // ACLs of the policy
	Grants          int // ALLOW grants expanded from role bindings
	Rules           int // ACLs + Grants: what the decision index holds
	Bindings        int // role bindings in force on this cluster
	SkippedBindings int // role bindings scoped to another cluster
	Principals      int // distinct principals with rules, User:* included
	SuperUsers      int
}

// maxCachedSubjects bounds the Subjects a Table keeps. A Subject's memo
// costs 32 KiB once used; past the bound, Subject hands out uncached
// Subjects whose memo lives as long as the connection holding it.
const maxCachedSubjects = 1024

type subjectKey struct{ principal, host string }

// Table is a compiled policy: immutable once built, safe for concurrent
// use. Decisions are made through a Subject.
type Table struct {
	version      uint64
	seed         uint64 // of the memo hash
	principals   map[string]*principalIndex
	superUsers   map[string]struct{}
	allowIfNoACL bool
	anyACL       *resourceSet // nil unless allowIfNoACL
	reserved     []string     // topic names no client may touch
	stats        Stats
	misses       *atomic.Uint64 // shared with the Authorizer that compiled the table

	mu       sync.Mutex
	subjects map[subjectKey]*Subject
}

// PolicyError lists every problem of a policy that failed to compile. Each
// problem names its entry, e.g. "acls[3] (principal=…): host is empty".
type PolicyError struct {
	Problems []error
}

func (e *PolicyError) Error() string {
	msgs := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		msgs[i] = p.Error()
	}
	return fmt.Sprintf("invalid policy (%d problems): %s", len(e.Problems), strings.Join(msgs, "; "))
}

func (e *PolicyError) Unwrap() []error { return e.Problems }

// Compile validates p, reporting every problem, and builds its decision
// table. Role bindings scoped to another cluster than p.Cluster are
// skipped. The table does not refer to p's slices afterwards.
func Compile(p Policy) (*Table, error) {
	return compile(p, new(atomic.Uint64))
}

func compile(p Policy, misses *atomic.Uint64) (*Table, error) {
	if err := validatePolicy(p); err != nil {
		return nil, err
	}
	t := &Table{
		seed:         rand.Uint64(),
		principals:   make(map[string]*principalIndex),
		superUsers:   make(map[string]struct{}, len(p.SuperUsers)),
		allowIfNoACL: p.AllowIfNoACL,
		reserved:     slices.Clone(p.ReservedTopics),
		misses:       misses,
		subjects:     make(map[subjectKey]*Subject),
	}
	for _, u := range p.SuperUsers {
		t.superUsers[u] = struct{}{}
	}

	bindings, grants, grantOf, skipped := applicableGrants(p)
	entry := func(i int) (ACL, RuleKind, *RoleBinding) {
		if i < len(p.ACLs) {
			return p.ACLs[i], RuleACL, nil
		}
		return grants[i-len(p.ACLs)], RuleRoleBinding, &bindings[grantOf[i-len(p.ACLs)]]
	}
	rules := t.index(len(p.ACLs)+len(grants), entry)
	if p.AllowIfNoACL {
		t.anyACL = &resourceSet{names: make(map[ruleKey]struct{}, len(rules))}
		for i := range rules {
			t.anyACL.add(&rules[i].ACL)
		}
		t.anyACL.prefixLens = prefixLengths(t.anyACL.names)
	}
	t.stats = Stats{
		ACLs: len(p.ACLs), Grants: len(grants), Rules: len(rules),
		Bindings: len(bindings), SkippedBindings: skipped,
		Principals: len(t.principals), SuperUsers: len(t.superUsers),
	}
	return t, nil
}

// applicableGrants expands the role bindings in force on p.Cluster.
// grants[i] came from bindings[grantOf[i]]. The bindings are copies, so
// that Rules can point at them without keeping the caller's slice alive or
// seeing later changes to it.
func applicableGrants(p Policy) (bindings []RoleBinding, grants []ACL, grantOf []int32, skipped int) {
	for _, b := range p.RoleBindings {
		if !b.appliesTo(p.Cluster) {
			skipped++
			continue
		}
		bindings = append(bindings, b)
		n := len(grants)
		grants = b.appendGrants(grants)
		for range len(grants) - n {
			grantOf = append(grantOf, int32(len(bindings)-1))
		}
	}
	return bindings, grants, grantOf, skipped
}

// index makes the n rules that entry describes, in policy order, and
// indexes them by principal.
//
// Rules are laid out grouped by principal, so that each principal's index
// is built from consecutive rules into maps still in cache: building them
// in policy order touched a random principal's maps at every rule, and
// those cache misses dominated compile time. Each rule keeps its policy
// position (seq) for reporting.
func (t *Table) index(n int, entry func(int) (ACL, RuleKind, *RoleBinding)) []Rule {
	owner := make([]int32, n) // rule i's principal, by number
	var byNumber []*principalIndex
	for i := range n {
		a, _, _ := entry(i)
		pi := t.principals[a.Principal]
		if pi == nil {
			pi = &principalIndex{number: int32(len(byNumber))}
			t.principals[a.Principal] = pi
			byNumber = append(byNumber, pi)
		}
		pi.size++
		owner[i] = pi.number
	}
	next := make([]int, len(byNumber)) // where each principal's next rule goes
	for k, at := 1, 0; k < len(byNumber); k++ {
		at += byNumber[k-1].size
		next[k] = at
	}
	rules := make([]Rule, n) // one allocation; the index points into it
	for i := range n {
		a, kind, b := entry(i)
		newRule(&rules[next[owner[i]]], kind, a, b, i)
		next[owner[i]]++
	}
	refs := ruleRefs{free: make([]*Rule, n)}
	at := 0
	for _, pi := range byNumber {
		for j := at; j < at+pi.size; j++ {
			pi.add(&rules[j], &refs)
		}
		at += pi.size
		pi.finish()
	}
	return rules
}

// validatePolicy checks every entry and reports all problems at once, so
// that an operator fixes a policy in one round.
func validatePolicy(p Policy) error {
	var problems []error
	for i, a := range p.ACLs {
		if err := a.Validate(); err != nil {
			problems = append(problems, fmt.Errorf("acls[%d] %s: %w", i, a, err))
		}
	}
	for i, b := range p.RoleBindings {
		if err := b.Validate(); err != nil {
			problems = append(problems, fmt.Errorf("role_bindings[%d] %s: %w", i, b, err))
		}
	}
	for i, u := range p.SuperUsers {
		switch {
		case u == WildcardPrincipal:
			// Kafka would take it literally and match no real client;
			// whoever wrote it most likely meant something else.
			problems = append(problems, fmt.Errorf("super_users[%d] %q: the wildcard principal cannot be a super user", i, u))
		case !ValidPrincipal(u):
			problems = append(problems, fmt.Errorf("super_users[%d] %q: want User:<name>", i, u))
		}
	}
	if len(problems) > 0 {
		return &PolicyError{Problems: problems}
	}
	return nil
}

// newRule fills r, which lives in the table's rule slice.
func newRule(r *Rule, kind RuleKind, a ACL, b *RoleBinding, seq int) {
	*r = Rule{
		Kind: kind, ACL: a, Binding: b,
		host: canonicalHost(a.Host),
		ops:  matchedOps(&a),
		seq:  int32(seq),
	}
}

// aclText is prefix followed by ACL.String, built without fmt and in one
// allocation.
func aclText(prefix string, a ACL) string {
	return prefix + "(principal=" + a.Principal + ", host=" + a.Host +
		", resource=" + enumName(resourceNameTable[:], a.ResourceType) + ":" + enumName(patternNameTable[:], a.Pattern) + ":" + a.Name +
		", operation=" + enumName(operationNameTable[:], a.Operation) + ", permission=" + enumName(permissionNameTable[:], a.Permission) + ")"
}

// The names of model.go's maps as arrays indexed by wire code, for
// formatting without map lookups. Built once, never changed.
var (
	resourceNameTable   = nameTable(resourceNames)
	operationNameTable  = nameTable(operationNames)
	patternNameTable    = nameTable(patternNames)
	permissionNameTable = nameTable(permissionNames)
)

func nameTable[K ~int8](names map[K]string) (t [16]string) {
	for k, n := range names {
		t[k] = n
	}
	return t
}

func enumName[K ~int8](table []string, k K) string {
	if k >= 0 && int(k) < len(table) && table[k] != "" {
		return table[k]
	}
	return fmt.Sprintf("Unknown(%d)", int8(k))
}

// canonicalHost puts an IP address in one textual form, so that an ACL for
// "::ffff:10.0.0.1" or "0:0:0:0:0:0:0:1" matches the client addresses Go
// renders as "10.0.0.1" and "::1". A port, if any, is dropped. Anything
// that is not an address (such as "*") is returned as it is.
func canonicalHost(h string) string {
	if h == Wildcard {
		return h
	}
	if a, err := netip.ParseAddr(h); err == nil {
		return a.Unmap().WithZone("").String()
	}
	if ap, err := netip.ParseAddrPort(h); err == nil {
		return ap.Addr().Unmap().WithZone("").String()
	}
	return h
}

// Version is the policy version the Authorizer gave the table; 0 for a
// table made by Compile alone.
func (t *Table) Version() uint64 { return t.version }

// Stats describes the compiled policy.
func (t *Table) Stats() Stats { return t.stats }

// MemoMisses counts decisions computed because the memo did not hold them,
// across every table of the Authorizer that compiled t.
func (t *Table) MemoMisses() uint64 { return t.misses.Load() }

// Subject returns the decision handle for a client: principal as
// authenticated ("User:sa-…") and host the client's IP address. It is the
// cold path, meant to be called once per connection and again when the
// Authorizer's table changes. Connections of the same principal (and, when
// the policy names specific hosts, the same host) share one Subject, and
// so one memo.
func (t *Table) Subject(principal, host string) *Subject {
	host = canonicalHost(host)
	own, everyone := t.principals[principal], t.principals[WildcardPrincipal]
	if !namesHost(own, host) && !namesHost(everyone, host) {
		// No rule of this client names its host: every such host
		// decides alike, so they share one Subject.
		host = ""
	}
	key := subjectKey{principal, host}
	t.mu.Lock()
	defer t.mu.Unlock()
	if s, ok := t.subjects[key]; ok {
		return s
	}
	s := &Subject{table: t, principal: principal, host: host, seed: t.seed}
	_, s.super = t.superUsers[principal]
	for _, pi := range []*principalIndex{own, everyone} {
		if pi != nil && !slices.Contains(s.indexes, pi) {
			s.indexes = append(s.indexes, pi)
		}
	}
	if len(t.subjects) < maxCachedSubjects {
		t.subjects[key] = s
	}
	return s
}

// Reserved reports whether the topic name is one that no client may see
// or touch, super users included: the proxy's own state topic.
func (t *Table) Reserved(topic string) bool {
	for _, r := range t.reserved {
		if topic == r {
			return true
		}
	}
	return false
}

// ReservesACL reports whether a is an ACL on a reserved topic: a LITERAL
// ACL naming it, or a PREFIXED one whose prefix covers it. Such ACLs are
// refused, so that nobody appears to grant access to the proxy's state.
// LITERAL "*" ACLs are not: they are the everyday "every topic", and the
// reserved topics stay closed whatever ACLs say.
func (t *Table) ReservesACL(a ACL) bool { return ReservesACL(a, t.reserved) }

// ReservesACL reports whether a is an ACL on one of the reserved topics,
// as Table.ReservesACL does.
func ReservesACL(a ACL, reserved []string) bool {
	if a.ResourceType != ResourceTopic {
		return false
	}
	for _, r := range reserved {
		if (a.Pattern == PatternLiteral && a.Name == r) || (a.Pattern == PatternPrefixed && strings.HasPrefix(r, a.Name)) {
			return true
		}
	}
	return false
}

func namesHost(pi *principalIndex, host string) bool {
	if pi == nil {
		return false
	}
	_, ok := pi.hosts[host]
	return ok
}
