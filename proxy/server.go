package proxy

import (
	"context"
	"errors"
	"fmt"
	"net"
	"reflect"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kmsg"
	"go.uber.org/zap"

	"github.com/kafka-auth-proxy/kafka-auth-proxy/authn"
)

// bootstrapNode is the pseudo node id of the bootstrap listener: its
// connections go to any upstream broker.
const bootstrapNode int32 = -1

// Server is a running proxy: a bootstrap listener, one listener per upstream
// broker (port base + node id), and the client connections they accept.
type Server struct {
	cfg     Config
	log     *zap.Logger
	metrics *metrics
	dialer  *dialer
	auth    *authn.Authenticator
	authz   Authorization
	apis    *apiTable
	topics  *topicNames
	// lns are the client-facing listeners, the main one first.
	lns []*listener

	// brokers maps node id to the upstream host:port.
	mu        sync.RWMutex
	brokers   map[int32]string
	conns     map[*clientConn]struct{}
	clusterID *string
	// release returns the memory of a burst of closed connections.
	release *memoryRelease

	// versions caches each upstream broker's ApiVersions answer by address,
	// for clients that ask before their upstream connection exists.
	versionsMu sync.RWMutex
	versions   map[string]*kmsg.ApiVersionsResponse

	nextBoot     atomic.Uint32
	ready        atomic.Bool
	closing      atomic.Bool
	connsWG      sync.WaitGroup
	loopsWG      sync.WaitGroup
	stopRefresh  context.CancelFunc
	refreshNow   chan struct{}
	controlMu    sync.Mutex
	control      *upstreamConn
	shutdownOnce sync.Once
}

// NewServer validates what it needs from cfg and prepares a server. reg may
// be nil to skip metrics registration.
func NewServer(cfg Config, log *zap.Logger, reg prometheus.Registerer) (*Server, error) {
	if len(cfg.Upstream.Bootstrap) == 0 {
		return nil, errors.New("upstream.bootstrap: at least one broker address is required")
	}
	if len(cfg.Listeners) == 0 {
		return nil, errors.New("no listener")
	}
	d, err := newDialer(cfg.Upstream, cfg.Limits.MaxResponseBytes)
	if err != nil {
		return nil, err
	}
	apis, err := newAPITable(registry())
	if err != nil {
		return nil, err
	}
	s := &Server{
		cfg:        cfg,
		log:        log,
		metrics:    newMetrics(reg),
		apis:       apis,
		dialer:     d,
		brokers:    make(map[int32]string),
		conns:      make(map[*clientConn]struct{}),
		release:    newMemoryRelease(),
		versions:   make(map[string]*kmsg.ApiVersionsResponse),
		refreshNow: make(chan struct{}, 1),
	}
	apis.instrument(s.metrics.requests, s.metrics.latency)
	s.topics = newTopicNames(s)
	if reg != nil {
		reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{
			Namespace: "kafka_auth_proxy", Subsystem: "authz", Name: "memo_hits_total",
			Help: "Authorization decisions answered from the decision memo.",
		}, s.memoHits))
	}
	for i := range cfg.Listeners {
		if l := &cfg.Listeners[i]; l.ProxyProtocol && len(l.TrustedProxies) == 0 {
			return nil, fmt.Errorf("listener %s: the PROXY protocol needs trusted proxies", l.Name)
		}
		l, err := newListener(s, &s.cfg.Listeners[i])
		if err != nil {
			return nil, err
		}
		s.lns = append(s.lns, l)
	}
	return s, nil
}

// Start binds the bootstrap port of each listener, learns the upstream
// brokers (opening a port for each on every listener) and starts serving. An unreachable upstream is not an
// error: the proxy keeps retrying in the background and reports not ready.
func (s *Server) Start(ctx context.Context) error {
	if s.cfg.Authenticate && s.auth == nil {
		return errors.New("clients must authenticate but no authenticator was set: refusing to serve unauthenticated clients")
	}
	for _, l := range s.lns {
		ln, err := l.listen(l.cfg.Address)
		if err != nil {
			for _, o := range s.lns {
				if o.boot != nil {
					o.boot.Close()
				}
			}
			return fmt.Errorf("listener %s: bootstrap port: %w", l.cfg.Name, err)
		}
		l.boot = ln
		s.log.Info("listening", zap.String("listener", l.cfg.Name), zap.String("bootstrap", ln.Addr().String()),
			zap.String("advertised_host", l.cfg.AdvertisedHost),
			zap.Int("broker_port_base", l.cfg.BrokerPortBase),
			zap.Bool("tls", l.tls != nil), zap.Strings("sasl_mechanisms", l.cfg.SASLMechanisms))
	}
	if err := s.refreshMetadata(ctx); err != nil {
		s.log.Warn("upstream not reachable yet; retrying in the background", zap.Error(err))
	}
	rctx, cancel := context.WithCancel(context.Background())
	s.stopRefresh = cancel
	s.loopsWG.Add(1 + len(s.lns))
	for _, l := range s.lns {
		go s.acceptLoop(l, l.boot, bootstrapNode)
	}
	go s.refreshLoop(rctx)
	return nil
}

