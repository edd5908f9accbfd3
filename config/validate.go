package config

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"net"
	neturl "net/url"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// authModes lists the accepted values of the auth key, in the order they are
// shown to users. Adding a client authentication mode is one line here.
var authModes = []string{
	AuthSASL,
	AuthNone,
}

// clientMechanisms lists the accepted values of listener.sasl_mechanisms.
var clientMechanisms = []string{ClientPlain, ClientOAuthBearer}

// signingAlgorithms lists the accepted values of oidc.providers[].algorithms:
// asymmetric JWS algorithms only. "none" and the HMAC algorithms are refused,
// because a public key must never be usable as a shared secret.
var signingAlgorithms = []string{
	"RS256", "RS384", "RS512", "PS256", "PS384", "PS512",
	"ES256", "ES384", "ES512", "EdDSA",
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
	for _, l := range c.Listeners() {
		for i, m := range l.SASLMechanisms {
			l.SASLMechanisms[i] = strings.ToUpper(strings.TrimSpace(m))
		}
	}
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
	k.listeners(c)
	k.auth(c)
	k.authorization(&c.Authorization)
	k.upstream(&c.Upstream)
	k.limits(&c.Limits)
	if c.Metrics.Address != "" {
		k.hostPort("metrics.address", c.Metrics.Address, hostPortRules{allowEmptyHost: true, allowZeroPort: true})
	}
	k.organization(&c.Organization)
	k.admin(c)
	k.oneOf("log.level", c.Log.Level, logLevels)
	k.oneOf("log.format", c.Log.Format, logFormats)
	k.positive("shutdown_timeout", c.ShutdownTimeout)
	return k.problems
}

