package authz

import (
	"errors"
	"strconv"
	"strings"
	"testing"
	"unsafe"
)

const (
	alice = "User:sa-alice"
	bob   = "User:sa-bob"
	host1 = "10.0.0.1"
	host2 = "10.0.0.2"
)

func allowACL(principal string, rt ResourceType, pattern PatternType, name string, op Operation) ACL {
	return ACL{Principal: principal, Host: Wildcard, ResourceType: rt, Name: name, Pattern: pattern, Operation: op, Permission: PermissionAllow}
}

func denyACL(principal string, rt ResourceType, pattern PatternType, name string, op Operation) ACL {
	a := allowACL(principal, rt, pattern, name, op)
	a.Permission = PermissionDeny
	return a
}

func onHost(a ACL, host string) ACL { a.Host = host; return a }

func topicACL(principal, name string, op Operation) ACL {
	return allowACL(principal, ResourceTopic, PatternLiteral, name, op)
}

func mustCompile(t testing.TB, p Policy) *Table {
	t.Helper()
	tbl, err := Compile(p)
	if err != nil {
		t.Fatalf("Compile: %v", err)
	}
	return tbl
}

// question is one authorization request; the zero principal and host mean
// alice on host1.
type question struct {
	principal, host string
	rt              ResourceType
	name            string
	op              Operation
}

func (q question) ask(tbl *Table) Decision {
	if q.principal == "" {
		q.principal = alice
	}
	if q.host == "" {
		q.host = host1
	}
	return tbl.Subject(q.principal, q.host).Authorize(q.rt, q.name, q.op)
}

func askTopic(name string, op Operation) question {
	return question{rt: ResourceTopic, name: name, op: op}
}

