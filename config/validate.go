package config

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"strconv"
	"strings"
	"time"
)

// authModes lists the accepted values of the auth key, in the order they are
// shown to users. Adding a client authentication mode is one line here.
var authModes = []string{
	AuthNone,
}

// saslMechanisms lists the accepted values of upstream.sasl.mechanism.
var saslMechanisms = []string{MechanismPlain, MechanismScramSHA256, MechanismScramSHA512}

var (
	logLevels  = []string{"debug", "info", "warn", "error"}
	logFormats = []string{"json", "console"}
)

// Limits on the limits.
const (
	minFrameBytes  = 1 << 10   // 1 KiB
	maxFrameBytes  = 1<<31 - 1 // 2 GiB - 1, the largest Kafka frame length
	maxMaxInFlight = 100_000   // requests outstanding per connection
	maxPort        = 65535
)

// canonicalize rewrites values whose case does not matter to their canonical
// spelling, so that the rest of the program can compare them directly.
func canonicalize(c *Config) {
	c.Auth = strings.ToLower(strings.TrimSpace(c.Auth))
	if c.Upstream.SASL != nil {
		c.Upstream.SASL.Mechanism = strings.ToUpper(strings.TrimSpace(c.Upstream.SASL.Mechanism))
	}
	c.Log.Level = strings.ToLower(strings.TrimSpace(c.Log.Level))
	c.Log.Format = strings.ToLower(strings.TrimSpace(c.Log.Format))
}

// checker collects problems; lines maps key paths that were in the file to
// their lines (nil for a Config built in code), failed holds the paths that
// already have a decoding problem.
type checker struct {
	lines    map[string]int
	failed   map[string]bool
	problems []Problem
}

// parents calls f with path and then each enclosing path, ending with "" (the
// whole file), until f returns true.
func parents(path string, f func(string) bool) bool {
	for p := path; ; {
		if f(p) {
			return true
		}
		if p == "" {
			return false
		}
		i := strings.LastIndexAny(p, ".[")
		if i < 0 {
			i = 0
		}
		p = p[:i]
	}
}

// line returns the line of path, or, for a key missing from a section that is
// in the file, the line of the nearest enclosing section; 0 when none of it
// came from the file.
func (k *checker) line(path string) int {
	line := 0
	parents(path, func(p string) bool {
		l, ok := k.lines[p]
		line = l
		return ok
	})
	return line
}

func (k *checker) present(path string) bool {
	_, ok := k.lines[path]
	return ok
}

func (k *checker) add(path, format string, args ...any) {
	if k.failed != nil && parents(path, func(p string) bool { return k.failed[p] }) {
		return // the value was reported when it failed to decode
	}
	k.problems = append(k.problems, Problem{Path: path, Line: k.line(path), Message: fmt.Sprintf(format, args...)})
}

// validate checks c and returns every problem found.
func validate(c *Config, lines map[string]int, failed map[string]bool) []Problem {
	k := &checker{lines: lines, failed: failed}
	k.listener(&c.Listener)
	k.auth(c.Auth)
	k.upstream(&c.Upstream)
	k.limits(&c.Limits)
	if c.Metrics.Address != "" {
		k.hostPort("metrics.address", c.Metrics.Address, hostPortRules{allowEmptyHost: true, allowZeroPort: true})
	}
	k.oneOf("log.level", c.Log.Level, logLevels)
	k.oneOf("log.format", c.Log.Format, logFormats)
	k.positive("shutdown_timeout", c.ShutdownTimeout)
	return k.problems
}

