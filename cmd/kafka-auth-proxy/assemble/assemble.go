// Package assemble builds the inputs of the proxy's packages from a
// configuration file: proxy.Config, authn.Config and the authorization
// policy (authz.Policy). It also checks what only those packages can tell
// about the file, such as API key ids and secret hashes, identity pools'
// CEL expressions, ACLs and role bindings, and reports each problem with
// its key path and line, as the config package reports its own.
//
// The proxy's command uses it, and so do the tests that run a proxy
// in-process from a configuration. The packages it builds inputs for never
// see the configuration file's types: the dependencies point from here to
// them.
package assemble

import (
	"errors"
	"net/netip"

	"github.com/kafka-auth-proxy/kafka-auth-proxy/authn"
	"github.com/kafka-auth-proxy/kafka-auth-proxy/authn/pool"
	"github.com/kafka-auth-proxy/kafka-auth-proxy/config"
	"github.com/kafka-auth-proxy/kafka-auth-proxy/proxy"
)

// Load reads the configuration file at path and checks it: the config
// package's checks and this package's. When anything is wrong the error
// is a *config.ProblemsError listing every problem, with its line.
func Load(path string) (*config.Config, error) {
	f, err := config.Read(path)
	if err != nil {
		return nil, err
	}
	problems := f.Problems
	if f.Config != nil {
		for _, p := range Check(f.Config) {
			p.Line = f.Line(p.Path)
			problems = append(problems, p)
		}
	}
	if len(problems) > 0 {
		return nil, config.NewProblemsError(path, problems)
	}
	return f.Config, nil
}

// CheckFile is the check-config command: every problem of the file at
// path, or nil. A file that cannot be read is one problem without a path.
func CheckFile(path string) []config.Problem {
	_, err := Load(path)
	if err == nil {
		return nil
	}
	var pe *config.ProblemsError
	if errors.As(err, &pe) {
		return pe.Problems
	}
	return []config.Problem{{Message: err.Error()}}
}

// Check reports what is wrong with cfg that the config package cannot
// tell: its API keys, identity pools and authorization policy. The
// problems carry no lines; Load adds them.
func Check(cfg *config.Config) []config.Problem {
	c := &checker{cfg: cfg}
	c.apiKeys()
	c.pools()
	c.authorization()
	return c.problems
}

// Proxy is the proxy server's input.
func Proxy(cfg *config.Config) proxy.Config {
	out := proxy.Config{
		Upstream: proxy.Upstream{
			Bootstrap:       cfg.Upstream.Bootstrap,
			DialTimeout:     cfg.Upstream.DialTimeout.D(),
			MetadataRefresh: cfg.Upstream.MetadataRefresh.D(),
		},
		Authenticate: cfg.Auth == config.AuthSASL,
		AuthTimeout:  cfg.Authentication.Timeout.D(),
		Limits: proxy.Limits{
			MaxRequestBytes:  cfg.Limits.MaxRequestBytes,
			MaxResponseBytes: cfg.Limits.MaxResponseBytes,
			MaxInFlight:      cfg.Limits.MaxInFlight,
		},
	}
	if t := cfg.Upstream.TLS; t != nil {
		out.Upstream.TLS = &proxy.UpstreamTLS{CAFile: t.CAFile, CertFile: t.CertFile, KeyFile: t.KeyFile,
			ServerName: t.ServerName, InsecureSkipVerify: t.InsecureSkipVerify}
	}
	if s := cfg.Upstream.SASL; s != nil {
		out.Upstream.SASL = &proxy.UpstreamSASL{Mechanism: s.Mechanism, Username: s.Username, Password: s.Password}
	}
	for _, l := range cfg.Listeners() {
		pl := proxy.Listener{Name: l.Name, Address: l.Address, AdvertisedHost: l.AdvertisedHost,
			BrokerPortBase: l.BrokerPortBase, SASLMechanisms: l.SASLMechanisms,
			ProxyProtocol: l.ProxyProtocol, TrustedProxies: Networks(l.TrustedProxies)}
		if t := l.TLS; t != nil {
			pl.TLS = &proxy.ServerTLS{CertFile: t.CertFile, KeyFile: t.KeyFile, ClientCAFile: t.ClientCAFile}
		}
		out.Listeners = append(out.Listeners, pl)
	}
	return out
}

// Networks are the networks of a trusted_proxies list. Validation has
// reported any entry that is not one; such an entry trusts nobody.
func Networks(list []string) []netip.Prefix {
	out := make([]netip.Prefix, 0, len(list))
	for _, s := range list {
		if p, err := config.ParseNetwork(s); err == nil {
			out = append(out, p)
		}
	}
	return out
}

// Authn is the authenticator's input.
func Authn(cfg *config.Config) authn.Config {
	a := cfg.Authentication
	out := authn.Config{
		Listeners:          map[string][]string{},
		ClusterID:          a.ClusterID,
		MaxSessionLifetime: a.MaxSessionLifetime.D(),
		FailureDelay:       a.FailureDelay.D(),
		Limits: authn.Limits{
			Window:        a.FailureWindow.D(),
			PerSource:     a.MaxFailuresPerSource,
			PerCredential: a.MaxFailuresPerKey,
			PerSecond:     a.MaxFailuresPerSecond,
		},
		MaxTokenBytes: cfg.OIDC.MaxTokenBytes,
	}
	for _, l := range cfg.Listeners() {
		out.Listeners[l.Name] = l.SASLMechanisms
	}
	for _, acc := range cfg.APIKeys.Accounts {
		out.Accounts = append(out.Accounts, acc.ID)
	}
	for _, k := range cfg.APIKeys.Keys {
		out.Keys = append(out.Keys, authn.Key{ID: k.ID, SecretHash: k.SecretHash, Account: k.Account, Cluster: k.Cluster})
	}
	for _, p := range cfg.OIDC.Providers {
		out.Providers = append(out.Providers, authn.Provider{
			Name: p.Name, Issuer: p.Issuer, JWKSURI: p.JWKSURI, Audiences: p.Audiences,
			ClockSkew: p.ClockSkew.D(), Algorithms: p.Algorithms, JWKSRefresh: p.JWKSRefresh.D(),
			JWKSMinRefreshInterval: p.JWKSMinRefreshInterval.D(), CAFile: p.CAFile,
		})
	}
	for _, p := range cfg.OIDC.IdentityPools {
		out.Pools = append(out.Pools, pool.Config{ID: p.ID, Provider: p.Provider, IdentityClaim: p.IdentityClaim, Filter: p.Filter})
	}
	return out
}