// listenerName matches the names of extra listeners.
var listenerName = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,31}$`)

// listeners checks the main listener and the extra ones, each on its own
// and against each other.
func (k *checker) listeners(c *Config) {
	k.listener("listener", &c.Listener)
	names := map[string]string{c.Listener.Name: "listener"}
	if c.Listener.Name == "" {
		names = map[string]string{DefaultListenerName: "listener"}
	} else if !listenerName.MatchString(c.Listener.Name) {
		k.add("listener.name", "must be lower-case letters, digits, _ and -; got %q", c.Listener.Name)
	}
	ports := map[int]string{}
	if p, ok := k.port(c.Listener.Address); ok && p != 0 {
		ports[p] = "listener"
	}
	for i := range c.ExtraListeners {
		l := &c.ExtraListeners[i]
		path := fmt.Sprintf("extra_listeners[%d]", i)
		k.listener(path, l)
		switch {
		case l.Name == "":
			k.add(path+".name", "required: extra listeners are told apart by name in logs and the audit log")
		case !listenerName.MatchString(l.Name):
			k.add(path+".name", "must be lower-case letters, digits, _ and -; got %q", l.Name)
		case names[l.Name] != "":
			k.add(path+".name", "%q is also the name of %s", l.Name, names[l.Name])
		default:
			names[l.Name] = path
		}
		if p, ok := k.port(l.Address); ok && p != 0 {
			if other := ports[p]; other != "" {
				k.add(path+".address", "port %d is also the bootstrap port of %s", p, other)
			}
			ports[p] = path
		}
	}
}

// port is the port of a host:port that is otherwise checked elsewhere.
func (k *checker) port(addr string) (int, bool) {
	_, p, err := net.SplitHostPort(addr)
	if err != nil {
		return 0, false
	}
	n, err := strconv.Atoi(p)
	return n, err == nil
}

// listener checks one listener whose keys are under path.
func (k *checker) listener(path string, l *Listener) {
	baseSet := l.BrokerPortBase != 0 || k.present(path+".broker_port_base")
	port, ok := k.hostPort(path+".address", l.Address, hostPortRules{allowEmptyHost: true, allowZeroPort: true})
	if ok && port == 0 && !baseSet {
		k.add(path+".address", "port 0 (any free port) needs %s.broker_port_base set explicitly, because broker ports are otherwise derived from the bootstrap port", path)
	}
	if baseSet {
		switch {
		case l.BrokerPortBase < 1 || l.BrokerPortBase > maxPort:
			k.add(path+".broker_port_base", "must be between 1 and %d; got %d (leave it out to use the %s.address port + 1)", maxPort, l.BrokerPortBase, path)
		case ok && port == l.BrokerPortBase:
			k.add(path+".broker_port_base", "must differ from the %s.address port %d, which serves bootstrap connections (broker N is served on broker_port_base + N)", path, port)
		}
	}
	if h := l.AdvertisedHost; h != "" {
		if _, _, err := net.SplitHostPort(h); err == nil {
			k.add(path+".advertised_host", "must be a host name or IP address without a port; got %q (broker ports come from %s.broker_port_base)", h, path)
		} else if strings.ContainsAny(h, " \t/[]") {
			k.add(path+".advertised_host", "must be a host name or IP address; got %q", h)
		}
	}
	k.networks(path+".trusted_proxies", l.TrustedProxies)
	switch {
	case l.ProxyProtocol && len(l.TrustedProxies) == 0:
		k.add(path+".proxy_protocol", "needs %s.trusted_proxies: the CIDRs of the load balancers whose PROXY headers are believed", path)
	case !l.ProxyProtocol && len(l.TrustedProxies) > 0:
		k.add(path+".trusted_proxies", "has no effect unless %s.proxy_protocol is true", path)
	}
	if t := l.TLS; t != nil {
		k.required(path+".tls.cert_file", t.CertFile, path+".tls is set")
		k.required(path+".tls.key_file", t.KeyFile, path+".tls is set")
		k.keyPair(path+".tls.cert_file", t.CertFile, path+".tls.key_file", t.KeyFile)
		if t.ClientCAFile != "" {
			k.caFile(path+".tls.client_ca_file", t.ClientCAFile)
		}
	}
}

func (k *checker) auth(c *Config) {
	if c.Auth == "" {
		k.add("auth", "required: %q (clients log in) or %q (development only)", AuthSASL, AuthNone)
		return
	}
	k.oneOf("auth", c.Auth, authModes)
	k.authentication(&c.Authentication)
	k.apiKeys(&c.APIKeys)
	k.oidc(&c.OIDC)
	if c.Auth != AuthSASL {
		return
	}
	keys := len(c.APIKeys.Keys) > 0 || c.APIKeys.StateFile != ""
	pools := len(c.OIDC.IdentityPools) > 0 || c.Admin.Address != ""
	if !keys && !pools {
		k.add("auth", "%q needs credentials: declare api_keys (keys or a state_file) or oidc.identity_pools, or set auth: %s for development", AuthSASL, AuthNone)
		return
	}
	k.mechanisms("listener", c.Listener.SASLMechanisms, keys, pools)
	for i, l := range c.ExtraListeners {
		k.mechanisms(fmt.Sprintf("extra_listeners[%d]", i), l.SASLMechanisms, keys, pools)
	}
}

// mechanisms checks the sasl_mechanisms of the listener at path against
// the credentials that exist.
func (k *checker) mechanisms(path string, mechs []string, keys, pools bool) {
	for i, m := range mechs {
		p := fmt.Sprintf("%s.sasl_mechanisms[%d]", path, i)
		k.oneOf(p, m, clientMechanisms)
		if slices.Index(mechs, m) < i {
			k.add(p, "%s is listed twice", m)
		}
	}
	switch {
	case slices.Contains(mechs, ClientPlain) && !keys:
		k.add(path+".sasl_mechanisms", "PLAIN is enabled but no API key can exist: set api_keys.state_file or declare api_keys.keys")
	case slices.Contains(mechs, ClientOAuthBearer) && !pools:
		k.add(path+".sasl_mechanisms", "OAUTHBEARER is enabled but no identity pool is declared in oidc.identity_pools")
	}
}

func (k *checker) authentication(a *Authentication) {
	if a.MaxSessionLifetime < 0 {
		k.add("authentication.max_session_lifetime", "must be 0 (no cap) or more; got %s", a.MaxSessionLifetime)
	} else if a.MaxSessionLifetime > 0 && a.MaxSessionLifetime.D() < time.Second {
		k.add("authentication.max_session_lifetime", "must be at least 1s, or 0 for no cap; got %s", a.MaxSessionLifetime)
	}
	k.positive("authentication.timeout", a.Timeout)
	if a.FailureDelay < 0 || a.FailureDelay.D() > time.Minute {
		k.add("authentication.failure_delay", "must be between 0s and 1m; got %s", a.FailureDelay)
	}
	k.positive("authentication.failure_window", a.FailureWindow)
	if a.MaxFailuresPerSource < 1 {
		k.add("authentication.max_failures_per_source", "must be at least 1; got %d", a.MaxFailuresPerSource)
	}
	if a.MaxFailuresPerKey < 1 {
		k.add("authentication.max_failures_per_key", "must be at least 1; got %d", a.MaxFailuresPerKey)
	}
	if a.MaxFailuresPerSecond < 0 {
		k.add("authentication.max_failures_per_second", "must be 0 (no bound) or more; got %d", a.MaxFailuresPerSecond)
	}
}

// accountID matches service account (sa-…) and user account (u-…) ids.
var accountID = regexp.MustCompile(`^(sa|u)-[a-z0-9][a-z0-9-]{0,62}$`)

func (k *checker) apiKeys(a *APIKeys) {
	k.positive("api_keys.state_poll_interval", a.StatePollInterval)
	accounts := map[string]bool{}
	for i, acc := range a.Accounts {
		p := fmt.Sprintf("api_keys.accounts[%d].id", i)
		switch {
		case !accountID.MatchString(acc.ID):
			k.add(p, "must be sa-… (service account) or u-… (user account), lower-case letters, digits and dashes; got %q", acc.ID)
		case accounts[acc.ID]:
			k.add(p, "account %s is declared twice", acc.ID)
		}
		accounts[acc.ID] = true
	}
	ids := map[string]bool{}
	for i, key := range a.Keys {
		p := fmt.Sprintf("api_keys.keys[%d]", i)
		if ids[key.ID] {
			k.add(p+".id", "key %s is declared twice", key.ID)
		}
		ids[key.ID] = true
		k.required(p+".secret_hash", key.SecretHash, "a key is declared: the output of `kafka-auth-proxy api-key hash`")
		switch {
		case key.Account == "":
			k.add(p+".account", "required: the id of the account that owns the key")
		case !accounts[key.Account]:
			k.add(p+".account", "account %q is not declared in api_keys.accounts", key.Account)
		}
		k.required(p+".cluster", key.Cluster, "a key is declared (keys are scoped to one cluster id)")
	}
}

func (k *checker) oidc(o *OIDC) {
	if o.MaxTokenBytes < 256 || o.MaxTokenBytes > 1<<20 {
		k.add("oidc.max_token_bytes", "must be between 256 and 1048576; got %d", o.MaxTokenBytes)
	}
	providers := map[string]bool{}
	issuers := map[string]string{}
	for i, pr := range o.Providers {
		p := fmt.Sprintf("oidc.providers[%d]", i)
		switch {
		case pr.Name == "":
			k.add(p+".name", "required: identity pools refer to the provider by name")
		case providers[pr.Name]:
			k.add(p+".name", "provider %q is declared twice", pr.Name)
		}
		providers[pr.Name] = true
		k.url(p+".issuer", pr.Issuer, true)
		if other, dup := issuers[pr.Issuer]; dup && pr.Issuer != "" {
			k.add(p+".issuer", "provider %q has the same issuer: a token's issuer must pick one provider", other)
		}
		issuers[pr.Issuer] = pr.Name
		if pr.JWKSURI != "" {
			k.url(p+".jwks_uri", pr.JWKSURI, false)
		}
		if len(pr.Audiences) == 0 {
			k.add(p+".audiences", "required: the aud values a token may carry (at least one)")
		}
		for j, alg := range pr.Algorithms {
			ap := fmt.Sprintf("%s.algorithms[%d]", p, j)
			switch {
			case strings.EqualFold(alg, "none"), strings.HasPrefix(strings.ToUpper(alg), "HS"):
				k.add(ap, "%q is refused: only asymmetric algorithms are safe against public JWKS keys (%s)", alg, strings.Join(signingAlgorithms, ", "))
			default:
				k.oneOf(ap, alg, signingAlgorithms)
			}
		}
		if pr.ClockSkew < 0 || pr.ClockSkew.D() > 10*time.Minute {
			k.add(p+".clock_skew", "must be between 0s and 10m; got %s", pr.ClockSkew)
		}
		if pr.JWKSRefresh < 0 {
			k.add(p+".jwks_refresh", "must be more than 0 (or left out for 1h); got %s", pr.JWKSRefresh)
		}
		if pr.JWKSMinRefreshInterval < 0 {
			k.add(p+".jwks_min_refresh_interval", "must be more than 0 (or left out for 10s); got %s", pr.JWKSMinRefreshInterval)
		}
		if pr.CAFile != "" {
			k.caFile(p+".ca_file", pr.CAFile)
		}
	}
	pools := map[string]bool{}
	for i, pl := range o.IdentityPools {
		p := fmt.Sprintf("oidc.identity_pools[%d]", i)
		if pools[pl.ID] {
			k.add(p+".id", "pool %s is declared twice", pl.ID)
		}
		pools[pl.ID] = true
		switch {
		case pl.Provider == "":
			k.add(p+".provider", "required: the name of an entry of oidc.providers")
		case !providers[pl.Provider]:
			k.add(p+".provider", "provider %q is not declared in oidc.providers", pl.Provider)
		}
		if strings.TrimSpace(pl.Filter) == "" {
			k.add(p+".filter", `required: a CEL expression over claims, e.g. claims.aud == "kafka" && "payments" in claims.groups`)
		}
	}
}

// url checks an absolute http(s) URL.
func (k *checker) url(path, v string, required bool) {
	if v == "" {
		if required {
			k.add(path, "required, as an http(s) URL")
		}
		return
	}
	u, err := neturl.Parse(v)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		k.add(path, "must be an absolute http(s) URL; got %q", v)
	}
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

// networks checks a trusted_proxies list: CIDRs or single addresses.
func (k *checker) networks(path string, list []string) {
	for i, s := range list {
		if _, err := ParseNetwork(s); err != nil {
			k.add(fmt.Sprintf("%s[%d]", path, i), "%v", err)
		}
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

// scopeID matches organization and environment ids: they end up in CRNs,
// so they may not hold "/", "=" or "*".
var scopeID = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,62}$`)

