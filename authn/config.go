package authn

import (
	"time"

	"github.com/kafka-auth-proxy/kafka-auth-proxy/authn/oauth"
	"github.com/kafka-auth-proxy/kafka-auth-proxy/authn/pool"
)

// Config is what an Authenticator checks logins against, and how. The
// proxy's command builds it from the configuration file; Reload replaces
// it while the proxy runs.
type Config struct {
	// Listeners maps each listener's name to the SASL mechanisms it
	// offers (MechanismPlain, MechanismOAuthBearer).
	Listeners map[string][]string
	// ClusterID is the cluster API keys are scoped to, and the value a
	// client's logicalCluster extension must name; "" means the
	// upstream cluster's id (Options.ClusterID).
	ClusterID string
	// MaxSessionLifetime caps how long a login lasts before the client
	// must re-authenticate (KIP-368); 0 means no cap beyond a token's
	// expiry.
	MaxSessionLifetime time.Duration
	// FailureDelay is waited before a failed login is answered.
	FailureDelay time.Duration
	// Limits bound failed logins.
	Limits Limits

	// Accounts are the service and user accounts, by id: those of the
	// configuration file and of the state store.
	Accounts []string
	// Keys are the API keys.
	Keys []Key

	// MaxTokenBytes refuses larger OAuth tokens before parsing them.
	MaxTokenBytes int
	// Providers are the OpenID Connect identity providers whose tokens
	// are accepted.
	Providers []Provider
	// Pools map verified tokens to principals.
	Pools []pool.Config
}

// Key is an API key: its id, the salted hash of its secret (from
// apikey.HashSecret), the account it belongs to and the cluster it is
// scoped to, or CloudKey for a key of the admin API.
type Key struct {
	ID, SecretHash, Account, Cluster string
}

// CloudKey is the Cluster of a cloud API key, which authenticates to the
// admin API and never logs a Kafka client in.
const CloudKey = "cloud"

// Provider is one OpenID Connect identity provider.
type Provider struct {
	// Name identifies the provider in identity pools, logs and metrics.
	Name string
	// Issuer is the exact iss of its tokens.
	Issuer string
	// JWKSURI is where its signing keys are published; "" discovers it
	// from Issuer.
	JWKSURI string
	// Audiences: a token's aud must hold at least one.
	Audiences []string
	// ClockSkew is allowed on exp, nbf and iat.
	ClockSkew time.Duration
	// Algorithms are the accepted (asymmetric) signature algorithms.
	Algorithms []string
	// JWKSRefresh is how often the keys are re-read, and
	// JWKSMinRefreshInterval how soon a token naming an unknown key may
	// make them be read again.
	JWKSRefresh            time.Duration
	JWKSMinRefreshInterval time.Duration
	// CAFile is a PEM bundle for the provider's HTTPS certificate; ""
	// means the system roots.
	CAFile string
	// URLs, when set, is checked before every request to the provider,
	// redirects included: providers registered through the admin API may
	// reach only the allowed URLs.
	URLs *oauth.URLPolicy
}

// Limits bound failed logins (throttle.go). A correct credential always
// logs in, unless its own client address is over PerSource.
type Limits struct {
	// Window is the period over which failures are counted.
	Window time.Duration
	// PerSource is how many failed logins one client IP address may
	// have in Window before its further logins are refused unchecked.
	PerSource int
	// PerCredential is how many failed logins one API key, identity
	// pool or token subject may have in Window, from any addresses,
	// before the proxy reports it under attack. Its correct logins are
	// never refused for that.
	PerCredential int
	// PerSecond bounds the failed token verifications per second across
	// the proxy. Past it, a token that is not known already is verified
	// only for a client address that logged in before; others are
	// refused unchecked until the rate falls. 0 means no bound.
	PerSecond int
}
