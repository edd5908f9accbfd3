package proxy

import (
	"math/rand/v2"
	"net"
	"sync/atomic"

	"github.com/twmb/franz-go/pkg/kmsg"
	"go.uber.org/zap"

	"github.com/kafka-auth-proxy/kafka-auth-proxy/audit"
	"github.com/kafka-auth-proxy/kafka-auth-proxy/authz"
	"github.com/kafka-auth-proxy/kafka-auth-proxy/authz/enforce"
)

// Authorization is what the proxy needs to authorize client requests.
type Authorization struct {
	// Authorizer holds the decision table. Required when clients
	// authenticate: without one every request is denied.
	Authorizer *authz.Authorizer
	// ACLs backs Kafka's ACL APIs; nil answers them with
	// SECURITY_DISABLED.
	ACLs ACLStore
	// Audit receives a CloudEvent for every denial and for the sampled
	// allows.
	Audit *audit.Sink
	// AllowSampleRate is the fraction of allowed decisions audited.
	AllowSampleRate float64
}

// SetAuthorization makes the server authorize every request of an
// authenticated client. Call it before Start.
func (s *Server) SetAuthorization(a Authorization) { s.authz = a }

// memoHits is the number of decisions the memo answered: every decision
// counted, less those the authorizer had to compute.
func (s *Server) memoHits() float64 {
	az := s.authz.Authorizer
	if az == nil {
		return 0
	}
	return max(0, s.metrics.decisionsTotal()-float64(az.Load().MemoMisses()))
}

// denyAll is the authorizer of a server that authenticates clients but was
// given no policy: it fails closed.
var denyAll = func() *authz.Authorizer {
	a, err := authz.NewAuthorizer(authz.Policy{})
	if err != nil {
		panic(err)
	}
	return a
}()

// connAuthz authorizes one connection's requests. It belongs to the
// connection's reading goroutine, except that response patches call
// Visible from the writing goroutine: sub is therefore atomic (a patch may
// use a newer policy than its request did, which only narrows or widens a
// listing to the policy in force).
type connAuthz struct {
	c   *clientConn
	az  *authz.Authorizer
	sub atomic.Pointer[authz.Subject]
	api string // the request being authorized, for audit events
	// principal and host (the client's IP address, matched against ACL
	// hosts) do not change: re-authentication keeps the principal.
	principal string
	host      string
	client    enforce.Client
}

func newConnAuthz(c *clientConn) *connAuthz {
	az := c.s.authz.Authorizer
	if az == nil {
		az = denyAll
	}
	host, _, err := net.SplitHostPort(c.nc.RemoteAddr().String())
	if err != nil {
		host = c.nc.RemoteAddr().String()
	}
	k := &connAuthz{c: c, az: az, principal: c.sess.Identity().Principal, host: host}
	k.client = enforce.Client{Check: k, Topics: c.s.topics}
	return k
}

// begin prepares for one request: it picks up a policy change.
func (k *connAuthz) begin(spec *apiSpec) {
	k.api = spec.name
	prev := k.sub.Load()
	if next := k.az.Subject(prev, k.principal, k.host); next != prev {
		k.sub.Store(next)
	}
}

// enforce runs the request through its API's rule.
func (k *connAuthz) enforce(spec *apiSpec, req kmsg.Request) enforce.Verdict {
	k.begin(spec)
	return spec.rule(&k.client, req)
}

// Authorize implements enforce.Checker: the decision is counted, and audited
// when denied or sampled.
func (k *connAuthz) Authorize(rt authz.ResourceType, name string, op authz.Operation) bool {
	sub := k.sub.Load()
	d := sub.Authorize(rt, name, op)
	k.count(rt, op, d.Allowed)
	if !d.Allowed || k.sampled() {
		k.audit(sub, rt, name, op, d)
	}
	return d.Allowed
}

// Visible implements enforce.Checker: counted, never audited.
func (k *connAuthz) Visible(rt authz.ResourceType, name string, op authz.Operation) bool {
	d := k.sub.Load().Authorize(rt, name, op)
	k.count(rt, op, d.Allowed)
	return d.Allowed
}

// AuthorizeAny implements enforce.Checker.
func (k *connAuthz) AuthorizeAny(rt authz.ResourceType, op authz.Operation) bool {
	d := k.sub.Load().AuthorizeAny(rt, op)
	k.count(rt, op, d.Allowed)
	return d.Allowed
}

func (k *connAuthz) count(rt authz.ResourceType, op authz.Operation, allowed bool) {
	m := &k.c.s.metrics.decisions
	if rt < 0 || int(rt) >= len(m) || op < 0 || int(op) >= len(m[rt]) || m[rt][op][0] == nil {
		return
	}
	i := 0
	if allowed {
		i = 1
	}
	m[rt][op][i].Inc()
}

func (k *connAuthz) sampled() bool {
	r := k.c.s.authz.AllowSampleRate
	return r > 0 && rand.Float64() < r
}

func (k *connAuthz) audit(sub *authz.Subject, rt authz.ResourceType, name string, op authz.Operation, d authz.Decision) {
	sink := k.c.s.authz.Audit
	if sink == nil {
		return
	}
	ev := audit.AuthorizationEvent{
		Principal:     sub.Principal(),
		Source:        k.c.nc.RemoteAddr().String(),
		Listener:      k.c.l.cfg.Name,
		API:           k.api,
		ResourceType:  rt.String(),
		ResourceName:  name,
		Operation:     op.String(),
		Granted:       d.Allowed,
		Rule:          d.Rule.String(),
		PolicyVersion: sub.Table().Version(),
	}
	if r := d.Rule; r.Kind == authz.RuleACL || r.Kind == authz.RuleRoleBinding {
		ev.Pattern = r.ACL.ResourceType.String() + ":" + r.ACL.Pattern.String() + ":" + r.ACL.Name
	}
	sink.Authorization(ev)
	if !d.Allowed {
		k.c.log.Debug("request denied", zap.String("api", k.api), zap.String("principal", ev.Principal),
			zap.Stringer("resource_type", rt), zap.String("resource_name", name), zap.Stringer("operation", op),
			zap.String("rule", ev.Rule))
	}
}

// PolicyVersion implements enforce.Checker.
func (k *connAuthz) PolicyVersion() uint64 { return k.sub.Load().Table().Version() }

// Reserved implements enforce.Checker.
func (k *connAuthz) Reserved(topic string) bool { return k.sub.Load().Table().Reserved(topic) }