func TestDecisions(t *testing.T) {
	type check struct {
		q     question
		allow bool
		kind  RuleKind
	}
	allowed := func(q question) check { return check{q, true, RuleACL} }
	denied := func(q question) check { return check{q, false, RuleDefaultDeny} }
	deniedBy := func(q question) check { return check{q, false, RuleACL} }
	as := func(principal string, q question) question { q.principal = principal; return q }
	from := func(host string, q question) question { q.host = host; return q }

	tests := []struct {
		name   string
		policy Policy
		checks []check
	}{
		{"nothing is allowed without ACLs", Policy{}, []check{
			denied(askTopic("orders", OpRead)),
			denied(question{rt: ResourceCluster, name: ClusterName, op: OpDescribe}),
		}},
		{"an ALLOW grants its operation and no other",
			Policy{ACLs: []ACL{topicACL(alice, "orders", OpRead)}}, []check{
				allowed(askTopic("orders", OpRead)),
				denied(askTopic("orders", OpWrite)),
				denied(askTopic("orders", OpDescribeConfigs)),
			}},
		{"ALLOW on Read, Write, Delete or Alter implies Describe", Policy{ACLs: []ACL{
			topicACL(alice, "r", OpRead), topicACL(alice, "w", OpWrite),
			topicACL(alice, "d", OpDelete), topicACL(alice, "a", OpAlter),
			topicACL(alice, "c", OpCreate), topicACL(alice, "ac", OpAlterConfigs),
		}}, []check{
			allowed(askTopic("r", OpDescribe)), allowed(askTopic("w", OpDescribe)),
			allowed(askTopic("d", OpDescribe)), allowed(askTopic("a", OpDescribe)),
			denied(askTopic("c", OpDescribe)),
			denied(askTopic("r", OpDescribeConfigs)),
		}},
		{"ALLOW on AlterConfigs implies DescribeConfigs but not Describe",
			Policy{ACLs: []ACL{topicACL(alice, "t", OpAlterConfigs)}}, []check{
				allowed(askTopic("t", OpDescribeConfigs)),
				denied(askTopic("t", OpDescribe)),
			}},
		{"Describe implies nothing else",
			Policy{ACLs: []ACL{topicACL(alice, "t", OpDescribe)}}, []check{
				denied(askTopic("t", OpRead)),
				denied(askTopic("t", OpDescribeConfigs)),
			}},
		{"ALLOW All grants every operation", Policy{ACLs: []ACL{
			topicACL(alice, "t", OpAll),
			allowACL(alice, ResourceCluster, PatternLiteral, ClusterName, OpAll),
		}}, []check{
			allowed(askTopic("t", OpRead)), allowed(askTopic("t", OpAlterConfigs)), allowed(askTopic("t", OpDescribe)),
			allowed(question{rt: ResourceCluster, name: ClusterName, op: OpIdempotentWrite}),
			allowed(question{rt: ResourceCluster, name: ClusterName, op: OpClusterAction}),
		}},
		{"a DENY wins over any ALLOW", Policy{ACLs: []ACL{
			topicACL(alice, "t", OpAll),
			denyACL(alice, ResourceTopic, PatternLiteral, "t", OpWrite),
		}}, []check{
			deniedBy(askTopic("t", OpWrite)),
			allowed(askTopic("t", OpRead)),
		}},
		{"a DENY implies nothing: DENY Read leaves an allowed Describe", Policy{ACLs: []ACL{
			topicACL(alice, "t", OpRead),
			denyACL(alice, ResourceTopic, PatternLiteral, "t", OpRead),
			topicACL(alice, "t", OpDescribe),
		}}, []check{
			deniedBy(askTopic("t", OpRead)),
			allowed(askTopic("t", OpDescribe)),
		}},
		{"a DENY Describe wins over the Describe a Read implies", Policy{ACLs: []ACL{
			topicACL(alice, "t", OpRead),
			denyACL(alice, ResourceTopic, PatternLiteral, "t", OpDescribe),
		}}, []check{
			deniedBy(askTopic("t", OpDescribe)),
			allowed(askTopic("t", OpRead)),
		}},
		{"DENY All denies every operation", Policy{ACLs: []ACL{
			topicACL(alice, "t", OpAll),
			denyACL(alice, ResourceTopic, PatternLiteral, "t", OpAll),
		}}, []check{
			deniedBy(askTopic("t", OpRead)), deniedBy(askTopic("t", OpDescribe)),
		}},
		{"a DENY on a prefix wins over an ALLOW on the literal name", Policy{ACLs: []ACL{
			topicACL(alice, "orders-eu", OpRead),
			denyACL(alice, ResourceTopic, PatternPrefixed, "orders-", OpRead),
		}}, []check{
			deniedBy(askTopic("orders-eu", OpRead)),
		}},
		{"PREFIXED matches the names that start with the prefix, the prefix itself included",
			Policy{ACLs: []ACL{allowACL(alice, ResourceTopic, PatternPrefixed, "orders-", OpRead)}}, []check{
				allowed(askTopic("orders-", OpRead)),
				allowed(askTopic("orders-eu-123", OpRead)),
				denied(askTopic("orders", OpRead)),
				denied(askTopic("xorders-eu", OpRead)),
			}},
		{"prefixes of several lengths all apply", Policy{ACLs: []ACL{
			allowACL(alice, ResourceTopic, PatternPrefixed, "o", OpRead),
			allowACL(alice, ResourceTopic, PatternPrefixed, "orders-eu-", OpWrite),
			allowACL(alice, ResourceTopic, PatternPrefixed, "orders-us-", OpDelete),
		}}, []check{
			allowed(askTopic("orders-eu-1", OpRead)), allowed(askTopic("orders-eu-1", OpWrite)),
			denied(askTopic("orders-eu-1", OpDelete)), denied(askTopic("orders-eu", OpWrite)),
		}},
		{"LITERAL matches the exact name only",
			Policy{ACLs: []ACL{topicACL(alice, "orders", OpRead)}}, []check{
				denied(askTopic("orders-eu", OpRead)),
				denied(askTopic("Orders", OpRead)),
				denied(askTopic("order", OpRead)),
			}},
		{"LITERAL * matches every name, PREFIXED * only names starting with *", Policy{ACLs: []ACL{
			topicACL(alice, Wildcard, OpRead),
			allowACL(alice, ResourceTopic, PatternPrefixed, Wildcard, OpWrite),
		}}, []check{
			allowed(askTopic("anything", OpRead)),
			denied(askTopic("anything", OpWrite)),
			allowed(askTopic("*star", OpWrite)),
		}},
		{"ACLs apply to their resource type only", Policy{ACLs: []ACL{topicACL(alice, "x", OpAll)}}, []check{
			allowed(askTopic("x", OpRead)),
			denied(question{rt: ResourceGroup, name: "x", op: OpRead}),
			denied(question{rt: ResourceTransactionalID, name: "x", op: OpWrite}),
		}},
		{"ACLs apply to their principal only", Policy{ACLs: []ACL{topicACL(bob, "t", OpRead)}}, []check{
			denied(askTopic("t", OpRead)),
			allowed(as(bob, askTopic("t", OpRead))),
		}},
		{"User:* ALLOW applies to everyone", Policy{ACLs: []ACL{topicACL(WildcardPrincipal, "public", OpRead)}}, []check{
			allowed(askTopic("public", OpRead)),
			allowed(as("User:pool-x", askTopic("public", OpRead))),
		}},
		{"User:* DENY wins over a principal's own ALLOW", Policy{ACLs: []ACL{
			topicACL(alice, "t", OpRead),
			denyACL(WildcardPrincipal, ResourceTopic, PatternLiteral, "t", OpRead),
		}}, []check{
			deniedBy(askTopic("t", OpRead)),
		}},
		{"a host-specific ACL applies to that host only", Policy{ACLs: []ACL{
			onHost(topicACL(alice, "t", OpRead), host1),
			onHost(topicACL(alice, "t", OpWrite), Wildcard),
		}}, []check{
			allowed(from(host1, askTopic("t", OpRead))),
			denied(from(host2, askTopic("t", OpRead))),
			allowed(from(host2, askTopic("t", OpWrite))),
		}},
		{"a host-specific DENY applies to that host only", Policy{ACLs: []ACL{
			topicACL(alice, "t", OpRead),
			onHost(denyACL(alice, ResourceTopic, PatternLiteral, "t", OpRead), host2),
		}}, []check{
			allowed(from(host1, askTopic("t", OpRead))),
			deniedBy(from(host2, askTopic("t", OpRead))),
		}},
		{"hosts compare as addresses, not as text", Policy{ACLs: []ACL{
			onHost(topicACL(alice, "v6", OpRead), "0:0:0:0:0:0:0:1"),
			onHost(topicACL(alice, "v4", OpRead), "::ffff:10.0.0.9"),
		}}, []check{
			allowed(from("::1", askTopic("v6", OpRead))),
			allowed(from("10.0.0.9", askTopic("v4", OpRead))),
			denied(from("10.0.0.8", askTopic("v4", OpRead))),
		}},
		{"super users skip every check", Policy{
			SuperUsers: []string{"User:admin"},
			ACLs:       []ACL{denyACL(WildcardPrincipal, ResourceTopic, PatternLiteral, Wildcard, OpAll)},
		}, []check{
			{as("User:admin", askTopic("t", OpDelete)), true, RuleSuperUser},
			{as("User:admin", question{rt: ResourceCluster, name: ClusterName, op: OpAlter}), true, RuleSuperUser},
			deniedBy(askTopic("t", OpRead)),
		}},
		{"role bindings grant like ALLOW ACLs", Policy{Cluster: "lkc-1", RoleBindings: []RoleBinding{
			{Principal: alice, Role: RoleDeveloperRead, Cluster: "lkc-1", ResourceType: ResourceTopic, Pattern: PatternPrefixed, Name: "orders-"},
			{Principal: alice, Role: RoleMetricsViewer},
		}}, []check{
			{askTopic("orders-eu", OpRead), true, RuleRoleBinding},
			{askTopic("orders-eu", OpDescribe), true, RuleRoleBinding},
			denied(askTopic("orders-eu", OpWrite)),
			{question{rt: ResourceCluster, name: ClusterName, op: OpDescribeConfigs}, true, RuleRoleBinding},
		}},
		{"role bindings of another cluster do not apply", Policy{Cluster: "lkc-1", RoleBindings: []RoleBinding{
			{Principal: alice, Role: RoleCloudClusterAdmin, Cluster: "lkc-2"},
		}}, []check{
			denied(askTopic("t", OpRead)),
			denied(question{rt: ResourceCluster, name: ClusterName, op: OpDescribe}),
		}},
		{"a DENY ACL wins over a role binding", Policy{
			RoleBindings: []RoleBinding{{Principal: alice, Role: RoleResourceOwner, ResourceType: ResourceTopic, Pattern: PatternLiteral, Name: "t"}},
			ACLs:         []ACL{denyACL(alice, ResourceTopic, PatternLiteral, "t", OpDelete)},
		}, []check{
			deniedBy(askTopic("t", OpDelete)),
			{askTopic("t", OpAlter), true, RuleRoleBinding},
		}},
		{"allow_if_no_acl allows a resource no ACL matches", Policy{AllowIfNoACL: true, ACLs: []ACL{
			topicACL(bob, "bobs", OpRead),
			denyACL(bob, ResourceTopic, PatternLiteral, "denied", OpWrite),
			onHost(allowACL(bob, ResourceTopic, PatternPrefixed, "pre-", OpRead), host2),
			allowACL(bob, ResourceGroup, PatternLiteral, Wildcard, OpRead),
		}}, []check{
			{askTopic("free", OpWrite), true, RuleAllowIfNoACL},
			{question{rt: ResourceCluster, name: ClusterName, op: OpAlter}, true, RuleAllowIfNoACL},
			// Any ACL on the resource, of any principal, host, operation
			// or permission, turns the default back to deny.
			denied(askTopic("bobs", OpRead)),
			denied(askTopic("bobs", OpWrite)),
			denied(askTopic("denied", OpRead)),
			denied(askTopic("pre-1", OpRead)),
			denied(question{rt: ResourceGroup, name: "g", op: OpRead}),
			allowed(as(bob, askTopic("bobs", OpRead))),
		}},
		{"allow_if_no_acl counts role binding grants as ACLs", Policy{AllowIfNoACL: true, RoleBindings: []RoleBinding{
			{Principal: bob, Role: RoleDeveloperRead, ResourceType: ResourceTopic, Pattern: PatternLiteral, Name: "bobs"},
		}}, []check{
			denied(askTopic("bobs", OpRead)),
			{askTopic("other", OpRead), true, RuleAllowIfNoACL},
		}},
		{"questions no ACL can answer are denied", Policy{AllowIfNoACL: true, ACLs: []ACL{topicACL(alice, Wildcard, OpAll)}}, []check{
			denied(question{rt: ResourceAny, name: "t", op: OpRead}),
			denied(askTopic("t", OpAny)),
			denied(question{rt: 9, name: "t", op: OpRead}),
			denied(askTopic("t", 42)),
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tbl := mustCompile(t, tt.policy)
			for _, c := range tt.checks {
				for range 2 { // the second answer comes from the memo
					d := c.q.ask(tbl)
					if d.Allowed != c.allow || d.Rule == nil || d.Rule.Kind != c.kind {
						t.Fatalf("%+v: got allowed=%v by %v, want allowed=%v by %s", c.q, d.Allowed, d.Rule, c.allow, c.kind)
					}
					if d.Rule.Kind == RuleACL || d.Rule.Kind == RuleRoleBinding {
						if wantPerm := map[bool]Permission{true: PermissionAllow, false: PermissionDeny}[c.allow]; d.Rule.ACL.Permission != wantPerm {
							t.Fatalf("%+v: decided by %v, whose permission disagrees with the decision", c.q, d.Rule)
						}
					}
				}
			}
		})
	}
}

