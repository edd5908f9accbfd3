// Package config defines kafka-auth-proxy's YAML configuration: its schema,
// documented defaults, strict decoding (an unknown key is an error), ${ENV}
// expansion in values, and validation that reports every problem at once with
// its key path and line.
package config

import (
	"fmt"
	"net"
	"strconv"
	"time"
)

// Auth modes accepted by the `auth` key.
const (
	// AuthSASL requires every client to log in with SASL (an API key over
	// PLAIN or an OAuth token over OAUTHBEARER) before anything is
	// forwarded. It is the default.
	AuthSASL = "sasl"
	// AuthNone lets every client through unauthenticated. It exists for
	// local development and benchmarks and is logged loudly at start-up.
	AuthNone = "none"
)

// SASL mechanisms clients can use to log in to the proxy.
const (
	// ClientPlain is SASL/PLAIN with an API key id and secret.
	ClientPlain = "PLAIN"
	// ClientOAuthBearer is SASL/OAUTHBEARER with an OIDC access token.
	ClientOAuthBearer = "OAUTHBEARER"
)

// Config is the whole configuration file. The zero value is not useful; start
// from Default and decode a file over it (see Load).
type Config struct {
	// Listener is the client-facing side of the proxy.
	Listener Listener `yaml:"listener"`
	// ExtraListeners are further client-facing listeners, each with its
	// own addresses, TLS and SASL mechanisms, like a broker's listeners.
	ExtraListeners []Listener `yaml:"extra_listeners"`
	// Upstream describes the real Kafka cluster and how the proxy logs in to it.
	Upstream Upstream `yaml:"upstream"`
	// Auth selects how clients authenticate: AuthSASL (default) or AuthNone.
	Auth string `yaml:"auth"`
	// Authentication tunes client logins: sessions, throttling, cluster id.
	Authentication Authentication `yaml:"authentication"`
	// APIKeys are the accounts and API keys that log in over SASL/PLAIN.
	APIKeys APIKeys `yaml:"api_keys"`
	// OIDC lists identity providers and the identity pools their tokens
	// map to, for SASL/OAUTHBEARER.
	OIDC OIDC `yaml:"oidc"`
	// Authorization is who may do what once logged in: ACLs, role
	// bindings and super users. It applies when Auth is AuthSASL.
	Authorization Authorization `yaml:"authorization"`
	// Audit is where authentication and authorization events are written.
	Audit Audit `yaml:"audit"`
	// Limits bound what one client connection may cost.
	Limits Limits `yaml:"limits"`
	// Metrics is the HTTP endpoint for Prometheus, /healthz and /readyz.
	Metrics Metrics `yaml:"metrics"`
	// Organization is where the proxy's cluster sits: the organization
	// and environment that role bindings' CRNs name.
	Organization Organization `yaml:"organization"`
	// Admin is the management API.
	Admin Admin `yaml:"admin"`
	// Log configures the process log.
	Log Log `yaml:"log"`
	// ShutdownTimeout bounds how long SIGTERM waits for in-flight requests
	// before connections are closed.
	ShutdownTimeout Duration `yaml:"shutdown_timeout"`
}

// DefaultListenerName names the main listener.
const DefaultListenerName = "default"

// Listener is where clients connect.
type Listener struct {
	// Name identifies the listener in logs and the audit log. Default:
	// DefaultListenerName for the main listener; required for the others.
	Name string `yaml:"name"`
	// Address is the bootstrap address, host:port.
	Address string `yaml:"address"`
	// AdvertisedHost is the host name clients are told to use for brokers.
	// Defaults to the host of Address, or 127.0.0.1 when that is a wildcard.
	AdvertisedHost string `yaml:"advertised_host"`
	// BrokerPortBase: upstream broker N is served on port BrokerPortBase+N
	// of every interface Address binds. Defaults to the bootstrap port + 1.
	BrokerPortBase int `yaml:"broker_port_base"`
	// TLS, when set, makes every client port a TLS port.
	TLS *ServerTLS `yaml:"tls"`
	// SASLMechanisms are the mechanisms clients may use on this listener
	// when auth is sasl. Default: PLAIN when API keys can exist, plus
	// OAUTHBEARER when identity pools can: declared, or created through
	// the admin API.
	SASLMechanisms []string `yaml:"sasl_mechanisms"`
	// ProxyProtocol makes every port of the listener take the PROXY
	// protocol (v1 or v2) from TrustedProxies, the load balancers in front
	// of the proxy: their connections must start with a header, whose
	// client address is then the one host ACLs, the login throttle, the
	// audit log and the logs see. A connection from any other address is
	// a plain client, and is refused if it sends a header. Default: off
	// (headers are not looked for).
	ProxyProtocol bool `yaml:"proxy_protocol"`
	// TrustedProxies are the CIDRs (or single addresses) PROXY headers
	// are accepted from; required with ProxyProtocol.
	TrustedProxies []string `yaml:"trusted_proxies"`
}

