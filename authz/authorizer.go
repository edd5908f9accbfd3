package authz

import (
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Authorizer holds the current decision Table and replaces it when the
// policy changes. Readers never wait: a connection that loaded the old
// table finishes its decisions on it, the next Load sees the new one, and
// the new table's Subjects start with empty memos, so no stale decision
// survives a policy change.
type Authorizer struct {
	current atomic.Pointer[Table]
	// misses is shared by every table the Authorizer compiles, so the
	// exported counter never goes backwards when tables are swapped.
	misses atomic.Uint64

	mu      sync.Mutex // serialises Update, so versions follow call order
	version uint64

	metrics *authzMetrics
}

// Option configures an Authorizer.
type Option func(*authorizerOptions)

type authorizerOptions struct {
	reg prometheus.Registerer
}

// WithRegisterer registers the Authorizer's metrics with reg. Without it
// (or with nil) the metrics are kept but not exported.
func WithRegisterer(reg prometheus.Registerer) Option {
	return func(o *authorizerOptions) { o.reg = reg }
}

// NewAuthorizer compiles p as policy version 1.
func NewAuthorizer(p Policy, opts ...Option) (*Authorizer, error) {
	var o authorizerOptions
	for _, opt := range opts {
		opt(&o)
	}
	a := new(Authorizer)
	a.metrics = newAuthzMetrics(a)
	if err := a.Update(p); err != nil {
		return nil, err
	}
	if o.reg != nil {
		a.metrics.register(o.reg)
	}
	return a, nil
}

// Load returns the current table.
func (a *Authorizer) Load() *Table { return a.current.Load() }

// Subject returns prev if it belongs to the current table, and otherwise
// the current table's Subject for principal and host. A connection calls
// it before each request, passing the Subject it got last time (nil at
// first) for the same principal and host: one atomic load when nothing
// changed, and a policy change is picked up at the next request.
func (a *Authorizer) Subject(prev *Subject, principal, host string) *Subject {
	t := a.current.Load()
	if prev != nil && prev.table == t {
		return prev
	}
	return t.Subject(principal, host)
}

// Update compiles p and, if it is valid, makes it the current policy with
// the next version. An invalid policy leaves the current one in force.
func (a *Authorizer) Update(p Policy) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	start := time.Now()
	t, err := compile(p, &a.misses)
	if err != nil {
		a.metrics.updates.WithLabelValues(outcomeFailure).Inc()
		return fmt.Errorf("policy version %d not applied: %w", a.version+1, err)
	}
	a.version++
	t.version = a.version // set before publishing; never written again
	a.current.Store(t)
	a.metrics.published(t, time.Since(start))
	return nil
}

const (
	outcomeSuccess = "success"
	outcomeFailure = "failure"
)

// authzMetrics are the Authorizer's Prometheus series. Decisions are
// counted by the callers, which know the API and outcome; the Authorizer
// reports the policy and the memo.
type authzMetrics struct {
	version    prometheus.Gauge
	rebuild    prometheus.Histogram
	rules      prometheus.Gauge
	principals prometheus.Gauge
	updates    *prometheus.CounterVec
	misses     prometheus.CounterFunc
}

func newAuthzMetrics(a *Authorizer) *authzMetrics {
	const ns, sub = "kafka_auth_proxy", "authz"
	m := &authzMetrics{
		version: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: ns, Subsystem: sub, Name: "policy_version",
			Help: "Version of the authorization policy in force; it goes up by one with each applied change.",
		}),
		rebuild: prometheus.NewHistogram(prometheus.HistogramOpts{
			Namespace: ns, Subsystem: sub, Name: "policy_rebuild_seconds",
			Help:    "Time to validate a policy and compile its decision table.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5},
		}),
		rules: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: ns, Subsystem: sub, Name: "policy_acls",
			Help: "ACLs in force, including the grants expanded from role bindings.",
		}),
		principals: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: ns, Subsystem: sub, Name: "policy_principals",
			Help: "Distinct principals (User:* included) that ACLs or role bindings name.",
		}),
		updates: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: ns, Subsystem: sub, Name: "policy_updates_total",
			Help: "Attempts to apply a policy, by outcome (failure: the policy was invalid and the previous one stayed in force).",
		}, []string{"outcome"}),
		misses: prometheus.NewCounterFunc(prometheus.CounterOpts{
			Namespace: ns, Subsystem: sub, Name: "memo_misses_total",
			Help: "Authorization decisions computed from the policy because the decision memo did not hold them; memo hits are decisions minus misses.",
		}, func() float64 { return float64(a.misses.Load()) }),
	}
	// Export both outcomes from the start, at zero, so alerts on failures
	// work before the first one.
	m.updates.WithLabelValues(outcomeSuccess)
	m.updates.WithLabelValues(outcomeFailure)
	return m
}

func (m *authzMetrics) register(reg prometheus.Registerer) {
	reg.MustRegister(m.version, m.rebuild, m.rules, m.principals, m.updates, m.misses)
}

func (m *authzMetrics) published(t *Table, took time.Duration) {
	m.updates.WithLabelValues(outcomeSuccess).Inc()
	m.version.Set(float64(t.version))
	m.rebuild.Observe(took.Seconds())
	m.rules.Set(float64(t.stats.Rules))
	m.principals.Set(float64(t.stats.Principals))
}
