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
// An Authenticator holds the current credentials (from the configuration
// file and the state file written by the api-key command) and swaps them
// atomically when either changes; sessions whose key, account or pool has
// gone are closed. A Session is one connection's progress through
// SaslHandshake and SaslAuthenticate, including KIP-368 re-authentication.
//
// Failures are answered with one generic message after a fixed delay; the
// cause goes to the log, the audit log and the metrics, never to the client.
// Repeated failures from one address, or against one key or pool, are
// refused outright for a while.
package authn