// Authentication tunes how client logins are checked.
type Authentication struct {
	// ClusterID is the cluster API keys are scoped to and the value a
	// client's logicalCluster SASL extension must name. Default: the
	// upstream Kafka cluster's id.
	ClusterID string `yaml:"cluster_id"`
	// MaxSessionLifetime caps how long a login lasts before the client must
	// re-authenticate (KIP-368). 0 means no cap beyond a token's expiry.
	MaxSessionLifetime Duration `yaml:"max_session_lifetime"`
	// Timeout bounds the time from connecting to a completed login.
	Timeout Duration `yaml:"timeout"`
	// FailureDelay is added before every failed login is answered.
	FailureDelay Duration `yaml:"failure_delay"`
	// FailureWindow is the period over which failures are counted.
	FailureWindow Duration `yaml:"failure_window"`
	// MaxFailuresPerSource is how many failed logins one client IP address
	// may have in FailureWindow before its further logins are refused
	// unchecked, until the window ends. Only its own failures count.
	MaxFailuresPerSource int `yaml:"max_failures_per_source"`
	// MaxFailuresPerKey is how many failed logins one API key, identity
	// pool or token subject may have in FailureWindow, from any address,
	// before the proxy reports it under attack (a warning and a metric).
	// Its correct logins are never refused for that: a key id is not a
	// secret, and refusing it would let anyone who knows it lock its
	// application out.
	MaxFailuresPerKey int `yaml:"max_failures_per_key"`
	// MaxFailuresPerSecond bounds the failed token verifications per
	// second across the proxy. Past it, a token the proxy has not verified
	// before is checked only for a client address that logged in within
	// the last hour, and refused unchecked for others until the rate falls;
	// API keys and tokens already verified are always checked. 0 means no
	// bound.
	MaxFailuresPerSecond int `yaml:"max_failures_per_second"`
}

// APIKeys are the accounts and API keys that log in with SASL/PLAIN.
type APIKeys struct {
	// StateFile holds accounts and keys created with the api-key and
	// service-account commands. The proxy re-reads it when it changes.
	StateFile string `yaml:"state_file"`
	// StatePollInterval is how often StateFile is checked for changes.
	StatePollInterval Duration `yaml:"state_poll_interval"`
	// Accounts declared in this file.
	Accounts []Account `yaml:"accounts"`
	// Keys declared in this file.
	Keys []APIKey `yaml:"keys"`
}

// Account is a service account (sa-…) or user account (u-…).
type Account struct {
	ID          string `yaml:"id"`
	Description string `yaml:"description"`
}

// APIKey is a key id and the salted hash of its secret.
type APIKey struct {
	// ID is the 16-character key id clients send as the PLAIN username.
	ID string `yaml:"id"`
	// SecretHash is the output of `kafka-auth-proxy api-key hash`.
	SecretHash string `yaml:"secret_hash"`
	// Account owns the key; the principal is User:<account>.
	Account string `yaml:"account"`
	// Cluster is the cluster id the key is valid for.
	Cluster     string `yaml:"cluster"`
	Description string `yaml:"description"`
}

// OIDC configures SASL/OAUTHBEARER.
type OIDC struct {
	// MaxTokenBytes rejects larger tokens before parsing them.
	MaxTokenBytes int `yaml:"max_token_bytes"`
	// Providers are the identity providers whose tokens are accepted.
	Providers []OIDCProvider `yaml:"providers"`
	// IdentityPools map tokens to principals.
	IdentityPools []IdentityPool `yaml:"identity_pools"`
}

// OIDCProvider is one OpenID Connect identity provider.
type OIDCProvider struct {
	// Name identifies the provider in identity pools, logs and metrics.
	Name string `yaml:"name"`
	// Issuer is the exact iss of its tokens.
	Issuer string `yaml:"issuer"`
	// JWKSURI is where its signing keys are published. Default: discovered
	// from Issuer/.well-known/openid-configuration.
	JWKSURI string `yaml:"jwks_uri"`
	// Audiences: a token's aud must contain at least one of them.
	Audiences []string `yaml:"audiences"`
	// ClockSkew is allowed on exp, nbf and iat.
	ClockSkew Duration `yaml:"clock_skew"`
	// Algorithms are the accepted signature algorithms (asymmetric only).
	Algorithms []string `yaml:"algorithms"`
	// JWKSRefresh is how often the keys are re-read.
	JWKSRefresh Duration `yaml:"jwks_refresh"`
	// JWKSMinRefreshInterval limits refreshes caused by unknown key ids.
	JWKSMinRefreshInterval Duration `yaml:"jwks_min_refresh_interval"`
	// CAFile is a PEM bundle for the provider's HTTPS certificate; empty
	// means the system roots.
	CAFile string `yaml:"ca_file"`
}

