package oauth

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
)

// URLPolicy decides which URLs a provider may fetch its discovery
// document and keys from. Providers registered through the admin API get
// one, so that whoever may register a provider cannot make the proxy
// fetch arbitrary URLs (the lesson of CVE-2025-27817, where an unchecked
// token endpoint let a client read files and reach internal services).
type URLPolicy struct {
	prefixes []*url.URL
}

// NewURLPolicy allows the URLs under each prefix: same scheme and host
// (and port), and a path that starts with the prefix's path at a segment
// boundary. An https prefix allows https only; http is allowed only under
// a prefix that is itself http. Prefixes with a query, fragment or user
// information are refused.
func NewURLPolicy(prefixes []string) (*URLPolicy, error) {
	p := &URLPolicy{}
	for _, s := range prefixes {
		u, err := url.Parse(s)
		if err != nil {
			return nil, fmt.Errorf("allowed provider URL %q: %w", s, err)
		}
		if (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" {
			return nil, fmt.Errorf("allowed provider URL %q: want https://host[:port][/path] (or http:// to allow plain http)", s)
		}
		u.Path = strings.TrimSuffix(u.Path, "/")
		p.prefixes = append(p.prefixes, u)
	}
	return p, nil
}

// ErrURLNotAllowed is returned for a URL no prefix allows.
var ErrURLNotAllowed = errors.New("URL not allowed")

// Check reports whether raw is allowed. Its errors never repeat a
// password the URL holds.
func (p *URLPolicy) Check(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("%w: not a URL", ErrURLNotAllowed)
	}
	if u.User != nil {
		return fmt.Errorf("%w: %q holds credentials; providers are fetched without them", ErrURLNotAllowed, clip(u.Redacted()))
	}
	if u.Host == "" || u.Fragment != "" {
		return fmt.Errorf("%w: %q is not an absolute URL without a fragment", ErrURLNotAllowed, clip(raw))
	}
	if u.Scheme != "https" && u.Scheme != "http" {
		return fmt.Errorf("%w: %q: only https (or an explicitly allowed http) URL may be used", ErrURLNotAllowed, clip(raw))
	}
	for _, a := range p.prefixes {
		if a.Scheme != u.Scheme || !strings.EqualFold(a.Host, u.Host) {
			continue
		}
		path := u.EscapedPath()
		if a.Path == "" || path == a.Path || strings.HasPrefix(path, a.Path+"/") {
			return nil
		}
	}
	if u.Scheme == "http" {
		return fmt.Errorf("%w: %q: plain http is allowed only under an http:// prefix of admin.allowed_provider_urls", ErrURLNotAllowed, clip(raw))
	}
	return fmt.Errorf("%w: %q is not under any of admin.allowed_provider_urls", ErrURLNotAllowed, clip(raw))
}

// Transport returns base (http.DefaultTransport when nil) refusing every
// request, redirects included, to a URL the policy does not allow.
func (p *URLPolicy) Transport(base http.RoundTripper) http.RoundTripper {
	if base == nil {
		base = http.DefaultTransport
	}
	return guarded{p, base}
}

type guarded struct {
	p    *URLPolicy
	base http.RoundTripper
}

func (g guarded) RoundTrip(r *http.Request) (*http.Response, error) {
	if err := g.p.Check(r.URL.String()); err != nil {
		return nil, err
	}
	return g.base.RoundTrip(r)
}
