// Package authn is the server side of SASL for kafka-auth-proxy: it decides
// who a client connection is before anything it sends reaches a broker.
//
// Two mechanisms are offered, as on managed Kafka services:
//
//   - PLAIN with an API key: the key id is the username, its secret the
//     password. Keys belong to a service account (sa-…) or user account
//     (u-…), whose principal the connection gets (User:sa-…).
//   - OAUTHBEARER with a JWT access token from an OpenID Connect provider.
//     The token is verified against the provider's published keys and
//     mapped to an identity pool, whose principal the connection gets
//     (User:pool-…).
//
// An Authenticator holds the current credentials (its Config, built by the
// proxy's command from the configuration file, and the state file written
// by the api-key command) and swaps them atomically when either changes;
// sessions whose key, account or pool has gone are closed. A Session is one
// connection's SASL state machine (session.go) through SaslHandshake and
// SaslAuthenticate, including KIP-368 re-authentication; each mechanism's
// message, check and refusal are in plain.go and oauthbearer.go.
//
// Every failed attempt is counted, audited and answered with one generic
// message after a fixed delay; the cause goes to the log, the audit log and
// the metrics, never to the client. A connection gets one failed attempt.
// The throttle (throttle.go) refuses unchecked the logins of an address
// with too many failures of its own, and bounds the failed token
// verifications of the whole proxy, but never refuses a correct credential
// because of other addresses' failures.
package authn
