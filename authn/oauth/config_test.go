package oauth

import (
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestNewProviderConfig(t *testing.T) {
	valid := func() ProviderConfig {
		return ProviderConfig{Name: "corp", Issuer: "https://idp.example", Audiences: []string{"kafka"}}
	}
	for _, tc := range []struct {
		name   string
		mutate func(*ProviderConfig)
		err    string // "" means accepted
	}{
		{name: "minimal, discovery", mutate: func(*ProviderConfig) {}},
		{name: "explicit jwks_uri, issuer not a URL", mutate: func(c *ProviderConfig) { c.Issuer, c.JWKSURI = "corp-idp", "https://idp.example/keys" }},
		{name: "algorithms restricted", mutate: func(c *ProviderConfig) { c.Algorithms = []string{"ES256", "EdDSA"} }},
		{name: "no name", mutate: func(c *ProviderConfig) { c.Name = "" }, err: "name is required"},
		{name: "no issuer", mutate: func(c *ProviderConfig) { c.Issuer = "" }, err: "issuer is required"},
		{name: "discovery from an issuer that is not a URL", mutate: func(c *ProviderConfig) { c.Issuer = "corp-idp" }, err: "http(s) URL"},
		{name: "jwks_uri not http", mutate: func(c *ProviderConfig) { c.JWKSURI = "file:///etc/keys" }, err: "jwks_uri"},
		{name: "no audiences", mutate: func(c *ProviderConfig) { c.Audiences = nil }, err: "audience"},
		{name: "empty audience", mutate: func(c *ProviderConfig) { c.Audiences = []string{"kafka", ""} }, err: "audiences"},
		{name: "alg none", mutate: func(c *ProviderConfig) { c.Algorithms = []string{"RS256", "none"} }, err: `"none"`},
		{name: "HS256", mutate: func(c *ProviderConfig) { c.Algorithms = []string{"HS256"} }, err: "symmetric"},
		{name: "hs512 lower case", mutate: func(c *ProviderConfig) { c.Algorithms = []string{"hs512"} }, err: "symmetric"},
		{name: "unknown algorithm", mutate: func(c *ProviderConfig) { c.Algorithms = []string{"RS1"} }, err: "unsupported"},
		{name: "negative skew", mutate: func(c *ProviderConfig) { c.ClockSkew = -time.Second }, err: "clock skew"},
		{name: "negative refresh", mutate: func(c *ProviderConfig) { c.JWKSRefresh = -time.Second }, err: "jwks refresh"},
		{name: "negative cache size", mutate: func(c *ProviderConfig) { c.CacheSize = -1 }, err: "cache size"},
		{name: "negative max token bytes", mutate: func(c *ProviderConfig) { c.MaxTokenBytes = -1 }, err: "max token bytes"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := valid()
			tc.mutate(&cfg)
			p, err := NewProvider(cfg, nil, nil)
			if tc.err == "" {
				if err != nil {
					t.Fatal(err)
				}
				if p == nil {
					t.Fatal("no provider")
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Fatalf("error %v; want one mentioning %q", err, tc.err)
			}
			if !strings.Contains(err.Error(), `"corp"`) && cfg.Name != "" {
				t.Errorf("error %v does not name the provider", err)
			}
		})
	}
}

func TestProviderConfigDefaults(t *testing.T) {
	algs := []string{"RS256"}
	p, err := NewProvider(ProviderConfig{Name: "corp", Issuer: "https://idp.example", Audiences: []string{"kafka"}}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	c := p.cfg
	if c.ClockSkew != 30*time.Second || c.JWKSRefresh != time.Hour || c.JWKSMinRefreshInterval != 10*time.Second ||
		c.MaxTokenBytes != 16384 || c.CacheSize != 10000 {
		t.Errorf("defaults %+v", c)
	}
	if c.HTTPClient == nil || c.HTTPClient.Timeout != 10*time.Second || c.HTTPClient == http.DefaultClient {
		t.Errorf("default HTTP client %+v", c.HTTPClient)
	}
	want := []string{"RS256", "RS384", "RS512", "ES256", "ES384", "ES512", "PS256", "PS384", "PS512", "EdDSA"}
	if !slices.Equal(c.Algorithms, want) {
		t.Errorf("default algorithms %v", c.Algorithms)
	}
	// The provider keeps its own copies of the caller's slices.
	q, err := NewProvider(ProviderConfig{Name: "corp", Issuer: "https://idp.example", Audiences: []string{"kafka"}, Algorithms: algs}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	algs[0] = "none"
	if q.cfg.Algorithms[0] != "RS256" {
		t.Error("the provider shares the caller's Algorithms slice")
	}
}
