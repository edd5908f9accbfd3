package oauth

import (
	"errors"
	"fmt"
)

// Reason is a stable, low-cardinality failure reason used in metrics and
// audit logs.
type Reason string

// The reasons a token is refused.
const (
	// ReasonMalformed: not a compact JWS with a JSON header and claims, or
	// a registered claim has the wrong type, or exp is missing.
	ReasonMalformed Reason = "malformed"
	// ReasonTooLarge: longer than MaxTokenBytes; nothing was parsed.
	ReasonTooLarge Reason = "too_large"
	// ReasonCriticalHeader: the header's crit marks extensions that must
	// be understood (RFC 7515); none is.
	ReasonCriticalHeader Reason = "unsupported_critical_header"
	// ReasonAlgorithm: the header's alg is not allowed, or does not fit the
	// key the token names.
	ReasonAlgorithm Reason = "algorithm_not_allowed"
	// ReasonUnknownKey: no published key has the token's kid, even after a
	// refresh (or a refresh was not allowed yet).
	ReasonUnknownKey Reason = "unknown_key"
	// ReasonSignature: the signature does not verify with the named key.
	ReasonSignature Reason = "bad_signature"
	// ReasonExpired: exp has passed.
	ReasonExpired Reason = "expired"
	// ReasonNotYetValid: nbf or iat is in the future.
	ReasonNotYetValid Reason = "not_yet_valid"
	// ReasonIssuer: iss is not the provider's issuer.
	ReasonIssuer Reason = "wrong_issuer"
	// ReasonAudience: aud is missing or holds none of the accepted audiences.
	ReasonAudience Reason = "wrong_audience"
	// ReasonKeysUnavailable: the provider's keys could not be fetched.
	ReasonKeysUnavailable Reason = "jwks_unavailable"
)

// Reasons lists every Reason with what it means, for the documentation.
func Reasons() []ReasonMeaning {
	return []ReasonMeaning{
		{ReasonMalformed, "not a compact JWS with a JSON header and claims, a registered claim of the wrong type, or no exp"},
		{ReasonTooLarge, "longer than oidc.max_token_bytes; not parsed"},
		{ReasonAlgorithm, "alg is not one of the provider's algorithms, or does not fit the key the token names"},
		{ReasonCriticalHeader, "the header's crit marks extensions the proxy would have to understand"},
		{ReasonUnknownKey, "no published key has the token's kid, even after a refresh"},
		{ReasonSignature, "the signature does not verify with the key it names"},
		{ReasonExpired, "exp has passed (beyond clock_skew)"},
		{ReasonNotYetValid, "nbf or iat is in the future (beyond clock_skew)"},
		{ReasonIssuer, "iss is not the provider's issuer"},
		{ReasonAudience, "aud holds none of the provider's audiences"},
		{ReasonKeysUnavailable, "the provider's keys could not be fetched"},
	}
}

// ReasonMeaning is a Reason and what it means.
type ReasonMeaning struct {
	Reason  Reason
	Meaning string
}

// Error is why a token was refused. Err, which may be nil, describes the
// cause for logs; it never contains the token.
type Error struct {
	Reason Reason
	Err    error
}

func (e *Error) Error() string {
	if e.Err == nil {
		return "oauth: token refused: " + string(e.Reason)
	}
	return "oauth: token refused: " + string(e.Reason) + ": " + e.Err.Error()
}

func (e *Error) Unwrap() error { return e.Err }

// ReasonOf returns the Reason of the first *Error in err's chain, or "" if
// there is none.
func ReasonOf(err error) Reason {
	var e *Error
	if errors.As(err, &e) {
		return e.Reason
	}
	return ""
}

// refuse returns an *Error with a formatted cause.
func refuse(r Reason, format string, args ...any) *Error {
	return &Error{Reason: r, Err: fmt.Errorf(format, args...)}
}

// maxQuoted bounds token-controlled strings (kid, alg) quoted in errors and
// logs.
const maxQuoted = 64

// clip shortens a token-controlled string for an error message or log field.
func clip(s string) string {
	if len(s) <= maxQuoted {
		return s
	}
	return s[:maxQuoted] + "…"
}
