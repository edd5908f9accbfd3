package authn

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/kafka-auth-proxy/kafka-auth-proxy/audit"
	"github.com/kafka-auth-proxy/kafka-auth-proxy/authn/apikey"
	"github.com/kafka-auth-proxy/kafka-auth-proxy/authn/oauth"
	"github.com/kafka-auth-proxy/kafka-auth-proxy/authn/pool"
	"github.com/kafka-auth-proxy/kafka-auth-proxy/config"
)

// Messages sent to clients. They never say which part of a login was wrong.
const (
	msgPlainFailed  = "Authentication failed: Invalid username or password"
	msgOAuthFailed  = `Authentication failed: {"status":"invalid_token"}`
	msgThrottled    = "Authentication failed: too many failed attempts; try again later"
	msgNoHandshake  = "SaslAuthenticate received before a successful SaslHandshake"
	msgReauthFailed = "Re-authentication failed: the principal may not change on a connection"
)

// Identity is who a connection authenticated as.
type Identity struct {
	// Principal is "User:sa-…", "User:u-…" or "User:pool-…".
	Principal string
	// Mechanism is PLAIN or OAUTHBEARER.
	Mechanism string
	// APIKey and Account are set for PLAIN.
	APIKey  string
	Account string
	// Pool, Provider and Subject (the identity claim's value) are set for
	// OAUTHBEARER.
	Pool     string
	Provider string
	Subject  string
	// Expiry is when the credential expires; zero when it does not.
	Expiry time.Time
}

// Step is the outcome of one SaslAuthenticate exchange.
type Step struct {
	// Response is the SASL bytes for the client: a challenge, or empty.
	Response []byte
	// Complete: the client is authenticated (or re-authenticated).
	Complete bool
	// Lifetime is the session lifetime to report (KIP-368); 0 means none.
	Lifetime time.Duration
	// Failed: answer with Code and Message, then close the connection.
	Failed  bool
	Code    FailureCode
	Message string
}

// FailureCode is the Kafka error a failed step is answered with.
type FailureCode int

const (
	// CodeAuthenticationFailed is SASL_AUTHENTICATION_FAILED.
	CodeAuthenticationFailed FailureCode = iota
	// CodeIllegalState is ILLEGAL_SASL_STATE.
	CodeIllegalState
)

// Session is one client connection's SASL state. Its methods other than
// Identity, Close and Revoked must be called from one goroutine, the one
// reading the connection's requests.
type Session struct {
	a        *Authenticator
	listener string // name of the listener the client connected to
	source   string // client host:port
	host     string // client host, for throttling
	onRevoke func()

	identity atomic.Pointer[Identity]
	revoked  atomic.Bool

	mech      string   // chosen by the pending handshake; "" when none
	challenge *attempt // OAUTHBEARER failure awaiting the client's kvsep
	deadline  time.Time
}

// NewSession starts the SASL state of a connection from source (host:port)
// on the named listener, whose mechanisms it may use. onRevoke is called, on
// another goroutine, when the connection's credential is removed; it should
// close the connection.
func (a *Authenticator) NewSession(listener, source string, onRevoke func()) *Session {
	host, _, err := net.SplitHostPort(source)
	if err != nil {
		host = source
	}
	return &Session{a: a, listener: listener, source: source, host: host, onRevoke: onRevoke}
}

// Authenticated reports whether a login has succeeded on the connection.
func (s *Session) Authenticated() bool { return s.identity.Load() != nil }

// Identity is the connection's identity, or nil before a login.
func (s *Session) Identity() *Identity { return s.identity.Load() }

// Expired reports whether the session outlived its lifetime without
// re-authenticating.
func (s *Session) Expired(now time.Time) bool {
	return !s.deadline.IsZero() && now.After(s.deadline)
}

// Revoked reports whether the session's credential was removed.
func (s *Session) Revoked() bool { return s.revoked.Load() }

// Close forgets the session; call it, from the reading goroutine, when the
// connection ends. A token refused through the RFC 7628 challenge whose
// client hung up instead of acknowledging (franz-go does) is recorded as a
// failure here.
func (s *Session) Close() {
	if at := s.challenge; at != nil {
		s.challenge = nil
		s.a.throttle.fail(time.Now(), s.host, at.credential)
		s.a.record(s, at, s.identity.Load() != nil, time.Now())
	}
	s.a.unregister(s)
}

