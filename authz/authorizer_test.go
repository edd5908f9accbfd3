package authz

import (
	"errors"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

func gather(t *testing.T, reg *prometheus.Registry) map[string]*dto.Metric {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]*dto.Metric{}
	for _, f := range families {
		for _, m := range f.GetMetric() {
			name := f.GetName()
			for _, l := range m.GetLabel() {
				name += "{" + l.GetName() + "=" + l.GetValue() + "}"
			}
			out[name] = m
		}
	}
	return out
}

func TestAuthorizerUpdate(t *testing.T) {
	reg := prometheus.NewRegistry()
	readT := Policy{ACLs: []ACL{topicACL(alice, "t", OpRead)}}
	a, err := NewAuthorizer(readT, WithRegisterer(reg))
	if err != nil {
		t.Fatal(err)
	}
	t1 := a.Load()
	s1 := a.Subject(nil, alice, host1)
	if t1.Version() != 1 || s1.Table() != t1 || !s1.Authorize(ResourceTopic, "t", OpRead).Allowed {
		t.Fatalf("first policy: version %d, want 1 and t readable", t1.Version())
	}
	if a.Subject(s1, alice, host1) != s1 {
		t.Error("Subject replaced a Subject of the current table")
	}

	if err := a.Update(Policy{}); err != nil {
		t.Fatal(err)
	}
	if a.Load().Version() != 2 {
		t.Fatalf("version %d after an update, want 2", a.Load().Version())
	}
	// A connection still holding the old Subject decides by the old
	// table until it asks for the current one.
	if !s1.Authorize(ResourceTopic, "t", OpRead).Allowed {
		t.Error("the old table changed")
	}
	s2 := a.Subject(s1, alice, host1)
	if s2 == s1 || s2.Authorize(ResourceTopic, "t", OpRead).Allowed {
		t.Error("the new policy is not in force for a refreshed Subject")
	}

	bad := Policy{ACLs: []ACL{{Principal: alice}}}
	err = a.Update(bad)
	var pe *PolicyError
	if !errors.As(err, &pe) || a.Load().Version() != 2 {
		t.Fatalf("invalid policy: err %v, version %d; want a PolicyError and version 2 kept", err, a.Load().Version())
	}

	m := gather(t, reg)
	for name, want := range map[string]float64{
		"kafka_auth_proxy_authz_policy_version":                        2,
		"kafka_auth_proxy_authz_policy_acls":                           0,
		"kafka_auth_proxy_authz_policy_principals":                     0,
		"kafka_auth_proxy_authz_policy_updates_total{outcome=success}": 2,
		"kafka_auth_proxy_authz_policy_updates_total{outcome=failure}": 1,
		"kafka_auth_proxy_authz_memo_misses_total":                     2, // t on table 1 (asked twice), t on table 2
	} {
		got, ok := m[name]
		if !ok {
			t.Errorf("metric %s missing", name)
			continue
		}
		v := got.GetGauge().GetValue() + got.GetCounter().GetValue()
		if v != want {
			t.Errorf("%s = %v, want %v", name, v, want)
		}
	}
	if h := m["kafka_auth_proxy_authz_policy_rebuild_seconds"]; h == nil || h.GetHistogram().GetSampleCount() != 2 {
		t.Errorf("rebuild histogram %v, want 2 samples", h)
	}

	if _, err := NewAuthorizer(bad); err == nil {
		t.Error("NewAuthorizer accepted an invalid policy")
	}
	if _, err := NewAuthorizer(readT, WithRegisterer(nil)); err != nil {
		t.Errorf("NewAuthorizer without a registerer: %v", err)
	}
}

// Many goroutines decide while the policy flips between allowing and
// denying; each decision must agree with the table it was made on. Run
// with -race.
func TestAuthorizerConcurrentUpdates(t *testing.T) {
	allowT := Policy{ACLs: []ACL{topicACL(alice, "t", OpRead), topicACL(WildcardPrincipal, "shared", OpRead)}}
	denyT := Policy{ACLs: []ACL{topicACL(WildcardPrincipal, "shared", OpRead)}}
	a, err := NewAuthorizer(allowT) // version 1: odd versions allow
	if err != nil {
		t.Fatal(err)
	}
	var stop atomic.Bool
	var wg sync.WaitGroup
	var decisions atomic.Int64
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var s *Subject
			for i := 0; !stop.Load() || i < 1000; i++ {
				s = a.Subject(s, alice, host1)
				wantAllowed := s.Table().Version()%2 == 1
				if d := s.Authorize(ResourceTopic, "t", OpRead); d.Allowed != wantAllowed {
					t.Errorf("goroutine %d: allowed=%v on version %d", g, d.Allowed, s.Table().Version())
					return
				}
				if !s.Authorize(ResourceTopic, "shared", OpRead).Allowed {
					t.Errorf("goroutine %d: shared topic denied", g)
					return
				}
				decisions.Add(2)
			}
		}()
	}
	// Keep swapping until the readers have made plenty of decisions, so
	// that swaps and decisions overlap however the goroutines are
	// scheduled.
	updates := 0
	for ; updates < 200 || decisions.Load() < 200_000; updates++ {
		p := denyT
		if updates%2 == 1 {
			p = allowT
		}
		if err := a.Update(p); err != nil {
			t.Fatal(err)
		}
	}
	stop.Store(true)
	wg.Wait()
	if v := a.Load().Version(); v != uint64(1+updates) {
		t.Errorf("version %d after %d updates, want %d", v, updates, 1+updates)
	}
	t.Logf("%d decisions, %d memo misses", decisions.Load(), a.Load().MemoMisses())
}