// SetAuthenticator makes every client log in through a before anything it
// sends is forwarded. It must be called before Start unless auth is none.
func (s *Server) SetAuthenticator(a *authn.Authenticator) { s.auth = a }

// ClusterID is the upstream cluster's id, or "" until it is known.
func (s *Server) ClusterID() string {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.clusterID == nil {
		return ""
	}
	return *s.clusterID
}

// BootstrapAddr is the bound bootstrap address of the main listener.
func (s *Server) BootstrapAddr() string { return s.lns[0].boot.Addr().String() }

// ListenerAddr is the bound bootstrap address of the named listener, or ""
// when there is none.
func (s *Server) ListenerAddr(name string) string {
	for _, l := range s.lns {
		if l.cfg.Name == name && l.boot != nil {
			return l.boot.Addr().String()
		}
	}
	return ""
}

// Ready reports whether the upstream cluster has been reached.
func (s *Server) Ready() bool { return s.ready.Load() && !s.closing.Load() }

// noteBroker records the upstream address of broker id and, for a broker
// not seen before, opens its port on every listener.
func (s *Server) noteBroker(id int32, host string, port int32) {
	addr := net.JoinHostPort(host, strconv.Itoa(int(port)))
	s.mu.RLock()
	cur, known := s.brokers[id]
	s.mu.RUnlock()
	if !known || cur != addr {
		s.learnBroker(id, addr, known)
	}
}

func (s *Server) learnBroker(id int32, addr string, known bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.brokers[id] == addr {
		return
	}
	s.brokers[id] = addr
	s.metrics.brokersKnown.Set(float64(len(s.brokers)))
	if known {
		s.log.Info("upstream broker moved", zap.Int32("node_id", id), zap.String("upstream", addr))
		return
	}
	if s.closing.Load() {
		return
	}
	for _, l := range s.lns {
		ln, err := l.openBroker(id)
		if err != nil {
			s.log.Error("cannot open broker port; raise or lower broker_port_base or free the port",
				zap.String("listener", l.cfg.Name), zap.Int32("node_id", id), zap.Error(err))
			continue
		}
		s.log.Info("serving upstream broker", zap.String("listener", l.cfg.Name), zap.Int32("node_id", id),
			zap.String("upstream", addr), zap.String("listen", ln.Addr().String()))
		s.loopsWG.Add(1)
		go s.acceptLoop(l, ln, id)
	}
}

// upstreamAddrs returns where a client connection of the given listener
// goes. Bootstrap connections rotate over the configured bootstrap brokers,
// then the known ones.
func (s *Server) upstreamAddrs(node int32) []string {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if node != bootstrapNode {
		if a, ok := s.brokers[node]; ok {
			return []string{a}
		}
		return nil
	}
	boot := s.cfg.Upstream.Bootstrap
	n := int(s.nextBoot.Add(1))
	out := make([]string, 0, len(boot)+len(s.brokers))
	for i := range boot {
		out = append(out, boot[(n+i)%len(boot)])
	}
	for _, a := range s.brokers {
		out = append(out, a)
	}
	return out
}

// dialUpstream connects to the upstream broker behind a client-facing
// listener.
func (s *Server) dialUpstream(ctx context.Context, node int32) (*upstreamConn, error) {
	addrs := s.upstreamAddrs(node)
	if len(addrs) == 0 {
		s.metrics.upstreamErrors.WithLabelValues(reasonUnknownBroker).Inc()
		return nil, fmt.Errorf("upstream: node %d is not a known broker", node)
	}
	var errs []error
	for _, a := range addrs {
		u, err := s.dialer.dial(ctx, a)
		if err == nil {
			u.versions = s.shareVersions(a, u.versions)
			return u, nil
		}
		s.metrics.upstreamErrors.WithLabelValues(reasonDial).Inc()
		errs = append(errs, err)
		if ctx.Err() != nil {
			break
		}
	}
	return nil, errors.Join(errs...)
}

