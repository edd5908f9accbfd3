package authn

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net/http"
	"os"
	"reflect"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/kafka-auth-proxy/kafka-auth-proxy/audit"
	"github.com/kafka-auth-proxy/kafka-auth-proxy/authn/oauth"
	"github.com/kafka-auth-proxy/kafka-auth-proxy/authn/pool"
)

// lastUsedFlushInterval is how often last-use times of API keys are
// recorded, for `api-key list`.
const lastUsedFlushInterval = 10 * time.Second

// KeyUseRecorder keeps the times API keys were last used.
type KeyUseRecorder interface {
	RecordKeyUse(ctx context.Context, used map[string]time.Time) error
}

// Options configure an Authenticator.
type Options struct {
	// Config is the credentials and login rules.
	Config Config
	// ClusterID returns the cluster id keys are scoped to and
	// logicalCluster must name; "" while it is not known yet.
	ClusterID func() string
	Log       *zap.Logger
	// Registerer receives the metrics; nil skips registration.
	Registerer prometheus.Registerer
	// Audit receives one event per authentication; nil writes none.
	Audit *audit.Sink
	// KeyUses, when set, is told every lastUsedFlushInterval which API
	// keys logged in, and when.
	KeyUses KeyUseRecorder
}

// Authenticator checks client logins against the current credentials. It is
// safe for concurrent use; one serves every listener of a proxy.
type Authenticator struct {
	log       *zap.Logger
	audit     *audit.Sink
	metrics   *metrics
	oauthM    *oauth.Metrics
	clusterID func() string
	throttle  *throttle
	keyUses   KeyUseRecorder
	now       func() time.Time // time.Now, but for tests

	dir atomic.Pointer[directory]

	// mu guards what rebuilding the directory needs, and the sessions.
	mu        sync.Mutex
	cfg       Config
	providers map[string]*providerHandle // by name
	ctx       context.Context            // set by Start; providers run in it
	sessions  map[*Session]struct{}

	lastUsedMu sync.Mutex
	lastUsed   map[string]time.Time

	wg sync.WaitGroup // the goroutines of Start
}

type providerHandle struct {
	cfg    Provider
	p      *oauth.Provider
	cancel context.CancelFunc
}

// New builds an Authenticator from o.Config. It does no network or file
// I/O beyond reading CA files; Start begins watching the state file and
// fetching identity provider keys.
func New(o Options) (*Authenticator, error) {
	a := &Authenticator{
		log:       o.Log,
		audit:     o.Audit,
		metrics:   newMetrics(o.Registerer),
		oauthM:    oauth.NewMetrics(o.Registerer),
		clusterID: o.ClusterID,
		providers: map[string]*providerHandle{},
		sessions:  map[*Session]struct{}{},
		lastUsed:  map[string]time.Time{},
		throttle:  newThrottle(),
		keyUses:   o.KeyUses,
		now:       time.Now,
	}
	if a.log == nil {
		a.log = zap.NewNop()
	}
	if err := a.apply(o.Config, false); err != nil {
		return nil, err
	}
	return a, nil
}

// Mechanisms lists the SASL mechanisms enabled on a listener, in
// configuration order.
func (a *Authenticator) Mechanisms(listener string) []string {
	return a.dir.Load().mechanisms[listener]
}

// Start begins refreshing identity provider keys and recording API key
// last-use times, until ctx ends.
func (a *Authenticator) Start(ctx context.Context) {
	a.mu.Lock()
	a.ctx = ctx
	for _, h := range a.providers {
		a.startProvider(h)
	}
	a.mu.Unlock()
	if a.keyUses == nil {
		return
	}
	a.wg.Add(1)
	go func() {
		defer a.wg.Done()
		a.flushLastUsed(ctx)
	}()
}

// Wait returns once the goroutines of Start have ended (after its context
// ended), with the last API key use times written.
func (a *Authenticator) Wait() { a.wg.Wait() }

// Reload replaces the credentials (accounts, keys, providers, pools,
// mechanisms) and login rules. Sessions whose credential is gone are
// closed.
func (a *Authenticator) Reload(cfg Config) error {
	return a.apply(cfg, true)
}