// IdentityPool maps tokens of one provider to the principal User:<id>.
type IdentityPool struct {
	// ID is "pool-…".
	ID string `yaml:"id"`
	// Provider is the name of an entry of oidc.providers.
	Provider string `yaml:"provider"`
	// IdentityClaim is a CEL expression naming the caller inside the pool.
	IdentityClaim string `yaml:"identity_claim"`
	// Filter is a CEL expression over claims; tokens for which it is true
	// belong to the pool.
	Filter      string `yaml:"filter"`
	Description string `yaml:"description"`
}

// Authorization is the static part of the access policy. ACLs created
// through Kafka's CreateAcls API are kept in api_keys.state_file and add to
// these. Both reload without a restart.
type Authorization struct {
	// SuperUsers skip every check, like the broker's super.users.
	SuperUsers []string `yaml:"super_users"`
	// AllowIfNoACL allows access to a resource that no ACL of any
	// principal matches, like allow.everyone.if.no.acl.found. Default:
	// false (deny).
	AllowIfNoACL bool `yaml:"allow_if_no_acl"`
	// AuditAllowedSampleRate is the fraction (0 to 1) of allowed decisions
	// written to the audit log. Every denial is written. Default: 0.
	AuditAllowedSampleRate float64 `yaml:"audit_allowed_sample_rate"`
	// ACLs are Kafka ACLs.
	ACLs []ACL `yaml:"acls"`
	// RoleBindings grant roles (DeveloperRead, ...) to principals.
	RoleBindings []RoleBinding `yaml:"role_bindings"`
}

// ACL is one Kafka ACL. Names of types, patterns, operations and
// permissions are case-insensitive ("topic", "Topic", "TOPIC").
type ACL struct {
	// Principal is User:sa-…, User:u-…, User:pool-… or User:*.
	Principal string `yaml:"principal"`
	// Host is an IP address or "*" (the default).
	Host string `yaml:"host"`
	// ResourceType is topic, group, transactional_id or cluster.
	ResourceType string `yaml:"resource_type"`
	// Name is the resource name or prefix; "*" with a literal pattern
	// matches every name. For cluster it defaults to kafka-cluster.
	Name string `yaml:"name"`
	// Pattern is literal (the default) or prefixed.
	Pattern string `yaml:"pattern"`
	// Operation is read, write, create, delete, alter, describe,
	// cluster_action, describe_configs, alter_configs, idempotent_write or
	// all.
	Operation string `yaml:"operation"`
	// Permission is allow (the default) or deny.
	Permission string `yaml:"permission"`
}

// RoleBinding grants a role to a principal, on the whole cluster or on the
// resources a name and pattern match.
type RoleBinding struct {
	Principal string `yaml:"principal"`
	// Role is DeveloperRead, DeveloperWrite, DeveloperManage,
	// ResourceOwner, Operator, CloudClusterAdmin, EnvironmentAdmin,
	// OrganizationAdmin or MetricsViewer.
	Role string `yaml:"role"`
	// Cluster is the cluster id the binding is scoped to. Default:
	// authentication.cluster_id (or the upstream cluster's id).
	Cluster string `yaml:"cluster"`
	// ResourceType is topic, group or transactional_id for a binding on
	// resources; empty for a cluster-wide binding.
	ResourceType string `yaml:"resource_type"`
	Name         string `yaml:"name"`
	// Pattern is literal (the default) or prefixed.
	Pattern string `yaml:"pattern"`
}

// Audit is the audit log sink.
type Audit struct {
	// Output is "stdout", a file path, or "" for no audit log.
	Output string `yaml:"output"`
}

// ServerTLS is the proxy's server certificate for client connections.
type ServerTLS struct {
	CertFile string `yaml:"cert_file"`
	KeyFile  string `yaml:"key_file"`
	// ClientCAFile, when set, requires and verifies client certificates.
	ClientCAFile string `yaml:"client_ca_file"`
}