// shareVersions caches v as the ApiVersions answer of the broker at addr,
// and returns the cached answer when it is the same, so that the upstream
// connections of one broker share one copy.
func (s *Server) shareVersions(addr string, v *kmsg.ApiVersionsResponse) *kmsg.ApiVersionsResponse {
	s.versionsMu.Lock()
	defer s.versionsMu.Unlock()
	if old := s.versions[addr]; old != nil && reflect.DeepEqual(old, v) {
		return old
	}
	s.versions[addr] = v
	return v
}

// cachedVersions returns the ApiVersions of the broker behind node, or of any
// broker when that one has not been seen yet.
func (s *Server) cachedVersions(node int32) *kmsg.ApiVersionsResponse {
	s.mu.RLock()
	addr := s.brokers[node]
	s.mu.RUnlock()
	s.versionsMu.RLock()
	defer s.versionsMu.RUnlock()
	if v, ok := s.versions[addr]; ok {
		return v
	}
	for _, v := range s.versions {
		return v
	}
	return nil
}

func (s *Server) acceptLoop(l *listener, ln net.Listener, node int32) {
	defer s.loopsWG.Done()
	kind := listenerBroker
	if node == bootstrapNode {
		kind = listenerBootstrap
	}
	var backoff time.Duration
	for {
		nc, err := ln.Accept()
		if err != nil {
			if s.closing.Load() || errors.Is(err, net.ErrClosed) {
				return
			}
			// Out of file descriptors and the like: back off, keep serving.
			backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
			s.log.Warn("accept failed", zap.String("listener", ln.Addr().String()), zap.Error(err))
			time.Sleep(backoff)
			continue
		}
		backoff = 0
		c := newClientConn(s, l, nc, node, kind)
		s.mu.Lock()
		if s.closing.Load() {
			s.mu.Unlock()
			nc.Close()
			return
		}
		s.conns[c] = struct{}{}
		s.connsWG.Add(1)
		s.mu.Unlock()
		s.release.opened()
		s.metrics.connectionsTotal.WithLabelValues(kind).Inc()
		go func() {
			defer s.connsWG.Done()
			c.serve()
			s.mu.Lock()
			delete(s.conns, c)
			s.mu.Unlock()
			s.release.closed()
		}()
	}
}

// refreshLoop re-reads the broker list periodically, quickly while the
// upstream is unreachable.
func (s *Server) refreshLoop(ctx context.Context) {
	defer s.loopsWG.Done()
	interval := s.cfg.Upstream.MetadataRefresh
	for {
		wait := interval
		if !s.ready.Load() {
			wait = min(interval, 2*time.Second)
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		case <-s.refreshNow:
			t.Stop()
		}
		if err := s.refreshMetadata(ctx); err != nil && ctx.Err() == nil {
			s.log.Warn("upstream metadata refresh failed", zap.Error(err))
		}
	}
}

// refreshMetadata asks the upstream cluster for its brokers over the
// proxy's control connection and opens ports for new ones.
func (s *Server) refreshMetadata(ctx context.Context) error {
	r, err := s.controlMetadata(ctx, []kmsg.MetadataRequestTopic{}) // none: brokers only
	if err != nil {
		s.metrics.metadataRefreshes.WithLabelValues("error").Inc()
		s.ready.Store(false)
		return err
	}
	for _, b := range r.Brokers {
		s.noteBroker(b.NodeID, b.Host, b.Port)
	}
	s.mu.Lock()
	s.clusterID = r.ClusterID
	s.mu.Unlock()
	s.metrics.metadataRefreshes.WithLabelValues("ok").Inc()
	s.ready.Store(true)
	return nil
}

// allTopics asks the upstream cluster for every topic.
func (s *Server) allTopics(ctx context.Context) ([]kmsg.MetadataResponseTopic, error) {
	r, err := s.controlMetadata(ctx, nil)
	if err != nil {
		return nil, err
	}
	return r.Topics, nil
}

