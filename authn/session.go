package authn

import (
	"context"
	"errors"
	"net"
	"slices"
	"sync/atomic"
	"time"
)

// The SASL state machine of one connection. The mechanisms themselves
// (their messages, checks and failure answers) are in plain.go and
// oauthbearer.go; the record of each attempt in record.go.

// Messages sent to clients beside the mechanisms' own. They never say
// which part of a login was wrong.
const (
	msgThrottled       = "Authentication failed: too many failed attempts; try again later"
	msgNoHandshake     = "SaslAuthenticate received before a successful SaslHandshake"
	msgAfterFailure    = "SASL authentication already failed on this connection"
	msgReauthFailed    = "Re-authentication failed: the principal may not change on a connection"
	msgWrongMechanism  = "Re-authentication must use the mechanism of the first login"
	msgNotOffered      = "SASL mechanism not enabled on this listener"
	msgRefusedPreLogin = "refused before login"
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

// FailureCode is the Kafka error a refused SASL step is answered with.
type FailureCode int

const (
	// CodeOK: the step was not refused.
	CodeOK FailureCode = iota
	// CodeAuthenticationFailed is SASL_AUTHENTICATION_FAILED.
	CodeAuthenticationFailed
	// CodeIllegalState is ILLEGAL_SASL_STATE.
	CodeIllegalState
	// CodeUnsupportedMechanism is UNSUPPORTED_SASL_MECHANISM.
	CodeUnsupportedMechanism
)

// sessionState is where a connection is in its SASL exchanges.
type sessionState uint8

const (
	// awaitingHandshake: before the first login, and between a login
	// and a re-authentication.
	awaitingHandshake sessionState = iota
	// handshaken: a mechanism was chosen; its credential comes next.
	handshaken
	// challenged: a token was refused through the RFC 7628 error
	// challenge; the client's acknowledgement comes next, and the login
	// fails.
	challenged
	// failed: a login failed. A connection gets one failed attempt:
	// anything more closes it.
	failed
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
	// admin: the session is an admin API request, which takes cloud keys
	// and no cluster key.
	admin bool

	identity atomic.Pointer[Identity]
	revoked  atomic.Bool

	state    sessionState
	mech     *mechanism // chosen by the handshake of the login in progress
	deadline time.Time
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

// Close forgets the session; call it when the connection ends.
func (s *Session) Close() { s.a.unregister(s) }

// Handshake selects a mechanism (SaslHandshake). It returns the mechanisms
// to name in the answer, and CodeOK, or the code to refuse with, after
// which the connection closes. On an authenticated connection it starts a
// re-authentication, which must use the same mechanism. A handshake after
// a failed attempt is a new attempt on a connection that had its one: it
// is recorded as a failure, and refused.
func (s *Session) Handshake(ctx context.Context, name string) (enabled []string, code FailureCode) {
	d := s.a.dir.Load()
	enabled = d.mechanisms[s.listener]
	if s.state == challenged || s.state == failed {
		s.fail(ctx, d, &attempt{mech: s.mechName(), reason: ReasonAttemptAfterFailure,
			cause: errors.New("SaslHandshake after a failed login")})
		return enabled, CodeIllegalState
	}
	m := mechanisms[name]
	if m == nil || !slices.Contains(enabled, name) {
		s.fail(ctx, d, &attempt{mech: name, reason: ReasonUnsupportedMech,
			cause: errors.New("mechanism " + clipName(name) + " is not enabled on listener " + s.listener)})
		return enabled, CodeUnsupportedMechanism
	}
	if id := s.identity.Load(); id != nil && id.Mechanism != name {
		s.fail(ctx, d, &attempt{mech: name, reason: ReasonMechanismChanged,
			cause: errors.New("re-authentication with " + name + ", logged in with " + id.Mechanism)})
		return []string{id.Mechanism}, CodeUnsupportedMechanism
	}
	s.mech, s.state = m, handshaken
	return enabled, CodeOK
}

// Authenticate runs one SaslAuthenticate exchange with the client's auth
// bytes. version is the SaslAuthenticate version (0 for the raw tokens that
// follow a v0 handshake); only v1 and later can re-authenticate, so only
// they get a session lifetime that is enforced. A failure is answered after
// the configured delay, unless ctx ends first.
func (s *Session) Authenticate(ctx context.Context, version int16, msg []byte) Step {
	d := s.a.dir.Load()
	switch s.state {
	case awaitingHandshake:
		return s.fail(ctx, d, &attempt{mech: s.mechName(), reason: ReasonHandshakeMissing,
			cause: errors.New("SaslAuthenticate before SaslHandshake")}).withMessage(CodeIllegalState, msgNoHandshake)
	case challenged:
		if isKVSep(msg) {
			// The client acknowledged the error challenge; the refusal
			// was recorded, and delayed, when the challenge was sent.
			s.state = failed
			return Step{Failed: true, Code: CodeAuthenticationFailed, Message: s.mech.failure}
		}
		return s.fail(ctx, d, &attempt{mech: s.mech.name, reason: ReasonAttemptAfterFailure,
			cause: errors.New("a new credential instead of acknowledging the refusal")}).withMessage(CodeIllegalState, msgAfterFailure)
	case failed:
		return s.fail(ctx, d, &attempt{mech: s.mechName(), reason: ReasonAttemptAfterFailure,
			cause: errors.New("SaslAuthenticate after a failed login")}).withMessage(CodeIllegalState, msgAfterFailure)
	}
	now := s.a.now()
	at := s.mech.check(ctx, s, d, msg)
	if at.identity == nil {
		step := s.fail(ctx, d, &at)
		if at.challenge {
			// RFC 7628: the refusal goes out as a challenge, which the
			// client acknowledges before the login fails.
			s.state = challenged
			return Step{Response: s.mech.challenge}
		}
		return step
	}
	prev := s.identity.Load()
	if prev != nil && prev.Principal != at.identity.Principal {
		at.reason = ReasonPrincipalChanged
		at.cause = errors.New("re-authenticated as " + at.identity.Principal + ", was " + prev.Principal)
		at.identity = nil
		return s.fail(ctx, d, &at).withMessage(CodeAuthenticationFailed, msgReauthFailed)
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
	s.state, s.mech = awaitingHandshake, nil
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

// Refuse records a login that failed before any SASL exchange could be
// read, such as a frame over the pre-login size limit, and waits the
// failure delay. The caller closes the connection.
func (s *Session) Refuse(ctx context.Context, reason string, cause error) {
	s.fail(ctx, s.a.dir.Load(), &attempt{mech: s.mechName(), reason: reason, cause: cause})
}

// fail records a failed attempt, counts it and waits the failure delay;
// the connection has had its one failed attempt. It returns the step that
// refuses the attempt with the mechanism's message.
func (s *Session) fail(ctx context.Context, d *directory, at *attempt) Step {
	s.state = failed
	now := s.a.now()
	if at.reason != ReasonThrottled {
		for _, c := range s.a.throttle.failed(now, s.host, at.verified, at.credentials()...) {
			s.a.underAttack(c, at.mech)
		}
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
	msg := msgRefusedPreLogin
	switch {
	case at.reason == ReasonThrottled || at.reason == ReasonFailureCeiling:
		msg = msgThrottled
	case at.reason == ReasonUnsupportedMech:
		msg = msgNotOffered
	case at.reason == ReasonMechanismChanged:
		msg = msgWrongMechanism
	case s.mech != nil:
		msg = s.mech.failure
	}
	return Step{Failed: true, Code: CodeAuthenticationFailed, Message: msg}
}

// withMessage replaces a failed step's answer.
func (st Step) withMessage(code FailureCode, msg string) Step {
	st.Code, st.Message = code, msg
	return st
}

// mechName is the mechanism of the login in progress, or of the
// connection's login, for the record of an attempt that failed outside
// one; "" when there is none.
func (s *Session) mechName() string {
	if s.mech != nil {
		return s.mech.name
	}
	if id := s.identity.Load(); id != nil {
		return id.Mechanism
	}
	return ""
}

// clipName shortens a client-chosen name for a log.
func clipName(s string) string {
	if len(s) > 32 {
		return s[:32] + "…"
	}
	return s
}