// Upstream is the real Kafka cluster.
type Upstream struct {
	// Bootstrap lists host:port of one or more upstream brokers.
	Bootstrap []string `yaml:"bootstrap"`
	// TLS, when set, makes upstream connections use TLS (and mTLS when a
	// client certificate is given).
	TLS *ClientTLS `yaml:"tls"`
	// SASL, when set, authenticates the proxy's upstream connections as the
	// proxy's own identity.
	SASL *SASL `yaml:"sasl"`
	// DialTimeout bounds connecting and the upstream handshake.
	DialTimeout Duration `yaml:"dial_timeout"`
	// MetadataRefresh is how often the proxy re-reads the broker list, so
	// that brokers that join later get a port.
	MetadataRefresh Duration `yaml:"metadata_refresh"`
}

// ClientTLS is how the proxy verifies (and authenticates to) upstream brokers.
type ClientTLS struct {
	// CAFile is a PEM bundle; empty means the system roots.
	CAFile string `yaml:"ca_file"`
	// CertFile and KeyFile give a client certificate for mTLS.
	CertFile string `yaml:"cert_file"`
	KeyFile  string `yaml:"key_file"`
	// ServerName overrides the name checked in the broker certificate.
	ServerName string `yaml:"server_name"`
	// InsecureSkipVerify disables certificate checks. Never use it in
	// production.
	InsecureSkipVerify bool `yaml:"insecure_skip_verify"`
}

// SASL mechanisms the proxy can use upstream.
const (
	MechanismPlain       = "PLAIN"
	MechanismScramSHA256 = "SCRAM-SHA-256"
	MechanismScramSHA512 = "SCRAM-SHA-512"
)

// SASL is the proxy's own upstream identity.
type SASL struct {
	Mechanism string `yaml:"mechanism"`
	Username  string `yaml:"username"`
	Password  string `yaml:"password"`
}

// Limits bound per-connection resources.
type Limits struct {
	// MaxRequestBytes is the largest request frame accepted from a client,
	// checked before allocating (like the broker's socket.request.max.bytes).
	MaxRequestBytes int `yaml:"max_request_bytes"`
	// MaxResponseBytes is the largest response frame accepted from upstream.
	MaxResponseBytes int `yaml:"max_response_bytes"`
	// MaxInFlight is how many requests one client connection may have
	// outstanding; further reads wait until responses are written.
	MaxInFlight int `yaml:"max_in_flight"`
}

// Metrics is the observability HTTP endpoint.
type Metrics struct {
	// Address is host:port for /metrics, /healthz and /readyz. Empty
	// disables the endpoint.
	Address string `yaml:"address"`
}

// Organization names the scopes of role bindings: an organization and
// the environment of the proxy's cluster.
type Organization struct {
	// ID is the organization, "org-…".
	ID string `yaml:"id"`
	// Environment is the environment of the proxy's cluster, "env-…".
	Environment string `yaml:"environment"`
}

// Admin is the management API: service accounts, users, API keys, role
// bindings, identity providers and pools, and ACLs, managed at run time
// by the principals whose role bindings allow it.
type Admin struct {
	// Address is host:port of the API. Empty (the default) disables it.
	Address string `yaml:"address"`
	// TLS, when set, serves the API over HTTPS (and requires client
	// certificates when client_ca_file is set).
	TLS *ServerTLS `yaml:"tls"`
	// AllowedProviderURLs are the URL prefixes identity providers
	// registered through the API may use for their issuer, discovery
	// document and keys. An https:// prefix allows https under it; plain
	// http needs an http:// prefix. Empty: no provider can be registered
	// through the API.
	AllowedProviderURLs []string `yaml:"allowed_provider_urls"`
	// MaxBodyBytes bounds a request body.
	MaxBodyBytes int `yaml:"max_body_bytes"`
	// TrustedProxies are the CIDRs (or single addresses) of the reverse
	// proxies in front of the API: from them, and only from them, the
	// X-Forwarded-For header names the caller's address (the right-most
	// address that is not a trusted proxy). Default: none (the peer's
	// address is the caller's).
	TrustedProxies []string `yaml:"trusted_proxies"`
}

// Log configures zap.
type Log struct {
	// Level is debug, info, warn or error.
	Level string `yaml:"level"`
	// Format is json or console.
	Format string `yaml:"format"`
}

