// Package oauth verifies OAuth 2.0 / OIDC JWT access tokens against an
// identity provider's published keys, for SASL/OAUTHBEARER logins.
//
// A Provider stands for one identity provider. It checks, in this order:
//
//  1. the token's size (ReasonTooLarge), before anything is parsed;
//  2. its shape: a compact JWS of three base64url parts with a JSON header
//     (ReasonMalformed), and that the header's alg is one of the allowed
//     asymmetric algorithms (ReasonAlgorithm); "none" and the HMAC
//     algorithms are never allowed;
//  3. the signature, with github.com/coreos/go-oidc/v3/oidc and a key set of
//     this package's own (ReasonUnknownKey, ReasonSignature,
//     ReasonKeysUnavailable), and the issuer (ReasonIssuer);
//  4. exp (required), nbf and iat with the configured clock skew
//     (ReasonExpired, ReasonNotYetValid), and that aud holds at least one of
//     the accepted audiences (ReasonAudience), with
//     github.com/golang-jwt/jwt/v5.
//
// The signing keys (JWKS) are fetched from the configured jwks_uri, or from
// the one named by the issuer's OpenID Connect discovery document. They are
// re-read periodically once Start has been called, and on demand when a
// token names a key id that is not known, at most once per
// JWKSMinRefreshInterval however many such tokens arrive. A failed refresh
// keeps the keys fetched before, so an identity provider outage does not
// stop logins with tokens it issued earlier. Symmetric (kty "oct") and
// private keys in the JWKS are refused.
//
// Verified tokens are cached by the SHA-256 of the raw token until they
// expire, so re-authentications and reconnects with the same token cost a
// hash and a map look-up. A cached entry is dropped after one JWKS refresh
// interval, and as soon as a refresh shows its key removed, so a withdrawn
// key stops being accepted.
//
// Tokens are never logged. Errors returned by Verify are *Error values with
// a stable Reason, suitable as a metric label.
package oauth