func TestDecisionNamesTheFirstMatchingRule(t *testing.T) {
	binding := RoleBinding{Principal: alice, Role: RoleDeveloperRead, ResourceType: ResourceTopic, Pattern: PatternPrefixed, Name: "t"}
	p := Policy{
		ACLs: []ACL{
			topicACL(alice, "x", OpRead),
			allowACL(alice, ResourceTopic, PatternPrefixed, "t", OpAll),
			topicACL(alice, "t1", OpRead),
			denyACL(WildcardPrincipal, ResourceTopic, PatternLiteral, "t2", OpRead),
			denyACL(alice, ResourceTopic, PatternLiteral, "t2", OpRead),
		},
		RoleBindings: []RoleBinding{binding},
	}
	tbl := mustCompile(t, p)
	s := tbl.Subject(alice, host1)

	d := s.Authorize(ResourceTopic, "t1", OpRead)
	if d.Rule.ACL != p.ACLs[1] || d.Rule.String() != "acl "+p.ACLs[1].String() {
		t.Errorf("t1: decided by %q, want the earliest matching ACL %s", d.Rule, p.ACLs[1])
	}
	d = s.Authorize(ResourceTopic, "t2", OpRead)
	if d.Allowed || d.Rule.ACL != p.ACLs[3] {
		t.Errorf("t2: decided by %q, want the earliest matching DENY %s", d.Rule, p.ACLs[3])
	}

	// A grant remembers its binding, for the audit log.
	tbl = mustCompile(t, Policy{RoleBindings: []RoleBinding{binding}})
	d = tbl.Subject(alice, host1).Authorize(ResourceTopic, "t3", OpDescribe)
	if !d.Allowed || d.Rule.Kind != RuleRoleBinding || d.Rule.Binding == nil || *d.Rule.Binding != binding {
		t.Fatalf("t3: decided by %+v, want a grant of %s", d.Rule, binding)
	}
	if want := "role_binding " + binding.String() + " grant "; !strings.HasPrefix(d.Rule.String(), want) {
		t.Errorf("rule text %q, want it to start with %q", d.Rule, want)
	}
}

