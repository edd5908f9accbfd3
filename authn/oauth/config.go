package oauth

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
)

// Defaults of the zero ProviderConfig fields.
const (
	DefaultClockSkew              = 30 * time.Second
	DefaultJWKSRefresh            = time.Hour
	DefaultJWKSMinRefreshInterval = 10 * time.Second
	DefaultMaxTokenBytes          = 16 << 10
	DefaultCacheSize              = 10000
	DefaultHTTPTimeout            = 10 * time.Second
)

// defaultAlgorithms are the JWS algorithms allowed when
// ProviderConfig.Algorithms is empty: every asymmetric one go-jose
// verifies. They are also the only ones that may be configured.
var defaultAlgorithms = []string{"RS256", "RS384", "RS512", "ES256", "ES384", "ES512", "PS256", "PS384", "PS512", "EdDSA"}

// ProviderConfig describes one identity provider. Zero values take the
// documented defaults.
type ProviderConfig struct {
	// Name identifies the provider in logs, errors and metric labels.
	Name string
	// Issuer is the expected iss claim, compared exactly.
	Issuer string
	// JWKSURI is where the signing keys are published. If empty it is
	// discovered from Issuer + "/.well-known/openid-configuration"
	// (jwks_uri); discovery happens on the first key fetch, never in
	// NewProvider, and is retried with every fetch until it succeeds.
	JWKSURI string
	// Audiences are the accepted aud values; a token's aud (a string or an
	// array) must contain at least one of them. Required.
	Audiences []string
	// ClockSkew is the leeway on exp, nbf and iat. Default 30s.
	ClockSkew time.Duration
	// Algorithms are the allowed JWS algorithms. Default: RS256, RS384,
	// RS512, ES256, ES384, ES512, PS256, PS384, PS512 and EdDSA, which are
	// also the only ones accepted; "none" and HS256/HS384/HS512 are refused.
	Algorithms []string
	// JWKSRefresh is how often the keys are re-read once Start has been
	// called, and the longest a verified token stays cached. Default 1h.
	JWKSRefresh time.Duration
	// JWKSMinRefreshInterval is the least time between two key fetches
	// caused by tokens naming an unknown key. Default 10s.
	JWKSMinRefreshInterval time.Duration
	// MaxTokenBytes rejects longer tokens before parsing them. Default 16384.
	MaxTokenBytes int
	// CacheSize bounds the verified-token cache. Default 10000.
	CacheSize int
	// HTTPClient fetches the discovery document and the keys. Default: a
	// client with a 10s timeout.
	HTTPClient *http.Client
}

// normalize returns cfg with defaults filled in, or why it is unusable.
func (cfg ProviderConfig) normalize() (ProviderConfig, error) {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }

	if cfg.Name == "" {
		bad("name is required")
	}
	if cfg.Issuer == "" {
		bad("issuer is required")
	}
	if cfg.JWKSURI != "" {
		if err := checkHTTPURL(cfg.JWKSURI); err != nil {
			bad("jwks_uri: %w", err)
		}
	} else if cfg.Issuer != "" {
		if err := checkHTTPURL(cfg.Issuer); err != nil {
			bad("issuer must be an http(s) URL when the jwks_uri is to be discovered: %w", err)
		}
	}
	if len(cfg.Audiences) == 0 {
		bad("at least one audience is required")
	}
	if slices.Contains(cfg.Audiences, "") {
		bad("audiences must not be empty strings")
	}
	cfg.Audiences = slices.Clone(cfg.Audiences)

	if len(cfg.Algorithms) == 0 {
		cfg.Algorithms = defaultAlgorithms
	}
	for _, alg := range cfg.Algorithms {
		switch {
		case strings.EqualFold(alg, "none"):
			bad(`algorithm "none" is never allowed`)
		case strings.HasPrefix(strings.ToUpper(alg), "HS"):
			bad("symmetric algorithm %q is not allowed: anyone holding the key could issue tokens", alg)
		case !slices.Contains(defaultAlgorithms, alg):
			bad("unsupported algorithm %q (supported: %s)", alg, strings.Join(defaultAlgorithms, ", "))
		}
	}
	cfg.Algorithms = slices.Clone(cfg.Algorithms)

	dur := func(name string, d *time.Duration, def time.Duration) {
		switch {
		case *d < 0:
			bad("%s must not be negative", name)
		case *d == 0:
			*d = def
		}
	}
	dur("clock skew", &cfg.ClockSkew, DefaultClockSkew)
	dur("jwks refresh", &cfg.JWKSRefresh, DefaultJWKSRefresh)
	dur("jwks min refresh interval", &cfg.JWKSMinRefreshInterval, DefaultJWKSMinRefreshInterval)

	num := func(name string, n *int, def int) {
		switch {
		case *n < 0:
			bad("%s must not be negative", name)
		case *n == 0:
			*n = def
		}
	}
	num("max token bytes", &cfg.MaxTokenBytes, DefaultMaxTokenBytes)
	num("cache size", &cfg.CacheSize, DefaultCacheSize)

	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Timeout: DefaultHTTPTimeout}
	}
	if len(errs) > 0 {
		return cfg, errors.Join(errs...)
	}
	return cfg, nil
}

func checkHTTPURL(s string) error {
	u, err := url.Parse(s)
	if err != nil {
		return err
	}
	if u.Scheme != "https" && u.Scheme != "http" {
		return fmt.Errorf("%q is not an http(s) URL", s)
	}
	if u.Host == "" {
		return fmt.Errorf("%q has no host", s)
	}
	return nil
}