// Handshake selects a mechanism (SaslHandshake). It returns the enabled
// mechanisms for the answer and whether mech is one of them. On an
// authenticated connection it starts a re-authentication, which must use
// the same mechanism.
func (s *Session) Handshake(mech string) (enabled []string, ok bool) {
	enabled = s.a.dir.Load().mechanisms[s.listener]
	s.mech, s.challenge = "", nil
	if !slices.Contains(enabled, mech) {
		s.a.metrics.authentications.WithLabelValues(metricMechanism(mech), outcomeFailure, ReasonUnsupportedMech).Inc()
		s.a.log.Info("client asked for a SASL mechanism that is not enabled on its listener", zap.String("client", s.source),
			zap.String("listener", s.listener), zap.String("mechanism", mech))
		return enabled, false
	}
	if id := s.identity.Load(); id != nil && id.Mechanism != mech {
		s.a.metrics.authentications.WithLabelValues(mech, outcomeFailure, ReasonMechanismChanged).Inc()
		s.a.log.Info("re-authentication with another mechanism refused", zap.String("client", s.source),
			zap.String("principal", id.Principal), zap.String("mechanism", mech))
		return []string{id.Mechanism}, false
	}
	s.mech = mech
	return enabled, true
}

// metricMechanism keeps client-chosen strings out of metric labels.
func metricMechanism(m string) string {
	switch m {
	case config.ClientPlain, config.ClientOAuthBearer:
		return m
	}
	return "other"
}

// attempt is what one login attempt established, for the answer, the log,
// the metrics and the audit event.
type attempt struct {
	mech       string
	identity   *Identity
	credential string // key id or requested pool: the throttling key
	apiKey     string
	pool       string
	provider   string
	subject    string
	reason     string
	cause      error
	challenge  bool // OAUTHBEARER: fail through the RFC 7628 challenge
}

// Authenticate runs one SaslAuthenticate exchange with the client's auth
// bytes. version is the SaslAuthenticate version (0 for the raw tokens that
// follow a v0 handshake); only v1 and later can re-authenticate, so only
// they get a session lifetime that is enforced. On failure it waits the
// configured delay first, unless ctx ends.
func (s *Session) Authenticate(ctx context.Context, version int16, msg []byte) Step {
	if s.mech == "" {
		return Step{Failed: true, Code: CodeIllegalState, Message: msgNoHandshake}
	}
	now := time.Now()
	d := s.a.dir.Load()
	var at attempt
	if s.challenge != nil {
		// The client answers the RFC 7628 error challenge; the login fails
		// either way.
		at = *s.challenge
		s.challenge = nil
		if !isKVSep(msg) {
			at.cause = errors.Join(at.cause, errors.New("client did not acknowledge the error challenge"))
		}
		return s.fail(ctx, d, now, &at)
	}
	switch s.mech {
	case config.ClientPlain:
		at = s.a.checkPlain(d, s.host, msg)
	case config.ClientOAuthBearer:
		at = s.a.checkOAuth(ctx, d, s.host, msg)
	}
	if at.identity == nil {
		if at.challenge {
			s.challenge = &at
			return Step{Response: oauthFailure}
		}
		return s.fail(ctx, d, now, &at)
	}
	prev := s.identity.Load()
	if prev != nil && prev.Principal != at.identity.Principal {
		at.reason = ReasonPrincipalChanged
		at.cause = errors.New("re-authenticated as " + at.identity.Principal + ", was " + prev.Principal)
		at.identity = nil
		step := s.fail(ctx, d, now, &at)
		step.Message = msgReauthFailed
		return step
	}
	life := d.maxLifetime
	if exp := at.identity.Expiry; !exp.IsZero() {
		if rem := exp.Sub(now); life == 0 || rem < life {
			life = max(rem, time.Millisecond)
		}
	}
	s.deadline = time.Time{}
	if version >= 1 && life > 0 {
		s.deadline = now.Add(life)
	}
	s.identity.Store(at.identity)
	s.mech = ""
	s.a.register(s, at.mech)
	if at.apiKey != "" {
		s.a.touchKey(at.apiKey, now)
	}
	s.a.record(s, &at, prev != nil, now)
	if version < 1 {
		life = 0
	}
	return Step{Complete: true, Lifetime: life}
}