func TestRuleTextMatchesACLString(t *testing.T) {
	for _, a := range []ACL{
		topicACL(alice, "orders", OpRead),
		onHost(denyACL(WildcardPrincipal, ResourceGroup, PatternPrefixed, "g-", OpAll), host1),
		allowACL(bob, ResourceCluster, PatternLiteral, ClusterName, OpIdempotentWrite),
	} {
		if got, want := aclText("", a), a.String(); got != want {
			t.Errorf("aclText = %q, want ACL.String %q", got, want)
		}
	}
}

func TestCompileReportsEveryProblem(t *testing.T) {
	p := Policy{
		ACLs: []ACL{
			topicACL(alice, "ok", OpRead),
			{Principal: alice, ResourceType: ResourceTopic, Name: "t", Pattern: PatternLiteral, Operation: OpRead, Permission: PermissionAllow},
			{Principal: "alice", Host: Wildcard, ResourceType: ResourceTopic, Name: "t", Pattern: PatternLiteral, Operation: OpRead, Permission: PermissionAllow},
		},
		RoleBindings: []RoleBinding{
			{Principal: alice, Role: "Superhero"},
			// Bindings for other clusters are still checked: the store
			// they come from is shared.
			{Principal: alice, Role: RoleDeveloperRead, Cluster: "elsewhere"},
		},
		SuperUsers: []string{"admin", WildcardPrincipal, "User:ok"},
		Cluster:    "lkc-1",
	}
	_, err := Compile(p)
	var pe *PolicyError
	if !errors.As(err, &pe) {
		t.Fatalf("Compile error %v, want a *PolicyError", err)
	}
	want := []string{
		"acls[1] ", "host is empty",
		"acls[2] ", `principal "alice"`,
		"role_bindings[0] ", `unknown role "Superhero"`,
		"role_bindings[1] ", "needs a resource",
		`super_users[0] "admin"`,
		`super_users[1] "User:*": the wildcard principal cannot be a super user`,
	}
	for _, w := range want {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error %q does not mention %q", err, w)
		}
	}
	if len(pe.Problems) != 6 {
		t.Errorf("%d problems, want 6: %v", len(pe.Problems), pe.Problems)
	}
}

