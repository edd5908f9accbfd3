package proxy

import (
	"net/netip"
	"time"
)

// Config is what a Server is built from. The proxy's command builds it
// from the configuration file.
type Config struct {
	// Listeners are the client-facing listeners, the main one first.
	Listeners []Listener
	// Upstream is the real Kafka cluster and how the proxy logs in to it.
	Upstream Upstream
	// Authenticate makes every client log in with SASL before anything
	// it sends is forwarded (SetAuthenticator is then required); false
	// lets every client through unauthenticated.
	Authenticate bool
	// AuthTimeout bounds the time from connecting to a completed login.
	AuthTimeout time.Duration
	// Limits bound what one client connection may cost.
	Limits Limits
}

// Listener is one client-facing listener: a bootstrap address, and a port
// per upstream broker.
type Listener struct {
	// Name identifies the listener in logs, the audit log and the
	// authenticator's mechanisms.
	Name string
	// Address is the bootstrap address, host:port.
	Address string
	// AdvertisedHost is the host clients are told to use for brokers.
	AdvertisedHost string
	// BrokerPortBase: upstream broker N is served on BrokerPortBase+N.
	BrokerPortBase int
	// TLS, when set, makes every port of the listener a TLS port.
	TLS *ServerTLS
	// SASLMechanisms are the mechanisms the listener offers, for its log
	// line; the authenticator decides.
	SASLMechanisms []string
	// ProxyProtocol makes every port of the listener take a PROXY protocol
	// (v1 or v2) header from TrustedProxies, which then must send one; a
	// connection from elsewhere that sends one is refused. The header's
	// client address is the connection's for the login, host ACLs, the
	// audit log and the logs.
	ProxyProtocol bool
	// TrustedProxies are the networks of the load balancers whose headers
	// are believed.
	TrustedProxies []netip.Prefix
}

// ServerTLS is the proxy's server certificate for client connections.
type ServerTLS struct {
	CertFile, KeyFile string
	// ClientCAFile, when set, requires and verifies client certificates.
	ClientCAFile string
}

// Upstream is the real Kafka cluster.
type Upstream struct {
	// Bootstrap lists host:port of one or more upstream brokers.
	Bootstrap []string
	// TLS, when set, makes upstream connections use TLS.
	TLS *UpstreamTLS
	// SASL, when set, logs the proxy's upstream connections in as the
	// proxy's own identity.
	SASL *UpstreamSASL
	// DialTimeout bounds connecting and the upstream handshake.
	DialTimeout time.Duration
	// MetadataRefresh is how often the broker list is re-read.
	MetadataRefresh time.Duration
}

// UpstreamTLS is how the proxy verifies, and authenticates to, upstream
// brokers.
type UpstreamTLS struct {
	// CAFile is a PEM bundle; empty means the system roots.
	CAFile string
	// CertFile and KeyFile give a client certificate for mTLS.
	CertFile, KeyFile string
	// ServerName overrides the name checked in the broker certificate.
	ServerName string
	// InsecureSkipVerify disables certificate checks.
	InsecureSkipVerify bool
}

// The SASL mechanisms the proxy logs in to brokers with.
const (
	UpstreamPlain       = "PLAIN"
	UpstreamScramSHA256 = "SCRAM-SHA-256"
	UpstreamScramSHA512 = "SCRAM-SHA-512"
)

// UpstreamSASL is the proxy's own upstream identity.
type UpstreamSASL struct {
	Mechanism, Username, Password string
}

// Limits bound per-connection resources.
type Limits struct {
	// MaxRequestBytes is the largest request frame accepted from a
	// client, checked before anything is allocated for it.
	MaxRequestBytes int
	// MaxResponseBytes is the largest response frame accepted from a
	// broker.
	MaxResponseBytes int
	// MaxInFlight is how many requests one client connection may have
	// outstanding.
	MaxInFlight int
}