// apply builds and installs a directory from cfg.
func (a *Authenticator) apply(cfg Config, revoke bool) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	keys, accounts, warnings := buildKeys(cfg)
	for _, w := range warnings {
		a.log.Warn("api key skipped", zap.Error(w))
	}
	providers, err := a.syncProviders(cfg.Providers, cfg.MaxTokenBytes)
	if err != nil {
		a.metrics.reloads.WithLabelValues("error").Inc()
		return err
	}
	var pools []*pool.Pool
	for _, pc := range cfg.Pools {
		p, err := pool.Compile(pc)
		if err != nil {
			a.metrics.reloads.WithLabelValues("error").Inc()
			return fmt.Errorf("identity pool %s: %w", pc.ID, err)
		}
		pools = append(pools, p)
	}
	d := &directory{
		keys:        keys,
		accounts:    accounts,
		providers:   providers,
		pools:       pool.NewSet(pools),
		mechanisms:  map[string][]string{},
		clusterID:   cfg.ClusterID,
		maxLifetime: cfg.MaxSessionLifetime,
		delay:       cfg.FailureDelay,
	}
	for name, mechs := range cfg.Listeners {
		for _, m := range mechs {
			if mechanisms[m] == nil {
				a.metrics.reloads.WithLabelValues("error").Inc()
				return fmt.Errorf("listener %s: SASL mechanism %q is not supported", name, m)
			}
		}
		d.mechanisms[name] = slices.Clone(mechs)
	}
	a.cfg = cfg
	a.throttle.configure(cfg.Limits)
	a.dir.Store(d)
	a.metrics.reloads.WithLabelValues("ok").Inc()
	if revoke {
		a.revokeLocked(d)
	}
	return nil
}

// syncProviders keeps running providers whose configuration is unchanged,
// creates new ones and stops removed ones. It returns the providers by
// issuer.
func (a *Authenticator) syncProviders(cfg []Provider, maxTokenBytes int) (map[string]*oauth.Provider, error) {
	next := map[string]*providerHandle{}
	byIssuer := map[string]*oauth.Provider{}
	for _, pc := range cfg {
		if old, ok := a.providers[pc.Name]; ok && reflect.DeepEqual(old.cfg, pc) {
			next[pc.Name] = old
			byIssuer[pc.Issuer] = old.p
			continue
		}
		client, err := httpClient(pc.CAFile, pc.URLs)
		if err != nil {
			return nil, fmt.Errorf("oidc provider %s: %w", pc.Name, err)
		}
		p, err := oauth.NewProvider(oauth.ProviderConfig{
			Name:                   pc.Name,
			Issuer:                 pc.Issuer,
			JWKSURI:                pc.JWKSURI,
			Audiences:              pc.Audiences,
			ClockSkew:              pc.ClockSkew,
			Algorithms:             pc.Algorithms,
			JWKSRefresh:            pc.JWKSRefresh,
			JWKSMinRefreshInterval: pc.JWKSMinRefreshInterval,
			MaxTokenBytes:          maxTokenBytes,
			HTTPClient:             client,
		}, a.log, a.oauthM)
		if err != nil {
			return nil, fmt.Errorf("oidc provider %s: %w", pc.Name, err)
		}
		next[pc.Name] = &providerHandle{cfg: pc, p: p}
		byIssuer[pc.Issuer] = p
	}
	for name, h := range a.providers {
		if next[name] != h && h.cancel != nil {
			h.cancel()
		}
	}
	for _, h := range next {
		if h.cancel == nil && a.ctx != nil {
			a.startProvider(h)
		}
	}
	a.providers = next
	return byIssuer, nil
}

func (a *Authenticator) startProvider(h *providerHandle) {
	ctx, cancel := context.WithCancel(a.ctx)
	h.cancel = cancel
	h.p.Start(ctx)
}