// fail records a failed attempt and waits the failure delay.
func (s *Session) fail(ctx context.Context, d *directory, now time.Time, at *attempt) Step {
	s.mech = ""
	if at.reason != ReasonThrottled {
		s.a.throttle.fail(now, s.host, at.credential)
	}
	s.a.record(s, at, s.identity.Load() != nil, now)
	if d.delay > 0 {
		t := time.NewTimer(d.delay)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
		}
	}
	msg := msgPlainFailed
	switch {
	case at.reason == ReasonThrottled:
		msg = msgThrottled
	case at.mech == config.ClientOAuthBearer:
		msg = msgOAuthFailed
	}
	return Step{Failed: true, Code: CodeAuthenticationFailed, Message: msg}
}

// record logs, counts and audits an attempt.
func (a *Authenticator) record(s *Session, at *attempt, reauth bool, now time.Time) {
	outcome, reason := outcomeSuccess, ""
	ev := audit.AuthenticationEvent{
		Time:             now,
		Mechanism:        at.mech,
		APIKey:           at.apiKey,
		IdentityPool:     at.pool,
		Identity:         at.subject,
		Provider:         at.provider,
		Source:           s.source,
		Listener:         s.listener,
		Success:          at.identity != nil,
		Reauthentication: reauth,
	}
	if at.identity != nil {
		ev.Principal = at.identity.Principal
		a.log.Debug("client authenticated", zap.String("client", s.source), zap.String("principal", ev.Principal),
			zap.String("mechanism", at.mech), zap.String("api_key", at.apiKey), zap.String("identity_pool", at.pool),
			zap.String("identity", at.subject), zap.Bool("reauthentication", reauth))
	} else {
		outcome, reason = outcomeFailure, at.reason
		ev.Reason = reason
		level := zapcore.InfoLevel
		if reason == ReasonThrottled {
			level = zapcore.DebugLevel // an attack would flood the log; the metrics and audit log count it
		}
		a.log.Log(level, "client authentication failed", zap.String("client", s.source), zap.String("mechanism", at.mech),
			zap.String("reason", reason), zap.String("api_key", at.apiKey), zap.String("identity_pool", at.pool),
			zap.String("provider", at.provider), zap.Bool("reauthentication", reauth), zap.NamedError("cause", at.cause))
	}
	a.metrics.authentications.WithLabelValues(at.mech, outcome, reason).Inc()
	a.audit.Authentication(ev)
}

// dummyHash is verified against when a key id is unknown, so that unknown
// and known keys take the same time to refuse.
var dummyHash = func() apikey.Hash {
	h, err := apikey.HashSecret("kafka-auth-proxy timing equaliser")
	if err != nil {
		panic(err)
	}
	ph, err := apikey.ParseHash(h)
	if err != nil {
		panic(err)
	}
	return ph
}()

// checkPlain checks an API key login.
func (a *Authenticator) checkPlain(d *directory, host string, msg []byte) attempt {
	at := attempt{mech: config.ClientPlain}
	m, err := ParsePlain(msg)
	if err != nil {
		at.reason, at.cause = ReasonMalformed, err
		return at
	}
	if apikey.ValidKeyID(m.Username) {
		at.credential, at.apiKey = m.Username, m.Username
	}
	if a.throttle.blocked(time.Now(), host, at.credential) {
		at.reason = ReasonThrottled
		return at
	}
	k, ok := d.keys[m.Username]
	if !ok {
		dummyHash.Verify(m.Password)
		at.reason, at.cause = ReasonUnknownKey, errors.New("no such API key")
		return at
	}
	if !k.hash.Verify(m.Password) {
		at.reason, at.cause = ReasonBadSecret, errors.New("secret does not match")
		return at
	}
	if !d.accounts[k.account] {
		at.reason, at.cause = ReasonUnknownAccount, errors.New("the key's account "+k.account+" does not exist")
		return at
	}
	cluster := a.currentClusterID(d)
	switch {
	case cluster == "":
		at.reason, at.cause = ReasonWrongCluster, errUnknownCluster
		return at
	case k.cluster != cluster:
		at.reason, at.cause = ReasonWrongCluster, errors.New("key is scoped to cluster "+k.cluster+", this is "+cluster)
		return at
	}
	at.identity = &Identity{Principal: "User:" + k.account, Mechanism: config.ClientPlain, APIKey: k.id, Account: k.account}
	return at
}