// Default returns the documented defaults. Listener.AdvertisedHost and
// Listener.BrokerPortBase are derived from Listener.Address by Normalize.
func Default() *Config {
	return &Config{
		Listener: Listener{
			Name:    DefaultListenerName,
			Address: "127.0.0.1:9092",
		},
		Auth: AuthSASL,
		Authentication: Authentication{
			Timeout:              Duration(10 * time.Second),
			FailureDelay:         Duration(500 * time.Millisecond),
			FailureWindow:        Duration(time.Minute),
			MaxFailuresPerSource: 30,
			MaxFailuresPerKey:    10,
			MaxFailuresPerSecond: 200,
		},
		APIKeys: APIKeys{StatePollInterval: Duration(time.Second)},
		OIDC:    OIDC{MaxTokenBytes: 16 << 10},
		Upstream: Upstream{
			DialTimeout:     Duration(10 * time.Second),
			MetadataRefresh: Duration(30 * time.Second),
		},
		Limits: Limits{
			MaxRequestBytes:  100 << 20, // socket.request.max.bytes
			MaxResponseBytes: 256 << 20,
			MaxInFlight:      1000,
		},
		Metrics:         Metrics{Address: "127.0.0.1:9404"},
		Organization:    Organization{ID: "org-default", Environment: "env-default"},
		Admin:           Admin{MaxBodyBytes: 1 << 20},
		Log:             Log{Level: "info", Format: "json"},
		ShutdownTimeout: Duration(30 * time.Second),
	}
}

// Listeners returns every client listener, the main one first.
func (c *Config) Listeners() []*Listener {
	out := []*Listener{&c.Listener}
	for i := range c.ExtraListeners {
		out = append(out, &c.ExtraListeners[i])
	}
	return out
}

// Normalize fills the values that derive from others. It is called by Load and
// must be called by code that builds a Config by hand.
func (c *Config) Normalize() error {
	if c.Listener.Name == "" {
		c.Listener.Name = DefaultListenerName
	}
	for _, l := range c.Listeners() {
		if err := c.normalizeListener(l); err != nil {
			return err
		}
	}
	for i := range c.OIDC.Providers {
		c.OIDC.Providers[i].SetDefaults()
	}
	return nil
}

// SetDefaults fills the settings of p that are not set with their
// defaults. Normalize calls it; providers registered through the admin API
// get the same defaults.
func (p *OIDCProvider) SetDefaults() {
	if p.ClockSkew == 0 {
		p.ClockSkew = DefaultClockSkew
	}
	if len(p.Algorithms) == 0 {
		p.Algorithms = []string{"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"}
	}
	if p.JWKSRefresh == 0 {
		p.JWKSRefresh = DefaultJWKSRefresh
	}
	if p.JWKSMinRefreshInterval == 0 {
		p.JWKSMinRefreshInterval = DefaultJWKSMinRefreshInterval
	}
}

func (c *Config) normalizeListener(l *Listener) error {
	host, port, err := net.SplitHostPort(l.Address)
	if err != nil {
		return fmt.Errorf("listener %s: address %q: %w", l.Name, l.Address, err)
	}
	if l.AdvertisedHost == "" {
		switch host {
		case "", "0.0.0.0", "::":
			l.AdvertisedHost = "127.0.0.1"
		default:
			l.AdvertisedHost = host
		}
	}
	if l.BrokerPortBase == 0 {
		p, err := strconv.Atoi(port)
		if err != nil || p == 0 {
			return fmt.Errorf("listener %s: address %q: a fixed port is needed to derive broker_port_base", l.Name, l.Address)
		}
		l.BrokerPortBase = p + 1
	}
	if c.Auth == AuthSASL && len(l.SASLMechanisms) == 0 {
		if len(c.APIKeys.Keys) > 0 || c.APIKeys.StateFile != "" {
			l.SASLMechanisms = append(l.SASLMechanisms, ClientPlain)
		}
		if len(c.OIDC.IdentityPools) > 0 || c.Admin.Address != "" {
			l.SASLMechanisms = append(l.SASLMechanisms, ClientOAuthBearer)
		}
	}
	return nil
}

// Defaults of each oidc.providers entry, filled in by Normalize.
const (
	DefaultClockSkew              = Duration(30 * time.Second)
	DefaultJWKSRefresh            = Duration(time.Hour)
	DefaultJWKSMinRefreshInterval = Duration(10 * time.Second)
)

// Duration is a time.Duration that reads and writes as "10s", "250ms".
type Duration time.Duration

// D returns d as a time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

// String formats d like time.Duration.
func (d Duration) String() string { return time.Duration(d).String() }

// UnmarshalText parses a Go duration string.
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	if err != nil {
		return fmt.Errorf("invalid duration %q (use e.g. 500ms, 10s, 1m)", string(b))
	}
	*d = Duration(v)
	return nil
}

// MarshalText formats d like time.Duration.
func (d Duration) MarshalText() ([]byte, error) { return []byte(d.String()), nil }
