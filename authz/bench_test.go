package authz

import (
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
)

// Budgets (DESIGN.md): a memoised decision ≤ 25 ns and 0 allocations with
// 100k ACLs loaded; a cold decision ≤ 2 µs; compiling 100k ACLs ≤ 200 ms.
//
//	go test -run '^$' -bench . -benchmem ./authz/

var (
	benchDomains = []string{"orders", "payments", "users", "inventory", "shipping", "billing", "audit", "clicks"}
	benchRegions = []string{"eu", "us", "ap", "sa"}
	benchOps     = []Operation{OpRead, OpWrite, OpDescribe, OpDescribeConfigs, OpAll}
)

const (
	benchACLs       = 100_000
	benchPrincipals = 5_000
	benchPrincipal  = "User:sa-00042"
)

func benchTopic(r *rand.Rand) string {
	return fmt.Sprintf("%s-%s-%d", pick(r, benchDomains), pick(r, benchRegions), r.IntN(1000))
}

// benchPolicy is 100k ACLs and grants over 5,000 service accounts, mixing
// literal and prefixed topics, groups and transactional ids, some DENYs,
// a few hundred User:* ACLs and a thousand role bindings (each expanding
// to two grants).
var benchPolicy = sync.OnceValue(func() Policy {
	r := rand.New(rand.NewPCG(42, 42))
	var p Policy
	principal := func() string { return fmt.Sprintf("User:sa-%05d", r.IntN(benchPrincipals)) }
	for range 1000 {
		p.RoleBindings = append(p.RoleBindings, RoleBinding{
			Principal: principal(), Role: RoleDeveloperRead, ResourceType: ResourceTopic,
			Pattern: PatternPrefixed, Name: pick(r, benchDomains) + "-" + pick(r, benchRegions) + "-",
		})
	}
	for i := 0; len(p.ACLs) < benchACLs-2*len(p.RoleBindings); i++ {
		a := ACL{Principal: principal(), Host: Wildcard, Operation: pick(r, benchOps), Permission: PermissionAllow}
		if i%300 == 0 {
			a.Principal = WildcardPrincipal
		}
		if r.IntN(20) == 0 {
			a.Permission = PermissionDeny
		}
		if r.IntN(50) == 0 {
			a.Host = fmt.Sprintf("10.%d.%d.%d", r.IntN(256), r.IntN(256), r.IntN(256))
		}
		switch n := r.IntN(10); {
		case n < 5:
			a.ResourceType, a.Pattern, a.Name = ResourceTopic, PatternLiteral, benchTopic(r)
		case n < 7:
			a.ResourceType, a.Pattern = ResourceTopic, PatternPrefixed
			a.Name = pick(r, benchDomains) + "-" + pick(r, benchRegions) + "-" + fmt.Sprint(r.IntN(10))
		case n < 9:
			a.ResourceType, a.Pattern, a.Name = ResourceGroup, PatternLiteral, "cg-"+benchTopic(r)
		default:
			a.ResourceType, a.Pattern, a.Name = ResourceTransactionalID, PatternPrefixed, "tx-"+pick(r, benchDomains)
		}
		p.ACLs = append(p.ACLs, a)
	}
	return p
})

var benchTable = sync.OnceValue(func() *Table {
	t, err := Compile(benchPolicy())
	if err != nil {
		panic(err)
	}
	if n := t.Stats().Rules; n != benchACLs {
		panic(fmt.Sprintf("bench policy has %d rules, want %d", n, benchACLs))
	}
	return t
})

// benchNames are the topics a client of benchPrincipal works with.
func benchNames(n int) []string {
	r := rand.New(rand.NewPCG(7, 7))
	names := make([]string, n)
	for i := range names {
		names[i] = benchTopic(r)
	}
	return names
}

func BenchmarkAuthorizeMemoised(b *testing.B) {
	t := benchTable()
	s := t.Subject(benchPrincipal, "10.1.2.3")
	names := benchNames(64)
	for _, n := range names { // warm the memo
		s.Authorize(ResourceTopic, n, OpRead)
		s.Authorize(ResourceTopic, n, OpDescribe)
	}
	ops := [2]Operation{OpRead, OpDescribe}
	b.ReportAllocs()
	misses := t.MemoMisses()
	b.ResetTimer()
	i := 0
	for b.Loop() {
		s.Authorize(ResourceTopic, names[i&63], ops[(i>>6)&1])
		i++
	}
	b.StopTimer()
	b.ReportMetric(float64(t.MemoMisses()-misses)/float64(i), "misses/op")
}

// BenchmarkAuthorizeMemoisedParallel shows that hits do not contend: all
// goroutines share one Subject, as a principal's connections do.
func BenchmarkAuthorizeMemoisedParallel(b *testing.B) {
	s := benchTable().Subject(benchPrincipal, "10.1.2.3")
	names := benchNames(64)
	for _, n := range names {
		s.Authorize(ResourceTopic, n, OpRead)
	}
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			s.Authorize(ResourceTopic, names[i&63], OpRead)
			i++
		}
	})
}

// BenchmarkAuthorizeCold cycles through far more names than the memo
// holds, so that every decision is computed and stored anew.
func BenchmarkAuthorizeCold(b *testing.B) {
	t := benchTable()
	s := t.Subject(benchPrincipal, "10.1.2.3")
	names := benchNames(1 << 16)
	b.ReportAllocs()
	misses := t.MemoMisses()
	b.ResetTimer()
	i := 0
	for b.Loop() {
		s.Authorize(ResourceTopic, names[i&(1<<16-1)], OpRead)
		i++
	}
	b.StopTimer()
	b.ReportMetric(float64(t.MemoMisses()-misses)/float64(i), "misses/op")
}

// BenchmarkAuthorizeAnyCold is Kafka's authorizeByResourceType without the
// memo: what an idempotent producer's InitProducerId costs the first time.
func BenchmarkAuthorizeAnyCold(b *testing.B) {
	s := benchTable().Subject(benchPrincipal, "10.1.2.3")
	b.ReportAllocs()
	for b.Loop() {
		s.decideAny(ResourceTopic, OpWrite)
	}
}

func BenchmarkCompile100k(b *testing.B) {
	p := benchPolicy()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Compile(p); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkSubject(b *testing.B) {
	t := benchTable()
	b.ReportAllocs()
	for b.Loop() {
		t.Subject(benchPrincipal, "10.1.2.3")
	}
}