// controlMetadata sends a Metadata request for topics (nil: every topic)
// over the proxy's control connection, dialing it when needed. A
// connection that has gone stale is replaced and the request retried once.
func (s *Server) controlMetadata(ctx context.Context, topics []kmsg.MetadataRequestTopic) (*kmsg.MetadataResponse, error) {
	s.controlMu.Lock()
	defer s.controlMu.Unlock()
	r, err := s.controlMetadataOnce(ctx, topics)
	if err != nil && s.control != nil {
		s.control.Close()
		s.control = nil
		r, err = s.controlMetadataOnce(ctx, topics)
	}
	return r, err
}

func (s *Server) controlMetadataOnce(ctx context.Context, topics []kmsg.MetadataRequestTopic) (*kmsg.MetadataResponse, error) {
	if s.control == nil {
		u, err := s.dialUpstream(ctx, bootstrapNode)
		if err != nil {
			return nil, err
		}
		s.control = u
	}
	u := s.control
	req := kmsg.NewPtrMetadataRequest()
	req.Version = u.version(req.Key(), req.MaxVersion())
	req.Topics = topics
	_ = u.nc.SetDeadline(time.Now().Add(s.dialer.timeout))
	resp, err := u.roundTrip(req)
	_ = u.nc.SetDeadline(time.Time{})
	if err != nil {
		return nil, fmt.Errorf("upstream %s: metadata: %w", u.addr, err)
	}
	return resp.(*kmsg.MetadataResponse), nil
}

// Shutdown stops accepting, lets every connection finish the requests it has
// in flight, and closes them. Connections still busy when ctx ends are
// closed at once.
func (s *Server) Shutdown(ctx context.Context) error {
	var err error
	s.shutdownOnce.Do(func() { err = s.shutdown(ctx) })
	return err
}

func (s *Server) shutdown(ctx context.Context) error {
	s.closing.Store(true)
	s.release.stop()
	s.mu.Lock()
	for _, l := range s.lns {
		if l.boot != nil {
			l.boot.Close()
		}
		for _, ln := range l.brokers {
			ln.Close()
		}
	}
	conns := make([]*clientConn, 0, len(s.conns))
	for c := range s.conns {
		conns = append(conns, c)
	}
	s.mu.Unlock()
	if s.stopRefresh != nil {
		s.stopRefresh()
	}
	for _, c := range conns {
		c.drain()
	}
	done := make(chan struct{})
	go func() {
		s.connsWG.Wait()
		s.loopsWG.Wait()
		close(done)
	}()
	var err error
	select {
	case <-done:
	case <-ctx.Done():
		s.mu.Lock()
		n := len(s.conns)
		for c := range s.conns {
			c.abort()
		}
		s.mu.Unlock()
		s.log.Warn("shutdown timeout: closed connections with requests in flight", zap.Int("connections", n))
		err = ctx.Err()
		<-done
	}
	s.controlMu.Lock()
	if s.control != nil {
		s.control.Close()
	}
	s.controlMu.Unlock()
	return err
}

// UpstreamClusterID asks the upstream cluster for its cluster id, logging
// in as the proxy does. The api-key command uses it to scope new keys when
// authentication.cluster_id is not set.
func UpstreamClusterID(ctx context.Context, cfg Upstream, maxResponseBytes int) (string, error) {
	d, err := newDialer(cfg, maxResponseBytes)
	if err != nil {
		return "", err
	}
	var errs []error
	for _, addr := range cfg.Bootstrap {
		id, err := func() (string, error) {
			u, err := d.dial(ctx, addr)
			if err != nil {
				return "", err
			}
			defer u.Close()
			req := kmsg.NewPtrMetadataRequest()
			req.Version = u.version(req.Key(), req.MaxVersion())
			req.Topics = []kmsg.MetadataRequestTopic{}
			_ = u.nc.SetDeadline(time.Now().Add(d.timeout))
			resp, err := u.roundTrip(req)
			if err != nil {
				return "", fmt.Errorf("upstream %s: metadata: %w", addr, err)
			}
			if id := resp.(*kmsg.MetadataResponse).ClusterID; id != nil && *id != "" {
				return *id, nil
			}
			return "", fmt.Errorf("upstream %s: metadata names no cluster id", addr)
		}()
		if err == nil {
			return id, nil
		}
		errs = append(errs, err)
	}
	return "", errors.Join(errs...)
}
