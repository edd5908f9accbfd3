package authn

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/kafka-auth-proxy/kafka-auth-proxy/authn/oauth"
	"github.com/kafka-auth-proxy/kafka-auth-proxy/authn/pool"
)

// SASL/OAUTHBEARER (RFC 7628) logs a client in with an OpenID Connect
// access token: the token is verified against its provider's published
// keys and mapped to an identity pool, whose principal the connection
// gets. A refused token is answered with the RFC 7628 error challenge,
// which the client acknowledges before the login fails.

// oauthBearer is OAUTHBEARER's entry in the mechanisms table.
var oauthBearer = mechanism{
	name:      MechanismOAuthBearer,
	check:     checkOAuth,
	failure:   `Authentication failed: {"status":"invalid_token"}`,
	challenge: oauthFailure,
}

// checkOAuth checks an OAUTHBEARER login. Token problems fail through the
// RFC 7628 challenge; a malformed message, or a client refused unchecked
// by the throttle, fails at once.
func checkOAuth(ctx context.Context, s *Session, d *directory, msg []byte) attempt {
	a, host := s.a, s.host
	at := attempt{mech: MechanismOAuthBearer}
	m, err := ParseOAuthBearer(msg)
	if err != nil {
		at.reason, at.cause = ReasonMalformed, err
		return at
	}
	requested := m.Extensions[ExtensionIdentityPool]
	if len(requested) <= 128 {
		at.pool = requested
	}
	now := a.now()
	if a.throttle.sourceBlocked(now, host) {
		at.reason = ReasonThrottled
		return at
	}
	at.challenge = true
	prov, err := d.provider(m.Token)
	if err != nil {
		at.reason, at.cause = ReasonUnknownProvider, err
		return at
	}
	at.provider = prov.Name()
	if lc, ok := m.Extensions[ExtensionLogicalCluster]; ok && !s.admin {
		cluster := a.currentClusterID(d)
		if cluster == "" || lc != cluster {
			at.reason, at.cause = ReasonWrongCluster, errors.New("logicalCluster "+lc+" is not this cluster ("+cluster+")")
			return at
		}
	}
	tok, err := prov.Check(ctx, m.Token, func() bool { return a.throttle.mayVerify(now, host) })
	switch {
	case errors.Is(err, oauth.ErrNotChecked):
		at.reason, at.challenge = ReasonFailureCeiling, false
		at.cause = errors.New("the proxy is over its ceiling of failed token verifications, and this address has not logged in in the last hour")
		return at
	case err != nil:
		at.reason, at.cause, at.verified = ReasonTokenPrefix+string(oauth.ReasonMalformed), err, true
		if r := oauth.ReasonOf(err); r != "" {
			at.reason = ReasonTokenPrefix + string(r)
		}
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
	at.identity = &Identity{Principal: p.Principal(), Mechanism: MechanismOAuthBearer, Pool: p.ID,
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

// Extension names Confluent-style clients send with OAUTHBEARER.
const (
	ExtensionIdentityPool   = "identityPoolId"
	ExtensionLogicalCluster = "logicalCluster"
)

// maxExtensions bounds the key=value pairs of one client-first message.
const maxExtensions = 32

// OAuthBearerMessage is a decoded OAUTHBEARER client-first message
// (RFC 7628 section 3.1).
type OAuthBearerMessage struct {
	AuthzID    string
	Token      string
	Extensions map[string]string
}

// oauthFailure is the server challenge that tells the client its token was
// refused (RFC 7628 section 3.2.2); the client answers with a single kvsep.
var oauthFailure = []byte(`{"status":"invalid_token"}`)

const kvsep = 0x01

// ParseOAuthBearer decodes
//
//	gs2-header kvsep *(key=value kvsep) kvsep
//
// where gs2-header is "n,", "y," or "p=…," then "[a=authzid]," and one of
// the pairs is "auth=Bearer <token>". Keys other than auth are extensions
// ([A-Za-z]+); values are printable. Channel binding is not supported, as
// in Kafka.
func ParseOAuthBearer(msg []byte) (OAuthBearerMessage, error) {
	var m OAuthBearerMessage
	if !utf8.Valid(msg) {
		return m, errors.New("OAUTHBEARER message is not valid UTF-8")
	}
	s := string(msg)
	switch {
	case strings.HasPrefix(s, "n,"), strings.HasPrefix(s, "y,"):
		s = s[2:]
	case strings.HasPrefix(s, "p="):
		return m, errors.New("OAUTHBEARER channel binding is not supported")
	default:
		return m, errors.New(`OAUTHBEARER message must start with the GS2 header "n,"`)
	}
	comma := strings.IndexByte(s, ',')
	if comma < 0 {
		return m, errors.New("OAUTHBEARER GS2 header is not terminated by ','")
	}
	if authz := s[:comma]; authz != "" {
		if !strings.HasPrefix(authz, "a=") {
			return m, fmt.Errorf("OAUTHBEARER GS2 header has an unknown attribute")
		}
		v, err := saslName(authz[2:])
		if err != nil {
			return m, err
		}
		m.AuthzID = v
	}
	s = s[comma+1:]
	if len(s) < 3 || s[0] != kvsep || !strings.HasSuffix(s, "\x01\x01") {
		return m, errors.New("OAUTHBEARER key/value pairs must be enclosed by \\x01 and end with \\x01\\x01")
	}
	pairs := strings.Split(s[1:len(s)-2], "\x01")
	m.Extensions = map[string]string{}
	seenAuth := false
	for _, kv := range pairs {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || !validKey(k) {
			return m, errors.New("OAUTHBEARER key/value pair is malformed")
		}
		if !validValue(v) {
			return m, fmt.Errorf("OAUTHBEARER value of %q has characters outside the allowed range", k)
		}
		if k == "auth" {
			if seenAuth {
				return m, errors.New("OAUTHBEARER auth is given twice")
			}
			seenAuth = true
			scheme, token, ok := strings.Cut(v, " ")
			if !ok || !strings.EqualFold(scheme, "Bearer") {
				return m, errors.New(`OAUTHBEARER auth must be "Bearer <token>"`)
			}
			token = strings.Trim(token, " ")
			if token == "" || strings.IndexByte(token, ' ') >= 0 || strings.IndexByte(token, '\t') >= 0 {
				return m, errors.New("OAUTHBEARER bearer token is empty or has spaces")
			}
			m.Token = token
			continue
		}
		if _, dup := m.Extensions[k]; dup {
			return m, fmt.Errorf("OAUTHBEARER extension %q is given twice", k)
		}
		if len(m.Extensions) == maxExtensions {
			return m, errors.New("OAUTHBEARER message has too many extensions")
		}
		m.Extensions[k] = v
	}
	if !seenAuth {
		return m, errors.New("OAUTHBEARER message has no auth=Bearer token")
	}
	return m, nil
}

// saslName decodes an RFC 5801 saslname (",=" escaped as "=2C", "=3D").
func saslName(s string) (string, error) {
	if !strings.Contains(s, "=") {
		return s, nil
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '=' {
			b.WriteByte(s[i])
			continue
		}
		switch {
		case strings.HasPrefix(s[i:], "=2C"):
			b.WriteByte(',')
		case strings.HasPrefix(s[i:], "=3D"):
			b.WriteByte('=')
		default:
			return "", errors.New("OAUTHBEARER authzid has an invalid escape")
		}
		i += 2
	}
	return b.String(), nil
}

// validKey reports whether k is an RFC 7628 key: 1*ALPHA.
func validKey(k string) bool {
	if k == "" {
		return false
	}
	for i := 0; i < len(k); i++ {
		c := k[i] | 0x20
		if c < 'a' || c > 'z' {
			return false
		}
	}
	return true
}

// valueChars marks the bytes of an RFC 7628 value: VCHAR, SP, HTAB, CR, LF.
var valueChars = func() (t [256]bool) {
	for c := 0x21; c <= 0x7e; c++ {
		t[c] = true
	}
	for _, c := range " \t\r\n" {
		t[c] = true
	}
	return t
}()

// validValue reports whether v is an RFC 7628 value: *(VCHAR / SP / HTAB /
// CR / LF).
func validValue(v string) bool {
	for i := 0; i < len(v); i++ {
		if !valueChars[v[i]] {
			return false
		}
	}
	return true
}

// isKVSep reports whether msg is the client's answer to an error challenge.
func isKVSep(msg []byte) bool { return bytes.Equal(msg, []byte{kvsep}) }