func TestTableIsIndependentOfThePolicy(t *testing.T) {
	p := Policy{
		ACLs:         []ACL{topicACL(alice, "t", OpRead)},
		RoleBindings: []RoleBinding{{Principal: alice, Role: RoleMetricsViewer}},
	}
	tbl := mustCompile(t, p)
	p.ACLs[0].Name = "other"
	p.RoleBindings[0].Principal = bob
	s := tbl.Subject(alice, host1)
	if !s.Authorize(ResourceTopic, "t", OpRead).Allowed {
		t.Error("changing the policy's ACLs after Compile changed the table")
	}
	d := s.Authorize(ResourceCluster, ClusterName, OpDescribe)
	if !d.Allowed || d.Rule.Binding.Principal != alice {
		t.Error("changing the policy's bindings after Compile changed the table")
	}
}

func TestStats(t *testing.T) {
	tbl := mustCompile(t, Policy{
		Cluster: "lkc-1",
		ACLs: []ACL{
			topicACL(alice, "a", OpRead), topicACL(bob, "b", OpRead), topicACL(WildcardPrincipal, "c", OpRead),
		},
		RoleBindings: []RoleBinding{
			{Principal: "User:carol", Role: RoleOperator}, // 6 grants
			{Principal: alice, Role: RoleOperator, Cluster: "lkc-2"},
		},
		SuperUsers: []string{"User:admin"},
	})
	want := Stats{ACLs: 3, Grants: 6, Rules: 9, Bindings: 1, SkippedBindings: 1, Principals: 4, SuperUsers: 1}
	if got := tbl.Stats(); got != want {
		t.Errorf("Stats() = %+v, want %+v", got, want)
	}
	if tbl.Version() != 0 {
		t.Errorf("a table compiled alone has version %d, want 0", tbl.Version())
	}
}

