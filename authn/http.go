package authn

import (
	"context"
	"encoding/base64"
	"errors"
	"strings"
)

// Admin API logins. A request of the admin API carries a cloud API key
// (HTTP Basic) or an OIDC access token (Bearer). Both are checked by the
// code that checks SASL/PLAIN and SASL/OAUTHBEARER logins, with the same
// throttle, failure delay, metrics and audit events; only the key's scope
// differs: the admin API takes cloud keys, Kafka takes cluster keys.

// AdminListener names the admin API in audit events and logs.
const AdminListener = "admin-api"

// Errors of AuthenticateHTTP. Neither says what was wrong with the
// credential; the audit event and the log do.
var (
	ErrAuthentication = errors.New("authentication failed")
	ErrThrottled      = errors.New("too many failed logins from this address")
)

// maxAuthorizationBytes bounds an Authorization header before it is
// decoded.
const maxAuthorizationBytes = 32 << 10

// AuthenticateHTTP checks the Authorization header of an admin API
// request from source (host:port). A refusal is delayed like a failed
// SASL login before it returns.
func (a *Authenticator) AuthenticateHTTP(ctx context.Context, source, authorization string) (*Identity, error) {
	s := a.NewSession(AdminListener, source, nil)
	s.admin = true
	d := a.dir.Load()
	scheme, cred, _ := strings.Cut(authorization, " ")
	cred = strings.TrimSpace(cred)
	var msg []byte
	switch {
	case len(authorization) > maxAuthorizationBytes:
		s.fail(ctx, d, &attempt{reason: ReasonMalformed, cause: errors.New("the Authorization header is too long")})
		return nil, ErrAuthentication
	case strings.EqualFold(scheme, "Basic"):
		raw, err := base64.StdEncoding.DecodeString(cred)
		user, pass, ok := strings.Cut(string(raw), ":")
		if err != nil || !ok {
			s.mech = &plain
			s.fail(ctx, d, &attempt{mech: MechanismPlain, reason: ReasonMalformed, cause: errors.New("the Basic credentials are not base64 of key:secret")})
			return nil, ErrAuthentication
		}
		s.mech = &plain
		msg = []byte("\x00" + user + "\x00" + pass)
	case strings.EqualFold(scheme, "Bearer"):
		s.mech = &oauthBearer
		msg = []byte("n,,\x01auth=Bearer " + cred + "\x01\x01")
	default:
		s.fail(ctx, d, &attempt{reason: ReasonMalformed, cause: errors.New("the Authorization scheme is neither Basic nor Bearer")})
		return nil, ErrAuthentication
	}
	s.state = handshaken
	at := s.mech.check(ctx, s, d, msg)
	if at.identity == nil {
		s.fail(ctx, d, &at)
		if at.reason == ReasonThrottled || at.reason == ReasonFailureCeiling {
			return nil, ErrThrottled
		}
		return nil, ErrAuthentication
	}
	now := a.now()
	if at.apiKey != "" {
		a.touchKey(at.apiKey, now)
	}
	a.record(s, &at, false, now)
	return at.identity, nil
}