func (k *checker) listener(l *Listener) {
	baseSet := l.BrokerPortBase != 0 || k.present("listener.broker_port_base")
	port, ok := k.hostPort("listener.address", l.Address, hostPortRules{allowEmptyHost: true, allowZeroPort: true})
	if ok && port == 0 && !baseSet {
		k.add("listener.address", "port 0 (any free port) needs listener.broker_port_base set explicitly, because broker ports are otherwise derived from the bootstrap port")
	}
	if baseSet {
		switch {
		case l.BrokerPortBase < 1 || l.BrokerPortBase > maxPort:
			k.add("listener.broker_port_base", "must be between 1 and %d; got %d (leave it out to use the listener.address port + 1)", maxPort, l.BrokerPortBase)
		case ok && port == l.BrokerPortBase:
			k.add("listener.broker_port_base", "must differ from the listener.address port %d, which serves bootstrap connections (broker N is served on broker_port_base + N)", port)
		}
	}
	if h := l.AdvertisedHost; h != "" {
		if _, _, err := net.SplitHostPort(h); err == nil {
			k.add("listener.advertised_host", "must be a host name or IP address without a port; got %q (broker ports come from listener.broker_port_base)", h)
		} else if strings.ContainsAny(h, " \t/[]") {
			k.add("listener.advertised_host", "must be a host name or IP address; got %q", h)
		}
	}
	if t := l.TLS; t != nil {
		k.required("listener.tls.cert_file", t.CertFile, "listener.tls is set")
		k.required("listener.tls.key_file", t.KeyFile, "listener.tls is set")
		k.keyPair("listener.tls.cert_file", t.CertFile, "listener.tls.key_file", t.KeyFile)
		if t.ClientCAFile != "" {
			k.caFile("listener.tls.client_ca_file", t.ClientCAFile)
		}
	}
}

func (k *checker) auth(mode string) {
	if mode == "" {
		k.add("auth", "required; set %q to run without client authentication (development only)", AuthNone)
		return
	}
	k.oneOf("auth", mode, authModes)
}

func (k *checker) upstream(u *Upstream) {
	if len(u.Bootstrap) == 0 {
		k.add("upstream.bootstrap", "required: list the host:port of one or more upstream brokers")
	}
	for i, b := range u.Bootstrap {
		k.hostPort(fmt.Sprintf("upstream.bootstrap[%d]", i), b, hostPortRules{})
	}
	if t := u.TLS; t != nil {
		if t.CAFile != "" {
			k.caFile("upstream.tls.ca_file", t.CAFile)
		}
		switch {
		case t.CertFile != "" && t.KeyFile == "":
			k.add("upstream.tls.key_file", "required when upstream.tls.cert_file is set (a client certificate needs its key)")
			k.readable("upstream.tls.cert_file", t.CertFile)
		case t.CertFile == "" && t.KeyFile != "":
			k.add("upstream.tls.cert_file", "required when upstream.tls.key_file is set (a client key needs its certificate)")
			k.readable("upstream.tls.key_file", t.KeyFile)
		default:
			k.keyPair("upstream.tls.cert_file", t.CertFile, "upstream.tls.key_file", t.KeyFile)
		}
	}
	if s := u.SASL; s != nil {
		if s.Mechanism == "" {
			k.add("upstream.sasl.mechanism", "required when upstream.sasl is set; one of %s", strings.Join(saslMechanisms, ", "))
		} else {
			k.oneOf("upstream.sasl.mechanism", s.Mechanism, saslMechanisms)
		}
		k.required("upstream.sasl.username", s.Username, "upstream.sasl is set")
		k.required("upstream.sasl.password", s.Password, "upstream.sasl is set")
	}
	k.positive("upstream.dial_timeout", u.DialTimeout)
	k.positive("upstream.metadata_refresh", u.MetadataRefresh)
}

func (k *checker) limits(l *Limits) {
	k.frameSize("limits.max_request_bytes", l.MaxRequestBytes)
	k.frameSize("limits.max_response_bytes", l.MaxResponseBytes)
	if l.MaxInFlight < 1 || l.MaxInFlight > maxMaxInFlight {
		k.add("limits.max_in_flight", "must be between 1 and %d; got %d", maxMaxInFlight, l.MaxInFlight)
	}
}

func (k *checker) frameSize(path string, n int) {
	if n < minFrameBytes || int64(n) > maxFrameBytes {
		k.add(path, "must be between %d (1 KiB) and %d (2 GiB - 1); got %d", minFrameBytes, int64(maxFrameBytes), n)
	}
}