func (k *checker) organization(o *Organization) {
	if !scopeID.MatchString(o.ID) || !strings.HasPrefix(o.ID, "org-") {
		k.add("organization.id", "must be org-… in lower-case letters, digits and dashes; got %q", o.ID)
	}
	if !scopeID.MatchString(o.Environment) || !strings.HasPrefix(o.Environment, "env-") {
		k.add("organization.environment", "must be env-… in lower-case letters, digits and dashes; got %q", o.Environment)
	}
}

func (k *checker) admin(c *Config) {
	a := &c.Admin
	if a.MaxBodyBytes < 1024 || a.MaxBodyBytes > 64<<20 {
		k.add("admin.max_body_bytes", "must be between 1024 and 67108864; got %d", a.MaxBodyBytes)
	}
	for i, u := range a.AllowedProviderURLs {
		k.url(fmt.Sprintf("admin.allowed_provider_urls[%d]", i), u, true)
	}
	k.networks("admin.trusted_proxies", a.TrustedProxies)
	if a.Address == "" {
		if a.TLS != nil {
			k.add("admin.tls", "admin.address is not set, so the admin API is off and its TLS unused")
		}
		if len(a.TrustedProxies) > 0 {
			k.add("admin.trusted_proxies", "admin.address is not set, so the admin API is off and its trusted proxies unused")
		}
		return
	}
	k.hostPort("admin.address", a.Address, hostPortRules{allowEmptyHost: true, allowZeroPort: true})
	if c.Auth != AuthSASL {
		k.add("admin.address", "the admin API needs auth: sasl, to authenticate its callers")
	}
	if c.APIKeys.StateFile == "" {
		k.add("admin.address", "the admin API keeps what it creates in api_keys.state_file; set it")
	}
	if t := a.TLS; t != nil {
		k.keyPair("admin.tls.cert_file", t.CertFile, "admin.tls.key_file", t.KeyFile)
		if t.ClientCAFile != "" {
			k.caFile("admin.tls.client_ca_file", t.ClientCAFile)
		}
	}
}