// checkOAuth checks an OAUTHBEARER login. Token problems fail through the
// RFC 7628 challenge; a malformed message or throttling fails at once.
func (a *Authenticator) checkOAuth(ctx context.Context, d *directory, host string, msg []byte) attempt {
	at := attempt{mech: config.ClientOAuthBearer}
	m, err := ParseOAuthBearer(msg)
	if err != nil {
		at.reason, at.cause = ReasonMalformed, err
		return at
	}
	requested := m.Extensions[ExtensionIdentityPool]
	if len(requested) <= 128 {
		at.credential, at.pool = requested, requested
	}
	if a.throttle.blocked(time.Now(), host, at.credential) {
		at.reason = ReasonThrottled
		return at
	}
	at.challenge = true
	if lc, ok := m.Extensions[ExtensionLogicalCluster]; ok {
		cluster := a.currentClusterID(d)
		if cluster == "" || lc != cluster {
			at.reason, at.cause = ReasonWrongCluster, errors.New("logicalCluster "+lc+" is not this cluster ("+cluster+")")
			return at
		}
	}
	prov, err := d.provider(m.Token)
	if err != nil {
		at.reason, at.cause = ReasonUnknownProvider, err
		return at
	}
	at.provider = prov.Name()
	tok, err := prov.Verify(ctx, m.Token)
	if err != nil {
		var oe *oauth.Error
		at.reason = ReasonTokenPrefix + "invalid"
		if errors.As(err, &oe) {
			at.reason = ReasonTokenPrefix + string(oe.Reason)
		}
		at.cause = err
		return at
	}
	at.subject = tok.Subject
	p, identity, err := d.selectPool(prov.Name(), requested, tok)
	if err != nil {
		at.reason, at.cause = ReasonNoPool, err
		if errors.Is(err, pool.ErrUnknownPool) {
			at.reason = ReasonUnknownPool
		}
		return at
	}
	at.pool, at.subject = p.ID, identity
	if m.AuthzID != "" && m.AuthzID != p.ID && m.AuthzID != identity {
		at.reason, at.cause = ReasonAuthzID, errors.New("authzid "+m.AuthzID+" names neither the pool nor the identity")
		return at
	}
	at.identity = &Identity{Principal: p.Principal(), Mechanism: config.ClientOAuthBearer, Pool: p.ID,
		Provider: prov.Name(), Subject: identity, Expiry: tok.Expiry}
	return at
}

// provider picks the identity provider of a token by its issuer. With one
// provider the token is not looked into before verification.
func (d *directory) provider(token string) (*oauth.Provider, error) {
	if len(d.providers) == 1 {
		for _, p := range d.providers {
			return p, nil
		}
	}
	iss, err := peekIssuer(token)
	if err != nil {
		return nil, err
	}
	p, ok := d.providers[iss]
	if !ok {
		return nil, errors.New("no identity provider has the token's issuer")
	}
	return p, nil
}

// maxPeekBytes bounds the token payload decoded to find its issuer; the
// provider enforces its own, configured limit when verifying.
const maxPeekBytes = 1 << 20

// peekIssuer reads a JWT's iss claim without verifying anything, only to
// choose the provider that will verify it.
func peekIssuer(token string) (string, error) {
	parts := strings.Split(token, ".")
	if len(parts) != 3 || len(parts[1]) > maxPeekBytes {
		return "", errors.New("token is not a compact JWS")
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return "", errors.New("token payload is not base64url")
	}
	var c struct {
		Iss string `json:"iss"`
	}
	if err := json.Unmarshal(payload, &c); err != nil || c.Iss == "" {
		return "", errors.New("token payload has no iss claim")
	}
	return c.Iss, nil
}
