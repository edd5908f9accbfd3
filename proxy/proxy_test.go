package proxy

import (
	"bufio"
	"context"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"net"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
	"github.com/twmb/franz-go/pkg/kversion"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"

	"github.com/kafka-auth-proxy/kafka-auth-proxy/audit"
	"github.com/kafka-auth-proxy/kafka-auth-proxy/authn"
	"github.com/kafka-auth-proxy/kafka-auth-proxy/authz"
	"github.com/kafka-auth-proxy/kafka-auth-proxy/authz/aclstore"
	"github.com/kafka-auth-proxy/kafka-auth-proxy/store"
)

// testProxy is a proxy in front of an in-process kfake cluster.
type testProxy struct {
	srv      *Server
	fake     *kfake.Cluster
	upstream []string
}

// freePortBase finds a base port such that base..base+n-1 are free.
func freePortBase(t testing.TB, n int) int {
	t.Helper()
	for range 100 {
		base := 20000 + rand.IntN(40000)
		ok := true
		for i := range n {
			ln, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(base+i))
			if err != nil {
				ok = false
				break
			}
			ln.Close()
		}
		if ok {
			return base
		}
	}
	t.Fatal("no free port range")
	return 0
}

func newTestProxy(t testing.TB, brokers int, opts ...kfake.Opt) *testProxy {
	t.Helper()
	fake, err := kfake.NewCluster(append([]kfake.Opt{kfake.NumBrokers(brokers), kfake.AllowAutoTopicCreation()}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(fake.Close)
	return startProxy(t, fake.ListenAddrs(), nil, fake)
}

// testSetup is what a test proxy is built from: the proxy's own inputs
// and, for a proxy whose clients log in, the authenticator's and the
// authorizer's.
type testSetup struct {
	proxy Config
	// authn, when not nil, makes clients log in; policy, and the ACLs
	// created through the Kafka ACL APIs in stateFile, then authorize
	// their requests.
	authn           *authn.Config
	policy          authz.Policy
	stateFile       string  // "" refuses ACL changes, like a proxy without one
	auditOutput     string  // the audit log, if any
	allowSampleRate float64 // of allowed decisions audited
}

// testAuthn is the authenticator's input of a test proxy: PLAIN on the
// main listener, no failure delay, the proxy's default limits.
func testAuthn() *authn.Config {
	return &authn.Config{
		Listeners: map[string][]string{"default": {authn.MechanismPlain}},
		Limits:    authn.Limits{Window: time.Minute, PerSource: 30, PerCredential: 10, PerSecond: 200},
	}
}

// startProxy runs a proxy in front of upstream, on a loopback listener
// with free broker ports; edit, when not nil, changes its set-up first.
func startProxy(t testing.TB, upstream []string, edit func(*testSetup), fake *kfake.Cluster) *testProxy {
	t.Helper()
	setup := &testSetup{proxy: Config{
		Listeners:   []Listener{{Name: "default", Address: "127.0.0.1:0", AdvertisedHost: "127.0.0.1", BrokerPortBase: freePortBase(t, 8)}},
		Upstream:    Upstream{Bootstrap: upstream, MetadataRefresh: time.Second, DialTimeout: 5 * time.Second},
		Limits:      Limits{MaxRequestBytes: 100 << 20, MaxResponseBytes: 256 << 20, MaxInFlight: 1000},
		AuthTimeout: 10 * time.Second,
	}}
	if edit != nil {
		edit(setup)
	}
	log := zap.NewNop() // benchmarks measure the proxy, not its test log
	if _, ok := t.(*testing.T); ok {
		log = zaptest.NewLogger(t)
	}
	setup.proxy.Authenticate = setup.authn != nil
	srv, err := NewServer(setup.proxy, log, nil)
	if err != nil {
		t.Fatal(err)
	}
	if setup.authn != nil {
		a, err := authn.New(authn.Options{Config: *setup.authn, ClusterID: srv.ClusterID, Log: log.Named("authn"), Audit: testAudit(t, setup.auditOutput)})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		t.Cleanup(func() { cancel(); a.Wait() })
		a.Start(ctx)
		srv.SetAuthenticator(a)
		setup.policy.Cluster = authTestCluster
		az, err := authz.NewAuthorizer(setup.policy)
		if err != nil {
			t.Fatal(err)
		}
		acls := testACLStore(t, setup, az)
		srv.SetAuthorization(Authorization{Authorizer: az, ACLs: acls, Audit: testAudit(t, setup.auditOutput), AllowSampleRate: setup.allowSampleRate})
	}
	if err := srv.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
	})
	return &testProxy{srv: srv, fake: fake, upstream: upstream}
}

