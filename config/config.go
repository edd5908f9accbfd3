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
	// AuthNone lets every client through unauthenticated. It exists for
	// local development and benchmarks and is logged loudly at start-up.
	AuthNone = "none"
)

// Config is the whole configuration file. The zero value is not useful; start
// from Default and decode a file over it (see Load).
type Config struct {
	// Listener is the client-facing side of the proxy.
	Listener Listener `yaml:"listener"`
	// Upstream describes the real Kafka cluster and how the proxy logs in to it.
	Upstream Upstream `yaml:"upstream"`
	// Auth selects how clients authenticate. Only "none" exists so far; it must
	// be chosen explicitly.
	Auth string `yaml:"auth"`
	// Limits bound what one client connection may cost.
	Limits Limits `yaml:"limits"`
	// Metrics is the HTTP endpoint for Prometheus, /healthz and /readyz.
	Metrics Metrics `yaml:"metrics"`
	// Log configures the process log.
	Log Log `yaml:"log"`
	// ShutdownTimeout bounds how long SIGTERM waits for in-flight requests
	// before connections are closed.
	ShutdownTimeout Duration `yaml:"shutdown_timeout"`
}

// Listener is where clients connect.
type Listener struct {
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
		Listener: Listener{Address: "127.0.0.1:9092"},
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
		Log:             Log{Level: "info", Format: "json"},
		ShutdownTimeout: Duration(30 * time.Second),
	}
}

// Normalize fills the values that derive from others. It is called by Load and
// must be called by code that builds a Config by hand.
func (c *Config) Normalize() error {
	host, port, err := net.SplitHostPort(c.Listener.Address)
	if err != nil {
		return fmt.Errorf("listener.address %q: %w", c.Listener.Address, err)
	}
	if c.Listener.AdvertisedHost == "" {
		switch host {
		case "", "0.0.0.0", "::":
			c.Listener.AdvertisedHost = "127.0.0.1"
		default:
			c.Listener.AdvertisedHost = host
		}
	}
	if c.Listener.BrokerPortBase == 0 {
		p, err := strconv.Atoi(port)
		if err != nil || p == 0 {
			return fmt.Errorf("listener.address %q: a fixed port is needed to derive broker_port_base", c.Listener.Address)
		}
		c.Listener.BrokerPortBase = p + 1
	}
	return nil
}

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
