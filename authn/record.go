package authn

import (
	"context"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/kafka-auth-proxy/kafka-auth-proxy/audit"
)

// The SASL mechanisms the proxy offers to clients.
const (
	// MechanismPlain is SASL/PLAIN with an API key id and secret.
	MechanismPlain = "PLAIN"
	// MechanismOAuthBearer is SASL/OAUTHBEARER with an OIDC access token.
	MechanismOAuthBearer = "OAUTHBEARER"
)

// mechanism is one SASL mechanism: how a client's message is checked, and
// how a refusal is answered.
type mechanism struct {
	name string
	// check parses the client's message and checks its credential.
	check func(ctx context.Context, s *Session, d *directory, msg []byte) attempt
	// failure is the message a refused login fails with. It never says
	// which part of the login was wrong.
	failure string
	// challenge, when set, is the server challenge a refused credential
	// is answered with first (RFC 7628), which the client acknowledges.
	challenge []byte
}

// mechanisms are the mechanisms by name; a listener enables some of them.
var mechanisms = map[string]*mechanism{
	MechanismPlain:       &plain,
	MechanismOAuthBearer: &oauthBearer,
}

// attempt is what one login attempt established, for the answer, the log,
// the metrics, the throttle and the audit event.
type attempt struct {
	mech     string
	identity *Identity // set when the login succeeded
	apiKey   string
	pool     string
	provider string
	subject  string
	reason   string
	cause    error
	// challenge: a refusal goes out through the mechanism's challenge.
	challenge bool
	// verified: the refusal cost a token verification.
	verified bool
}

// credentials are what a failed attempt counts against, besides its
// client address: its API key, identity pool and token subject.
func (at *attempt) credentials() []string {
	var out []string
	if at.apiKey != "" {
		out = append(out, "API key "+at.apiKey)
	}
	if at.pool != "" {
		out = append(out, "identity pool "+at.pool)
	}
	if at.subject != "" && at.provider != "" {
		out = append(out, "token subject "+at.provider+"/"+at.subject)
	}
	return out
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
		a.throttle.succeeded(now, s.host)
		ev.Principal = at.identity.Principal
		a.log.Debug("client authenticated", zap.String("client", s.source), zap.String("principal", ev.Principal),
			zap.String("mechanism", at.mech), zap.String("api_key", at.apiKey), zap.String("identity_pool", at.pool),
			zap.String("identity", at.subject), zap.Bool("reauthentication", reauth))
	} else {
		outcome, reason = outcomeFailure, at.reason
		ev.Reason = reason
		level := zapcore.InfoLevel
		if reason == ReasonThrottled || reason == ReasonFailureCeiling {
			level = zapcore.DebugLevel // an attack would flood the log; the metrics and audit log count it
		}
		a.log.Log(level, "client authentication failed", zap.String("client", s.source), zap.String("mechanism", at.mech),
			zap.String("reason", reason), zap.String("api_key", at.apiKey), zap.String("identity_pool", at.pool),
			zap.String("provider", at.provider), zap.Bool("reauthentication", reauth), zap.NamedError("cause", at.cause))
	}
	a.metrics.authentications.WithLabelValues(metricMechanism(at.mech), outcome, reason).Inc()
	a.audit.Authentication(ev)
}

// underAttack reports a credential that has just reached its failure
// limit. Its correct logins go on working.
func (a *Authenticator) underAttack(credential, mech string) {
	a.metrics.credentialsOverLimit.Inc()
	a.log.Warn("many failed logins for one credential; logins with the right secret or token are not refused for it",
		zap.String("credential", credential), zap.String("mechanism", mech))
}

// metricMechanism keeps client-chosen strings out of metric labels.
func metricMechanism(m string) string {
	switch m {
	case MechanismPlain, MechanismOAuthBearer:
		return m
	case "":
		return "none"
	}
	return "other"
}
