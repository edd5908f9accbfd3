package oauth

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	jose "github.com/go-jose/go-jose/v4"
	"github.com/golang-jwt/jwt/v5"
	"go.uber.org/zap"
)

// Token is a verified access token.
//
// Tokens are cached and the same *Token is returned to every caller that
// presents the same raw token: treat it, Claims included, as read-only.
type Token struct {
	// Claims are all the token's claims as encoding/json decodes them into
	// map[string]any: numbers are float64 (json.Number is not used),
	// arrays []any and objects map[string]any.
	Claims map[string]any
	// Subject is the sub claim; it may be empty.
	Subject string
	// Issuer is the iss claim, the provider's issuer.
	Issuer string
	// Expiry is the exp claim.
	Expiry time.Time
	// KeyID is the kid of the key that verified the signature.
	KeyID string
}

// Provider verifies the access tokens of one identity provider. It is safe
// for concurrent use.
type Provider struct {
	cfg       ProviderConfig
	log       *zap.Logger
	keys      *keySet
	verifier  *oidc.IDTokenVerifier
	validator *jwt.Validator
	cache     *tokenCache
	algs      []jose.SignatureAlgorithm
	started   atomic.Bool

	// now is the clock of every time check: token times, cache entries and
	// the refresh cooldown. Tests replace it before first use.
	now func() time.Time
}

// NewProvider checks cfg, fills in its defaults and returns a Provider. It
// does no network I/O: the keys are fetched by Start, or by the first
// Verify that needs them. log (which may be nil) gets the key refresh
// events; m (which may be nil) counts them.
func NewProvider(cfg ProviderConfig, log *zap.Logger, m *Metrics) (*Provider, error) {
	cfg, err := cfg.normalize()
	if err != nil {
		return nil, fmt.Errorf("oauth provider %q: %w", cfg.Name, err)
	}
	if log == nil {
		log = zap.NewNop()
	}
	log = log.With(zap.String("provider", cfg.Name))
	p := &Provider{cfg: cfg, log: log, algs: joseAlgs(cfg.Algorithms), now: time.Now}
	clock := func() time.Time { return p.now() }

	p.cache = newTokenCache(cfg.CacheSize, cfg.JWKSRefresh)
	p.keys = &keySet{
		name:        cfg.Name,
		issuer:      cfg.Issuer,
		jwksURI:     cfg.JWKSURI,
		client:      cfg.HTTPClient,
		algs:        cfg.Algorithms,
		joseAlgs:    p.algs,
		minInterval: cfg.JWKSMinRefreshInterval,
		now:         clock,
		log:         log,
		metrics:     m,
		onRemoved:   p.cache.purgeKeys,
	}
	p.verifier = oidc.NewVerifier(cfg.Issuer, p.keys, &oidc.Config{
		SkipClientIDCheck:    true, // audiences are checked below, any-of
		SkipExpiryCheck:      true, // times are checked below, with the configured skew
		SupportedSigningAlgs: cfg.Algorithms,
	})
	p.validator = jwt.NewValidator(
		jwt.WithLeeway(cfg.ClockSkew),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithAudience(cfg.Audiences...), // any of them, in jwt/v5
		jwt.WithTimeFunc(clock),
	)
	return p, nil
}

// Name returns the configured provider name.
func (p *Provider) Name() string { return p.cfg.Name }

// Start fetches the signing keys in the background, at once and then every
// JWKSRefresh (sooner after a failure), until ctx is done. Calls after the
// first are ignored.
func (p *Provider) Start(ctx context.Context) {
	if !p.started.CompareAndSwap(false, true) {
		p.log.Warn("oauth provider started twice; the second start is ignored")
		return
	}
	go p.keys.run(ctx, p.cfg.JWKSRefresh)
}

// Verify checks raw, a JWT access token, and returns its claims. Errors
// are *Error. A token verified before is answered from the cache until its
// exp, without the clock skew allowance; the returned *Token is shared and
// read-only.
func (p *Provider) Verify(ctx context.Context, raw string) (*Token, error) {
	return p.Check(ctx, raw, nil)
}