func (p *testProxy) client(t testing.TB, opts ...kgo.Opt) *kgo.Client {
	t.Helper()
	cl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(p.srv.BootstrapAddr())}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	return cl
}

func TestClientsProduceAndConsumeThroughProxy(t *testing.T) {
	for _, brokers := range []int{1, 3} {
		t.Run(fmt.Sprintf("%d brokers", brokers), func(t *testing.T) {
			p := newTestProxy(t, brokers, kfake.SeedTopics(3, "orders"))
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			prod := p.client(t, kgo.DefaultProduceTopic("orders"))
			const n = 200
			for i := range n {
				prod.Produce(ctx, kgo.StringRecord("v"+strconv.Itoa(i)), func(_ *kgo.Record, err error) {
					if err != nil {
						t.Error(err)
					}
				})
			}
			if err := prod.Flush(ctx); err != nil {
				t.Fatal(err)
			}
			cons := p.client(t, kgo.ConsumeTopics("orders"), kgo.ConsumerGroup("g1"),
				kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
			seen := map[string]bool{}
			for len(seen) < n {
				fs := cons.PollFetches(ctx)
				if err := ctx.Err(); err != nil {
					t.Fatalf("got %d of %d records: %v", len(seen), n, err)
				}
				fs.EachError(func(_ string, _ int32, err error) { t.Fatal(err) })
				fs.EachRecord(func(r *kgo.Record) { seen[string(r.Value)] = true })
			}
			if err := cons.CommitUncommittedOffsets(ctx); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestMetadataNamesOnlyProxyAddresses(t *testing.T) {
	p := newTestProxy(t, 3, kfake.SeedTopics(1, "t"))
	cl := p.client(t)
	ctx := context.Background()
	req := kmsg.NewPtrMetadataRequest()
	resp, err := req.RequestWith(ctx, cl)
	if err != nil {
		t.Fatal(err)
	}
	base := p.srv.cfg.Listeners[0].BrokerPortBase
	if len(resp.Brokers) != 3 {
		t.Fatalf("want 3 brokers, got %d", len(resp.Brokers))
	}
	for _, b := range resp.Brokers {
		if b.Host != "127.0.0.1" || int(b.Port) != base+int(b.NodeID) {
			t.Errorf("broker %d advertised as %s:%d, want 127.0.0.1:%d", b.NodeID, b.Host, b.Port, base+int(b.NodeID))
		}
		for _, u := range p.upstream {
			if net.JoinHostPort(b.Host, strconv.Itoa(int(b.Port))) == u {
				t.Errorf("upstream address %s leaked", u)
			}
		}
	}
}

func TestFindCoordinatorBothFormsAreRewritten(t *testing.T) {
	p := newTestProxy(t, 3)
	base := int32(p.srv.cfg.Listeners[0].BrokerPortBase)
	for _, version := range []int16{3, 4} {
		t.Run("v"+strconv.Itoa(int(version)), func(t *testing.T) {
			cl := p.client(t, kgo.MaxVersions(kversionsWith(kmsg.FindCoordinator.Int16(), version)))
			req := kmsg.NewPtrFindCoordinatorRequest()
			req.CoordinatorKey = "grp"
			req.CoordinatorKeys = []string{"grp", "grp2"}
			resp, err := req.RequestWith(context.Background(), cl)
			if err != nil {
				t.Fatal(err)
			}
			if resp.Version != version {
				t.Fatalf("answered v%d, want v%d", resp.Version, version)
			}
			check := func(node int32, host string, port int32) {
				if host != "127.0.0.1" || port != base+node {
					t.Errorf("coordinator %d at %s:%d, want 127.0.0.1:%d", node, host, port, base+node)
				}
			}
			if version < 4 {
				check(resp.NodeID, resp.Host, resp.Port)
				return
			}
			if len(resp.Coordinators) != 2 {
				t.Fatalf("want 2 coordinators, got %d", len(resp.Coordinators))
			}
			for _, c := range resp.Coordinators {
				check(c.NodeID, c.Host, c.Port)
			}
		})
	}
}

func TestDescribeClusterIsRewritten(t *testing.T) {
	p := newTestProxy(t, 2)
	cl := p.client(t)
	resp, err := kmsg.NewPtrDescribeClusterRequest().RequestWith(context.Background(), cl)
	if err != nil {
		t.Fatal(err)
	}
	base := int32(p.srv.cfg.Listeners[0].BrokerPortBase)
	for _, b := range resp.Brokers {
		if b.Port != base+b.NodeID || b.Host != "127.0.0.1" {
			t.Errorf("broker %d at %s:%d", b.NodeID, b.Host, b.Port)
		}
	}
}

func TestAcksZeroProduceNeedsNoResponse(t *testing.T) {
	p := newTestProxy(t, 1, kfake.SeedTopics(1, "fire"))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	prod := p.client(t, kgo.DefaultProduceTopic("fire"), kgo.RequiredAcks(kgo.NoAck()), kgo.DisableIdempotentWrite())
	for i := range 50 {
		if err := prod.ProduceSync(ctx, kgo.StringRecord(strconv.Itoa(i))).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	// A request after the acks=0 ones must still get its own answer.
	if _, err := kmsg.NewPtrMetadataRequest().RequestWith(ctx, prod); err != nil {
		t.Fatal(err)
	}
	cons := p.client(t, kgo.ConsumeTopics("fire"), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	got := 0
	for got < 50 {
		fs := cons.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("consumed %d of 50", got)
		}
		got += fs.NumRecords()
	}
}

// expectClosed sends raw bytes to the proxy and expects it to close the
// connection without answering.
func expectClosed(t *testing.T, addr string, raw []byte) {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.Write(raw); err != nil {
		t.Fatal(err)
	}
	_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	var b [1]byte
	n, err := conn.Read(b[:])
	if err == nil || n > 0 {
		t.Fatal("the proxy answered instead of closing the connection")
	}
	if ne, ok := err.(net.Error); ok && ne.Timeout() {
		t.Fatal("the proxy neither answered nor closed the connection")
	}
}

func TestUnknownAPIKeyClosesConnection(t *testing.T) {
	p := newTestProxy(t, 1)
	// Key 10000, as one vendor advertises, version 0, correlation id 7.
	expectClosed(t, p.srv.BootstrapAddr(), []byte{0, 0, 0, 10, 0x27, 0x10, 0, 0, 0, 0, 0, 7, 0xff, 0xff})
}

func TestOversizedFrameIsRefused(t *testing.T) {
	p := newTestProxy(t, 1)
	expectClosed(t, p.srv.BootstrapAddr(), []byte{0x7f, 0xff, 0xff, 0xff})
	// The proxy keeps serving others.
	cl := p.client(t)
	if _, err := kmsg.NewPtrMetadataRequest().RequestWith(context.Background(), cl); err != nil {
		t.Fatal(err)
	}
}

func TestUnreachableBrokerLeavesOthersServed(t *testing.T) {
	// One bootstrap address points nowhere: the proxy uses the next.
	dead := "127.0.0.1:" + strconv.Itoa(freePortBase(t, 1))
	fake, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(1, "t"))
	if err != nil {
		t.Fatal(err)
	}
	defer fake.Close()
	p := startProxy(t, append([]string{dead}, fake.ListenAddrs()...), nil, fake)
	for range 3 {
		cl := p.client(t)
		if _, err := kmsg.NewPtrMetadataRequest().RequestWith(context.Background(), cl); err != nil {
			t.Fatal(err)
		}
	}
}

func TestBrokersThatJoinLaterGetAPort(t *testing.T) {
	fake, err := kfake.NewCluster(kfake.NumBrokers(1))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(fake.Close)
	// The port of node 42 must be free too, not only the first few.
	p := startProxy(t, fake.ListenAddrs(), func(s *testSetup) { s.proxy.Listeners[0].BrokerPortBase = freePortBase(t, 43) }, fake)
	// Pretend a broker with a large node id appeared in a response.
	host, port := p.srv.lns[0].advertise(42, "10.0.0.9", 9092)
	base := p.srv.cfg.Listeners[0].BrokerPortBase
	if host != "127.0.0.1" || int(port) != base+42 {
		t.Fatalf("advertised %s:%d", host, port)
	}
	conn, err := net.Dial("tcp", net.JoinHostPort(host, strconv.Itoa(int(port))))
	if err != nil {
		t.Fatalf("port for new broker not open: %v", err)
	}
	conn.Close()
}

func TestGracefulShutdownAnswersRequestsInFlight(t *testing.T) {
	p := newTestProxy(t, 1, kfake.SeedTopics(1, "t"))
	cl := p.client(t, kgo.DefaultProduceTopic("t"))
	ctx := context.Background()
	if err := cl.ProduceSync(ctx, kgo.StringRecord("warm-up")).FirstErr(); err != nil {
		t.Fatal(err)
	}
	// Hold the next produce at the broker until shutdown has begun.
	held := make(chan struct{})
	release := make(chan struct{})
	p.fake.ControlKey(kmsg.Produce.Int16(), func(kmsg.Request) (kmsg.Response, error, bool) {
		close(held)
		p.fake.SleepControl(func() { <-release })
		return nil, nil, false
	})
	produced := make(chan error, 1)
	go func() { produced <- cl.ProduceSync(ctx, kgo.StringRecord("in-flight")).FirstErr() }()
	<-held
	shutdown := make(chan error, 1)
	go func() {
		sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		shutdown <- p.srv.Shutdown(sctx)
	}()
	// New connections are refused while the in-flight request waits.
	deadline := time.Now().Add(5 * time.Second)
	for {
		c, err := net.Dial("tcp", p.srv.BootstrapAddr())
		if err != nil {
			break
		}
		c.Close()
		if time.Now().After(deadline) {
			t.Fatal("bootstrap still accepting after shutdown began")
		}
		time.Sleep(10 * time.Millisecond)
	}
	close(release)
	if err := <-produced; err != nil {
		t.Fatalf("in-flight produce failed during graceful shutdown: %v", err)
	}
	if err := <-shutdown; err != nil {
		t.Fatalf("shutdown: %v", err)
	}
}

// kversionsWith caps one API at a version.
func kversionsWith(key, version int16) *kversion.Versions {
	v := kversion.Stable()
	v.SetMaxKeyVersion(key, version)
	return v
}

// testAudit opens the audit log output, if any.
func testAudit(t testing.TB, output string) *audit.Sink {
	t.Helper()
	if output == "" {
		return nil
	}
	sink, err := audit.Open(output)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sink.Close() })
	return sink
}

// Requests a client pipelines in one write are all answered, whatever mix
// of forwarded and locally answered requests they are, and however many
// more than max_in_flight there are: the proxy sends what it has written
// upstream before it waits, for the client or for room in the queue.
func TestPipelinedRequestsAreAllAnswered(t *testing.T) {
	metadata := kmsg.NewPtrMetadataRequest()
	metadata.Version = 9
	apiVersions := kmsg.NewPtrApiVersionsRequest()
	apiVersions.Version = 3
	apiVersions.ClientSoftwareName, apiVersions.ClientSoftwareVersion = "pipeline", "1"
	tests := []struct {
		name        string
		maxInFlight int
		requests    []kmsg.Request
	}{
		{"a forwarded request, then a local answer", 1000, []kmsg.Request{metadata, apiVersions}},
		{"local answers around forwarded requests", 1000, []kmsg.Request{apiVersions, metadata, metadata, apiVersions}},
		{"many more forwarded requests than max_in_flight", 2, slices.Repeat([]kmsg.Request{metadata}, 40)},
		{"a mix beyond max_in_flight", 3, slices.Repeat([]kmsg.Request{metadata, apiVersions, metadata}, 10)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake, err := kfake.NewCluster(kfake.NumBrokers(1))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(fake.Close)
			p := startProxy(t, fake.ListenAddrs(), func(s *testSetup) { s.proxy.Limits.MaxInFlight = tt.maxInFlight }, fake)
			format := kmsg.NewRequestFormatter()
			var frames []byte
			for i, req := range tt.requests {
				frames = append(frames, format.AppendRequest(nil, req, int32(i))...)
			}
			conn, err := net.Dial("tcp", p.srv.BootstrapAddr())
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			if _, err := conn.Write(frames); err != nil {
				t.Fatal(err)
			}
			_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
			br := bufio.NewReader(conn)
			for i := range tt.requests {
				f, err := readFrame(br, 1<<20, nil)
				if err != nil {
					t.Fatalf("response %d of %d: %v", i+1, len(tt.requests), err)
				}
				if corr := int32(binary.BigEndian.Uint32(f.payload())); corr != int32(i) {
					t.Fatalf("response %d has correlation id %d", i, corr)
				}
			}
		})
	}
}

// testACLStore keeps the ACLs of the Kafka ACL APIs in setup.stateFile,
// beside the policy's own (static, like the configuration file's), and
// makes az enforce both, as the proxy's command does with the state
// store.
func testACLStore(t testing.TB, setup *testSetup, az *authz.Authorizer) *aclstore.Store {
	t.Helper()
	var st store.Store = store.NewMemory()
	if setup.stateFile != "" {
		f, err := store.OpenFile(setup.stateFile)
		if err != nil {
			t.Fatal(err)
		}
		st = f
	}
	var static []store.Object
	for _, a := range setup.policy.ACLs {
		static = append(static, aclstore.ToStore(a, ""))
	}
	st.SetStatic(static)
	base := setup.policy
	cancel := st.Subscribe(func(snap *store.Snapshot) {
		p := base
		p.ACLs = nil
		entries, _ := aclstore.Of(snap, authTestCluster)
		for _, e := range entries {
			p.ACLs = append(p.ACLs, e.ACL)
		}
		if err := az.Update(p); err != nil {
			t.Errorf("policy update: %v", err)
		}
	})
	t.Cleanup(cancel)
	return aclstore.New(st, func() string { return authTestCluster }, setup.stateFile == "")
}