func (k *checker) positive(path string, d Duration) {
	if d <= 0 {
		k.add(path, "must be greater than 0; got %s", time.Duration(d))
	}
}

func (k *checker) required(path, value, when string) {
	if value == "" {
		k.add(path, "required when %s", when)
	}
}

func (k *checker) oneOf(path, value string, accepted []string) {
	for _, a := range accepted {
		if value == a {
			return
		}
	}
	k.add(path, "must be one of %s; got %q", strings.Join(accepted, ", "), value)
}

type hostPortRules struct {
	allowEmptyHost bool // ":9092" listens on every interface
	allowZeroPort  bool // port 0 picks a free port
}

// hostPort checks that v is host:port with a numeric port and returns the port.
func (k *checker) hostPort(path, v string, r hostPortRules) (int, bool) {
	if v == "" {
		k.add(path, "required, as host:port")
		return 0, false
	}
	host, portStr, err := net.SplitHostPort(v)
	if err != nil {
		var ae *net.AddrError
		msg := err.Error()
		if errors.As(err, &ae) {
			msg = ae.Err
		}
		k.add(path, "must be host:port (IPv6 as [::1]:9092); got %q: %s", v, msg)
		return 0, false
	}
	if host == "" && !r.allowEmptyHost {
		k.add(path, "host is missing in %q", v)
		return 0, false
	}
	if strings.ContainsAny(host, " \t/") {
		k.add(path, "invalid host %q", host)
		return 0, false
	}
	port, err := strconv.Atoi(portStr)
	if err != nil {
		k.add(path, "port %q is not a number", portStr)
		return 0, false
	}
	minPort := 1
	if r.allowZeroPort {
		minPort = 0
	}
	if port < minPort || port > maxPort {
		k.add(path, "port %d is out of range %d-%d", port, minPort, maxPort)
		return 0, false
	}
	return port, true
}

// readable reports a problem and returns nil when file cannot be read.
func (k *checker) readable(path, file string) []byte {
	if file == "" {
		return nil
	}
	b, err := os.ReadFile(file)
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		k.add(path, "cannot read %q: %v", file, err)
		return nil
	}
	return b
}

// keyPair checks that a certificate and its private key can be read and
// belong together. Either may be empty (reported elsewhere).
func (k *checker) keyPair(certPath, certFile, keyPath, keyFile string) {
	certPEM := k.readable(certPath, certFile)
	keyPEM := k.readable(keyPath, keyFile)
	if certPEM == nil {
		return
	}
	if _, err := parseCerts(certPEM); err != nil {
		k.add(certPath, "%q: %v", certFile, err)
		return
	}
	if keyPEM == nil {
		return
	}
	if _, err := tls.X509KeyPair(certPEM, keyPEM); err != nil {
		k.add(keyPath, "%q does not go with certificate %q: %s", keyFile, certFile, strings.TrimPrefix(err.Error(), "tls: "))
	}
}

// caFile checks that file holds one or more PEM certificates.
func (k *checker) caFile(path, file string) {
	b := k.readable(path, file)
	if b == nil {
		return
	}
	if _, err := parseCerts(b); err != nil {
		k.add(path, "%q: %v", file, err)
		return
	}
	if !x509.NewCertPool().AppendCertsFromPEM(b) {
		k.add(path, "%q: no usable certificates", file)
	}
}

// parseCerts parses every CERTIFICATE block in a PEM file and fails if there
// is none or one does not parse.
func parseCerts(b []byte) ([]*x509.Certificate, error) {
	var certs []*x509.Certificate
	for {
		var block *pem.Block
		block, b = pem.Decode(b)
		if block == nil {
			break
		}
		if block.Type != "CERTIFICATE" {
			continue
		}
		c, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("certificate %d does not parse: %w", len(certs)+1, err)
		}
		certs = append(certs, c)
	}
	if len(certs) == 0 {
		return nil, errors.New("no PEM CERTIFICATE block found")
	}
	return certs, nil
}