func TestSubjectsAreShared(t *testing.T) {
	tbl := mustCompile(t, Policy{ACLs: []ACL{
		topicACL(alice, "t", OpRead),
		onHost(topicACL(bob, "t", OpRead), host1),
	}})
	if tbl.Subject(alice, host1) != tbl.Subject(alice, host2) {
		t.Error("alice's rules name no host: her connections from any host should share one Subject")
	}
	if tbl.Subject(bob, host1) == tbl.Subject(bob, host2) {
		t.Error("bob's rules name host1: his connections from host1 and host2 decide differently")
	}
	if tbl.Subject(bob, host2) != tbl.Subject(bob, "10.0.0.3") {
		t.Error("hosts no rule names decide alike and should share a Subject")
	}
	if tbl.Subject(alice, host1) == tbl.Subject(bob, host2) {
		t.Error("different principals must not share a Subject")
	}
	if got := tbl.Subject(alice, host1).Principal(); got != alice {
		t.Errorf("Principal() = %q", got)
	}

	// Past the cache bound, Subjects still work; they are just not shared.
	for i := range maxCachedSubjects + 10 {
		s := tbl.Subject("User:u-"+strconv.Itoa(i), host1)
		if s.Authorize(ResourceTopic, "t", OpRead).Allowed {
			t.Fatal("a stranger was allowed")
		}
	}
}

func TestMemo(t *testing.T) {
	tbl := mustCompile(t, Policy{ACLs: []ACL{topicACL(alice, "aaaa", OpRead)}})
	s := tbl.Subject(alice, host1)

	if !s.Authorize(ResourceTopic, "aaaa", OpRead).Allowed || tbl.MemoMisses() != 1 {
		t.Fatalf("first decision: misses = %d, want 1", tbl.MemoMisses())
	}
	if !s.Authorize(ResourceTopic, "aaaa", OpRead).Allowed || tbl.MemoMisses() != 1 {
		t.Fatalf("repeated decision: misses = %d, want it answered from the memo", tbl.MemoMisses())
	}
	// The key includes the type and operation.
	if s.Authorize(ResourceGroup, "aaaa", OpRead).Allowed || s.Authorize(ResourceTopic, "aaaa", OpWrite).Allowed {
		t.Fatal("the memo answered for another resource type or operation")
	}
	if tbl.MemoMisses() != 3 {
		t.Fatalf("misses = %d, want 3", tbl.MemoMisses())
	}

	// The memo must not keep the caller's string: it may alias a pooled
	// request buffer, which would pin the buffer and, once reused,
	// rewrite the key.
	s = mustCompile(t, Policy{ACLs: []ACL{topicACL(alice, "aaaa", OpRead)}}).Subject(alice, host1)
	buf := []byte("aaaa")
	if !s.Authorize(ResourceTopic, unsafe.String(&buf[0], len(buf)), OpRead).Allowed {
		t.Fatal("aaaa was denied")
	}
	found := false
	for i := range s.memo.Load().slots {
		if e := s.memo.Load().slots[i].Load(); e != nil {
			found = true
			if unsafe.StringData(e.name) == &buf[0] {
				t.Fatal("the memo keeps the caller's string as its key")
			}
		}
	}
	if !found {
		t.Fatal("the decision was not memoised")
	}
}