// ErrNotChecked is Check's error for a new token it was not allowed to
// verify.
var ErrNotChecked = errors.New("oauth: token not checked: verifying new tokens is suspended")

// Check is Verify, except that a token that is not in the cache is
// verified only if mayVerify, when not nil, allows it; otherwise the error
// is ErrNotChecked. A token in the cache costs one hash and a lookup, and
// is always answered.
func (p *Provider) Check(ctx context.Context, raw string, mayVerify func() bool) (*Token, error) {
	if len(raw) > p.cfg.MaxTokenBytes {
		return nil, refuse(ReasonTooLarge, "token is %d bytes, more than the %d accepted", len(raw), p.cfg.MaxTokenBytes)
	}
	key := hashToken(raw)
	now := p.now()
	switch tok, status := p.cache.lookup(&key, now); status {
	case cacheHit:
		return tok, nil
	case cacheExpired:
		return nil, refuse(ReasonExpired, "token expired at %s", tok.Expiry.UTC().Format(time.RFC3339))
	}
	if mayVerify != nil && !mayVerify() {
		return nil, ErrNotChecked
	}
	tok, err := p.verify(ctx, raw)
	if err != nil {
		return nil, err
	}
	p.cache.add(&key, tok, now)
	return tok, nil
}

// verify checks a token that is not in the cache.
func (p *Provider) verify(ctx context.Context, raw string) (*Token, *Error) {
	if e := checkShape(raw, p.cfg.Algorithms); e != nil {
		return nil, e
	}
	jws, err := jose.ParseSignedCompact(raw, p.algs)
	if err != nil {
		return nil, refuse(ReasonMalformed, "not a compact JWS: %w", err)
	}
	st := &verifyState{raw: raw, jws: jws}
	idt, err := p.verifier.Verify(context.WithValue(ctx, verifyStateKey{}, st), raw)
	if err != nil {
		return nil, p.verifierError(st, err)
	}
	// go-oidc lets a Google issuer without a scheme through; this package
	// promises an exact match.
	if idt.Issuer != p.cfg.Issuer {
		return nil, refuse(ReasonIssuer, "token issuer %q is not %q", clip(idt.Issuer), p.cfg.Issuer)
	}
	var claims map[string]any
	if err := json.Unmarshal(st.payload, &claims); err != nil || claims == nil {
		return nil, refuse(ReasonMalformed, "claims are not a JSON object")
	}
	mc := jwt.MapClaims(claims)
	if err := p.validator.Validate(mc); err != nil {
		return nil, p.claimsError(mc, err)
	}
	exp, err := mc.GetExpirationTime()
	if err != nil || exp == nil { // the validator requires it
		return nil, refuse(ReasonMalformed, "exp claim is missing or invalid")
	}
	return &Token{Claims: claims, Subject: idt.Subject, Issuer: idt.Issuer, Expiry: exp.Time, KeyID: st.kid}, nil
}

// verifierError maps an oidc.IDTokenVerifier error to an *Error using what
// the key set left in st.
func (p *Provider) verifierError(st *verifyState, err error) *Error {
	switch {
	case st.err != nil:
		return st.err
	case !st.checked: // the verifier failed before asking for the signature
		return refuse(ReasonMalformed, "%w", err)
	}
	// The signature is good: the verifier refused the issuer or could not
	// decode the registered claims.
	var c map[string]json.RawMessage
	if json.Unmarshal(st.payload, &c) == nil && c != nil {
		var iss string
		switch raw, ok := c["iss"]; {
		case !ok:
			return refuse(ReasonIssuer, "token has no issuer; want %q", p.cfg.Issuer)
		case json.Unmarshal(raw, &iss) == nil && iss != p.cfg.Issuer:
			return refuse(ReasonIssuer, "token issuer %q is not %q", clip(iss), p.cfg.Issuer)
		}
	}
	return refuse(ReasonMalformed, "claims: %w", err)
}

