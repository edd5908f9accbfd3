package admin

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"path"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/kafka-auth-proxy/kafka-auth-proxy/audit"
	"github.com/kafka-auth-proxy/kafka-auth-proxy/authn"
	"github.com/kafka-auth-proxy/kafka-auth-proxy/authn/oauth"
	"github.com/kafka-auth-proxy/kafka-auth-proxy/store"
)

// DefaultMaxBodyBytes bounds a request body when Options.MaxBodyBytes is 0.
const DefaultMaxBodyBytes = 1 << 20

// Authenticator checks the credential of an HTTP request: the value of
// its Authorization header, from the client address source (host:port).
// A refusal has been delayed and recorded by the time it returns.
type Authenticator interface {
	AuthenticateHTTP(ctx context.Context, source, authorization string) (*authn.Identity, error)
}

// Scope is where the proxy sits: its organization, its environment and
// the cluster it serves.
type Scope struct {
	Organization string
	Environment  string
	// Cluster returns the cluster id; "" while it is not known.
	Cluster func() string
}

// Options configure a Server.
type Options struct {
	Store store.Store
	Scope Scope
	// Authenticator checks callers; nil refuses every request but the
	// public routes (LocalHandler still works).
	Authenticator Authenticator
	// Audit receives one management event per request; nil writes none.
	Audit *audit.Sink
	// Registerer receives the metrics; nil skips registration.
	Registerer prometheus.Registerer
	Log        *zap.Logger
	// AllowedProviderURLs are the URL prefixes identity providers
	// created through the API may use for their issuer, discovery and
	// keys. An https prefix allows https URLs under it; an http prefix
	// must be listed to allow http. Empty allows none.
	AllowedProviderURLs []string
	// ProviderURLs, when set, is the policy in force, which replaces
	// AllowedProviderURLs: the proxy's, so that a reloaded configuration
	// applies to the API and the authenticator at once.
	ProviderURLs func() *oauth.URLPolicy
	// MaxBodyBytes bounds request bodies; 0 is DefaultMaxBodyBytes.
	MaxBodyBytes int64
	// TrustedProxies are the reverse proxies in front of the API: a
	// request from one of them is the X-Forwarded-For caller's, for the
	// login throttle and the audit log. Empty: every request is its
	// peer's.
	TrustedProxies []netip.Prefix
	// Ready reports why the proxy cannot serve yet, for /readyz; nil is
	// always ready.
	Ready func() error
	// Now is time.Now, but for tests.
	Now func() time.Time
}

// Server is the management API. Its handlers are safe for concurrent use.
type Server struct {
	o       Options
	log     *zap.Logger
	metrics *metrics
	mux     *http.ServeMux
	table   []*route
	urls    *oauth.URLPolicy
	doc     openapiJSON
	// paths matches the routes' paths for any method, to tell 404 from
	// 405.
	paths *http.ServeMux
}

// New returns a server over o.Store.
func New(o Options) (*Server, error) {
	if o.Store == nil {
		return nil, errors.New("admin: no store")
	}
	if o.Scope.Organization == "" || o.Scope.Environment == "" || o.Scope.Cluster == nil {
		return nil, errors.New("admin: the organization, environment and cluster are required")
	}
	if o.MaxBodyBytes <= 0 {
		o.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	urls, err := oauth.NewURLPolicy(o.AllowedProviderURLs)
	if err != nil {
		return nil, fmt.Errorf("admin: %w", err)
	}
	s := &Server{o: o, log: o.Log, metrics: newMetrics(o.Registerer), urls: urls}
	if s.log == nil {
		s.log = zap.NewNop()
	}
	s.mux = s.buildMux()
	return s, nil
}

// Handler serves the API to remote callers, who must authenticate.
func (s *Server) Handler() http.Handler { return http.HandlerFunc(s.serveClean) }

// serveClean answers a path that is not in its clean form (dot segments,
// doubled slashes) with a JSON 404, where the mux would redirect with an
// HTML body.
func (s *Server) serveClean(w http.ResponseWriter, r *http.Request) {
	if p := r.URL.Path; p == "" || p[0] != '/' || path.Clean(p) != p {
		writeJSON(w, http.StatusNotFound, ErrorBody{Errors: []ErrorItem{{Status: "404", Detail: "not found: the path is not in its clean form"}}})
		s.metrics.observe("unmatched", http.StatusNotFound, 0)
		return
	}
	s.mux.ServeHTTP(w, r)
}

// LocalHandler serves the API to an operator of this machine, with every
// right and without credentials: the CLI uses it to manage the state file
// directly, as file access already grants everything. operator names the
// caller in the audit log.
func (s *Server) LocalHandler(operator string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r = r.WithContext(context.WithValue(r.Context(), localKey{}, operator))
		s.serveClean(w, r)
	})
}

// localKey marks the requests of LocalHandler.
type localKey struct{}