// Questions that hash to the same memo set all stay memoised, up to the
// set's size.
func TestMemoKeepsCollidingQuestions(t *testing.T) {
	tbl := mustCompile(t, Policy{ACLs: []ACL{topicACL(alice, Wildcard, OpRead)}})
	s := tbl.Subject(alice, host1)
	set := func(name string) uint64 {
		return questionHash(s.seed, ResourceTopic, name, OpRead) & (memoSize - 1) &^ (memoWays - 1)
	}
	names := []string{"t"}
	for i := 0; len(names) < memoWays; i++ {
		if n := "t" + strconv.Itoa(i); set(n) == set("t") {
			names = append(names, n)
		}
	}
	for range 3 {
		for _, n := range names {
			if !s.Authorize(ResourceTopic, n, OpRead).Allowed {
				t.Fatalf("%s denied", n)
			}
		}
	}
	if got := tbl.MemoMisses(); got != memoWays {
		t.Errorf("%d misses for %d questions of one memo set asked 3 times each, want %d", got, memoWays, memoWays)
	}
}

// A reserved topic is denied to everyone, super users and holders of
// All on every topic included, and the denial is remembered like any
// other; ACLs naming it are recognised so that they can be refused.
func TestReservedTopicsAreClosedToEveryone(t *testing.T) {
	const state = "_kafka_auth_proxy_state"
	tab, err := Compile(Policy{
		SuperUsers: []string{"User:root"},
		ACLs: []ACL{
			{Principal: "User:app", Host: Wildcard, ResourceType: ResourceTopic, Name: Wildcard, Pattern: PatternLiteral, Operation: OpAll, Permission: PermissionAllow},
			{Principal: "User:app", Host: Wildcard, ResourceType: ResourceTopic, Name: "_kafka", Pattern: PatternPrefixed, Operation: OpRead, Permission: PermissionAllow},
		},
		ReservedTopics: []string{state},
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, principal := range []string{"User:root", "User:app"} {
		s := tab.Subject(principal, "10.0.0.1")
		for range 2 { // the second answer comes from the memo
			for _, op := range []Operation{OpRead, OpWrite, OpDescribe, OpCreate, OpDelete, OpAlterConfigs} {
				if d := s.Authorize(ResourceTopic, state, op); d.Allowed || d.Rule.Kind != RuleReserved {
					t.Errorf("%s %s on the state topic: %+v, want a reserved denial", principal, op, d)
				}
			}
		}
		if d := s.Authorize(ResourceTopic, "orders", OpRead); !d.Allowed {
			t.Errorf("%s reading another topic: denied", principal)
		}
	}
	for _, tc := range []struct {
		acl  ACL
		want bool
	}{
		{ACL{ResourceType: ResourceTopic, Name: state, Pattern: PatternLiteral}, true},
		{ACL{ResourceType: ResourceTopic, Name: "_kafka", Pattern: PatternPrefixed}, true},
		{ACL{ResourceType: ResourceTopic, Name: "", Pattern: PatternPrefixed}, true},
		{ACL{ResourceType: ResourceTopic, Name: Wildcard, Pattern: PatternLiteral}, false},
		{ACL{ResourceType: ResourceTopic, Name: "orders", Pattern: PatternPrefixed}, false},
		{ACL{ResourceType: ResourceGroup, Name: state, Pattern: PatternLiteral}, false},
	} {
		if got := tab.ReservesACL(tc.acl); got != tc.want {
			t.Errorf("ReservesACL(%v) = %v, want %v", tc.acl, got, tc.want)
		}
	}
}