// claimsError maps a jwt.Validator error to an *Error. When several checks
// failed, the first in this order wins: claim types, exp, nbf/iat, aud.
func (p *Provider) claimsError(mc jwt.MapClaims, err error) *Error {
	switch {
	case errors.Is(err, jwt.ErrInvalidType):
		return refuse(ReasonMalformed, "a registered claim has the wrong type: %w", err)
	case errors.Is(err, jwt.ErrTokenExpired):
		return refuse(ReasonExpired, "%w (clock skew allowed: %s)", err, p.cfg.ClockSkew)
	case errors.Is(err, jwt.ErrTokenRequiredClaimMissing) && !hasClaim(mc, "exp"):
		return refuse(ReasonMalformed, "exp claim is required")
	case errors.Is(err, jwt.ErrTokenNotValidYet), errors.Is(err, jwt.ErrTokenUsedBeforeIssued):
		return refuse(ReasonNotYetValid, "%w (clock skew allowed: %s)", err, p.cfg.ClockSkew)
	case errors.Is(err, jwt.ErrTokenInvalidAudience), errors.Is(err, jwt.ErrTokenRequiredClaimMissing):
		aud, _ := mc.GetAudience()
		if len(aud) == 0 || len(aud) == 1 && aud[0] == "" {
			return refuse(ReasonAudience, "token has no aud; want one of %q", p.cfg.Audiences)
		}
		for i := range aud {
			aud[i] = clip(aud[i])
		}
		if len(aud) > 8 {
			aud = append(aud[:8], "…")
		}
		return refuse(ReasonAudience, "token audience %q holds none of %q", []string(aud), p.cfg.Audiences)
	}
	return refuse(ReasonMalformed, "%w", err)
}

// hasClaim reports whether a time claim is present (jwt/v5 treats 0 as
// absent).
func hasClaim(mc jwt.MapClaims, name string) bool {
	v, ok := mc[name]
	return ok && v != nil && v != float64(0)
}

// checkShape refuses, cheaply and before any real parsing, what is not a
// compact JWS (three base64url parts, the first a JSON object) or is not
// signed with one of algs. JWS JSON serialization is not accepted.
func checkShape(raw string, algs []string) *Error {
	if strings.Count(raw, ".") != 2 {
		return refuse(ReasonMalformed, "not a compact JWS: want three dot-separated parts")
	}
	for i := 0; i < len(raw); i++ {
		if !isBase64URL(raw[i]) && raw[i] != '.' {
			return refuse(ReasonMalformed, "not a compact JWS: byte %d is not base64url", i)
		}
	}
	header, rest, _ := strings.Cut(raw, ".")
	if header == "" || strings.HasPrefix(rest, ".") {
		return refuse(ReasonMalformed, "not a compact JWS: empty header or payload")
	}
	b, err := base64.RawURLEncoding.DecodeString(header)
	if err != nil {
		return refuse(ReasonMalformed, "JWS header is not base64url: %w", err)
	}
	var h struct {
		Alg  string          `json:"alg"`
		Crit json.RawMessage `json:"crit"`
	}
	if err := json.Unmarshal(b, &h); err != nil {
		return refuse(ReasonMalformed, "JWS header is not a JSON object: %w", err)
	}
	if h.Alg == "" {
		return refuse(ReasonMalformed, "JWS header has no alg")
	}
	if h.Crit != nil {
		// RFC 7515 4.1.11: a recipient must refuse a JWS whose crit names
		// an extension it does not understand, and this package
		// understands none.
		return refuse(ReasonCriticalHeader, "JWS header marks extensions critical (crit %s)", clip(string(h.Crit)))
	}
	if !slices.Contains(algs, h.Alg) {
		return refuse(ReasonAlgorithm, "alg %q is not allowed", clip(h.Alg))
	}
	return nil
}

func isBase64URL(c byte) bool {
	return 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '_'
}