func httpClient(caFile string, urls *oauth.URLPolicy) (*http.Client, error) {
	if caFile == "" {
		c := &http.Client{Timeout: 10 * time.Second}
		if urls != nil {
			c.Transport = urls.Transport(nil)
		}
		return c, nil
	}
	pem, err := os.ReadFile(caFile)
	if err != nil {
		return nil, fmt.Errorf("ca_file: %w", err)
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("ca_file %s: no certificates", caFile)
	}
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.TLSClientConfig = &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12}
	var rt http.RoundTripper = t
	if urls != nil {
		rt = urls.Transport(t)
	}
	return &http.Client{Timeout: 10 * time.Second, Transport: rt}, nil
}

// revokeLocked closes the sessions whose credential is not in d.
func (a *Authenticator) revokeLocked(d *directory) {
	for s := range a.sessions {
		id := s.identity.Load()
		if id == nil || d.stillValid(id) {
			continue
		}
		a.log.Info("closing connection: its credential was removed",
			zap.String("principal", id.Principal), zap.String("api_key", id.APIKey),
			zap.String("identity_pool", id.Pool), zap.String("client", s.source))
		a.metrics.revoked.Inc()
		delete(a.sessions, s)
		a.metrics.sessions.WithLabelValues(id.Mechanism).Dec()
		s.revoked.Store(true)
		if s.onRevoke != nil {
			go s.onRevoke()
		}
	}
}

func (a *Authenticator) register(s *Session, mech string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if _, ok := a.sessions[s]; ok {
		return
	}
	a.sessions[s] = struct{}{}
	a.metrics.sessions.WithLabelValues(mech).Inc()
	// A credential removed while this login was being checked.
	if id := s.identity.Load(); id != nil && !a.dir.Load().stillValid(id) {
		a.revokeLocked(a.dir.Load())
	}
}

func (a *Authenticator) unregister(s *Session) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if _, ok := a.sessions[s]; !ok {
		return
	}
	delete(a.sessions, s)
	if id := s.identity.Load(); id != nil {
		a.metrics.sessions.WithLabelValues(id.Mechanism).Dec()
	}
}

func (a *Authenticator) touchKey(id string, now time.Time) {
	a.lastUsedMu.Lock()
	a.lastUsed[id] = now
	a.lastUsedMu.Unlock()
}

// flushLastUsed records recent key use.
func (a *Authenticator) flushLastUsed(ctx context.Context) {
	t := time.NewTicker(lastUsedFlushInterval)
	defer t.Stop()
	flush := func() {
		a.lastUsedMu.Lock()
		seen := a.lastUsed
		a.lastUsed = map[string]time.Time{}
		a.lastUsedMu.Unlock()
		if len(seen) == 0 {
			return
		}
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), lastUsedFlushInterval)
		defer cancel()
		if err := a.keyUses.RecordKeyUse(rctx, seen); err != nil {
			a.log.Warn("cannot record API key last use", zap.Error(err))
		}
	}
	for {
		select {
		case <-ctx.Done():
			flush()
			return
		case <-t.C:
			flush()
		}
	}
}

// errUnknownCluster fails logins while the cluster id is not known, since
// key scopes and logicalCluster cannot be checked.
var errUnknownCluster = errors.New("the cluster id is not known yet (upstream unreachable and authentication.cluster_id unset)")

func (a *Authenticator) currentClusterID(d *directory) string {
	id := d.clusterID
	if id == "" && a.clusterID != nil {
		id = a.clusterID()
	}
	return id
}

// Check reports what Reload would refuse in cfg, without applying it.
func (a *Authenticator) Check(cfg Config) error {
	for _, pc := range cfg.Pools {
		if _, err := pool.Compile(pc); err != nil {
			return fmt.Errorf("identity pool %s: %w", pc.ID, err)
		}
	}
	for name, mechs := range cfg.Listeners {
		for _, m := range mechs {
			if mechanisms[m] == nil {
				return fmt.Errorf("listener %s: SASL mechanism %q is not supported", name, m)
			}
		}
	}
	for _, pc := range cfg.Providers {
		if _, err := httpClient(pc.CAFile, pc.URLs); err != nil {
			return fmt.Errorf("oidc provider %s: %w", pc.Name, err)
		}
	}
	return nil
}
