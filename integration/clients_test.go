//go:build integration

package integration

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/kafka-auth-proxy/kafka-auth-proxy/config"
	"github.com/kafka-auth-proxy/kafka-auth-proxy/integration/harness"
	"github.com/kafka-auth-proxy/kafka-auth-proxy/proxy"
)

// clusters lists the shapes every client scenario runs against.
func clusters() []struct {
	name string
	c    *harness.Cluster
} {
	return []struct {
		name string
		c    *harness.Cluster
	}{{"1 broker", single}, {"3 brokers", triple}}
}

func createTopic(t testing.TB, srv *proxy.Server, partitions int32, replicas int16, opts ...kgo.Opt) string {
	t.Helper()
	topic := topicName(t)
	adm := kadm.NewClient(newClient(t, srv, opts...))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	resp, err := adm.CreateTopic(ctx, partitions, replicas, nil, topic)
	if err != nil || resp.Err != nil {
		t.Fatalf("create topic %s through the proxy: %v %v", topic, err, resp.Err)
	}
	// CreateTopics returns once the controller has committed the topic; the
	// brokers learn of it a moment later. Wait until the metadata the proxy
	// serves lists every partition with a leader, as clients would.
	for {
		md, err := adm.Metadata(ctx, topic)
		if err == nil {
			td := md.Topics[topic]
			ready := td.Err == nil && len(td.Partitions) == int(partitions)
			for _, p := range td.Partitions {
				ready = ready && p.Err == nil && p.Leader >= 0
			}
			if ready {
				return topic
			}
		}
		select {
		case <-ctx.Done():
			t.Fatalf("topic %s created but its %d partitions never all had leaders: %v", topic, partitions, err)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func TestFranzGoProducesAndConsumesInAGroupWithCommits(t *testing.T) {
	for _, tc := range clusters() {
		t.Run(tc.name, func(t *testing.T) {
			srv := startProxy(t, tc.c.Bootstrap, nil)
			topic := createTopic(t, srv, 3, int16(len(tc.c.NodeIDs)))
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()

			prod := newClient(t, srv, kgo.DefaultProduceTopic(topic))
			const n = 300
			var results []*kgo.Record
			for i := range n {
				results = append(results, kgo.StringRecord("value-"+strconv.Itoa(i)))
			}
			if err := prod.ProduceSync(ctx, results...).FirstErr(); err != nil {
				t.Fatalf("produce: %v", err)
			}

			group := "g-" + topic
			consumeN := func(want int) map[string]bool {
				cons := newClient(t, srv, kgo.ConsumeTopics(topic), kgo.ConsumerGroup(group),
					kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.DisableAutoCommit())
				seen := map[string]bool{}
				for len(seen) < want {
					fs := cons.PollFetches(ctx)
					if ctx.Err() != nil {
						t.Fatalf("consumed %d of %d: %v", len(seen), want, ctx.Err())
					}
					fs.EachError(func(tp string, p int32, err error) { t.Fatalf("fetch %s/%d: %v", tp, p, err) })
					fs.EachRecord(func(r *kgo.Record) { seen[string(r.Value)] = true })
				}
				if err := cons.CommitUncommittedOffsets(ctx); err != nil {
					t.Fatalf("commit: %v", err)
				}
				cons.Close()
				return seen
			}
			if got := consumeN(n); len(got) != n {
				t.Fatalf("consumed %d distinct records, want %d", len(got), n)
			}

			// Committed offsets are visible through the proxy and a new
			// member of the group resumes after them.
			adm := kadm.NewClient(newClient(t, srv))
			offsets, err := adm.FetchOffsets(ctx, group)
			if err != nil {
				t.Fatal(err)
			}
			var committed int64
			offsets.Each(func(o kadm.OffsetResponse) { committed += o.At })
			if committed != n {
				t.Fatalf("group committed %d offsets in total, want %d", committed, n)
			}
			if err := prod.ProduceSync(ctx, kgo.StringRecord("after-commit")).FirstErr(); err != nil {
				t.Fatal(err)
			}
			if got := consumeN(1); !got["after-commit"] || len(got) != 1 {
				t.Fatalf("after the commit the group read %v, want only the new record", keys(got))
			}
		})
	}
}

func TestIdempotentProducerWritesEachRecordOnce(t *testing.T) {
	for _, tc := range clusters() {
		t.Run(tc.name, func(t *testing.T) {
			srv := startProxy(t, tc.c.Bootstrap, nil)
			topic := createTopic(t, srv, 1, int16(len(tc.c.NodeIDs)))
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			// franz-go is idempotent by default and keeps several
			// batches in flight without linger, so sequence numbers
			// matter.
			prod := newClient(t, srv, kgo.DefaultProduceTopic(topic), kgo.ProducerLinger(0),
				kgo.RequiredAcks(kgo.AllISRAcks()))
			const n = 1000
			var wg sync.WaitGroup
			wg.Add(n)
			for i := range n {
				prod.Produce(ctx, kgo.StringRecord(strconv.Itoa(i)), func(_ *kgo.Record, err error) {
					defer wg.Done()
					if err != nil {
						t.Error(err)
					}
				})
			}
			wg.Wait()
			cons := newClient(t, srv, kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
			var got []string
			for len(got) < n {
				fs := cons.PollFetches(ctx)
				if ctx.Err() != nil {
					t.Fatalf("consumed %d of %d", len(got), n)
				}
				fs.EachRecord(func(r *kgo.Record) {
					if r.ProducerID < 0 {
						t.Fatalf("record at offset %d has no producer id: not idempotent", r.Offset)
					}
					got = append(got, string(r.Value))
				})
			}
			for i, v := range got {
				if v != strconv.Itoa(i) {
					t.Fatalf("record %d is %q: duplicates or reordering", i, v)
				}
			}
		})
	}
}

func TestCommittedTransactionIsReadBackWithReadCommitted(t *testing.T) {
	for _, tc := range clusters() {
		t.Run(tc.name, func(t *testing.T) {
			srv := startProxy(t, tc.c.Bootstrap, nil)
			topic := createTopic(t, srv, 2, int16(len(tc.c.NodeIDs)))
			ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
			defer cancel()
			txn := newClient(t, srv, kgo.DefaultProduceTopic(topic), kgo.TransactionalID("txn-"+topic))

			run := func(values []string, commit kgo.TransactionEndTry) {
				if err := txn.BeginTransaction(); err != nil {
					t.Fatal(err)
				}
				for _, v := range values {
					if err := txn.ProduceSync(ctx, kgo.StringRecord(v)).FirstErr(); err != nil {
						t.Fatalf("transactional produce: %v", err)
					}
				}
				if err := txn.EndTransaction(ctx, commit); err != nil {
					t.Fatalf("end transaction: %v", err)
				}
			}
			run([]string{"c1", "c2", "c3"}, kgo.TryCommit)
			run([]string{"aborted"}, kgo.TryAbort)
			run([]string{"c4"}, kgo.TryCommit)

			cons := newClient(t, srv, kgo.ConsumeTopics(topic), kgo.FetchIsolationLevel(kgo.ReadCommitted()),
				kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
			seen := map[string]bool{}
			for len(seen) < 4 {
				fs := cons.PollFetches(ctx)
				if ctx.Err() != nil {
					t.Fatalf("read %v of the 4 committed records", keys(seen))
				}
				fs.EachRecord(func(r *kgo.Record) { seen[string(r.Value)] = true })
			}
			if seen["aborted"] {
				t.Fatal("read_committed consumer saw a record of an aborted transaction")
			}
		})
	}
}

func TestAdminCreatesTopicAndDescribesClusterWithProxyAddresses(t *testing.T) {
	for _, tc := range clusters() {
		t.Run(tc.name, func(t *testing.T) {
			srv := startProxy(t, tc.c.Bootstrap, nil)
			topic := createTopic(t, srv, 4, int16(len(tc.c.NodeIDs)))
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			adm := kadm.NewClient(newClient(t, srv))
			md, err := adm.Metadata(ctx, topic)
			if err != nil {
				t.Fatal(err)
			}
			if got := len(md.Topics[topic].Partitions); got != 4 {
				t.Fatalf("topic has %d partitions, want 4", got)
			}
			cluster, err := kmsg.NewPtrDescribeClusterRequest().RequestWith(ctx, newClient(t, srv))
			if err != nil {
				t.Fatal(err)
			}
			if cluster.ClusterID != tc.c.ClusterID {
				t.Fatalf("cluster id %q, want %q", cluster.ClusterID, tc.c.ClusterID)
			}
			base := proxyPortBase(t, srv)
			if len(cluster.Brokers) != len(tc.c.NodeIDs) {
				t.Fatalf("%d brokers described, want %d", len(cluster.Brokers), len(tc.c.NodeIDs))
			}
			for _, b := range cluster.Brokers {
				if b.Host != "127.0.0.1" || int(b.Port) != base+int(b.NodeID) {
					t.Errorf("broker %d described as %s:%d, want 127.0.0.1:%d", b.NodeID, b.Host, b.Port, base+int(b.NodeID))
				}
			}
		})
	}
}

func TestJavaClientProducesAndConsumesThroughProxy(t *testing.T) {
	for _, tc := range clusters() {
		t.Run(tc.name, func(t *testing.T) {
			srv := startProxy(t, tc.c.Bootstrap, nil)
			topic := createTopic(t, srv, 3, int16(len(tc.c.NodeIDs)))
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
			defer cancel()
			out, err := harness.JavaRoundTrip(ctx, srv.BootstrapAddr(), topic, 500, nil)
			if err != nil {
				t.Fatal(err)
			}
			t.Log(lastLine(out))
		})
	}
}

func TestProxyAuthenticatesUpstreamAsItsOwnIdentity(t *testing.T) {
	c := triple
	tests := []struct {
		name      string
		bootstrap []string
		edit      func(*config.Config)
	}{
		{"mTLS", c.TLSBootstrap, func(cfg *config.Config) {
			cfg.Upstream.TLS = &config.ClientTLS{CAFile: c.CAFile, CertFile: c.ClientCertFile, KeyFile: c.ClientKeyFile}
		}},
		{"SASL PLAIN", c.SASLBootstrap, func(cfg *config.Config) {
			cfg.Upstream.SASL = &config.SASL{Mechanism: config.MechanismPlain, Username: c.SASLUser, Password: c.SASLPassword}
		}},
		{"SASL SCRAM-SHA-256", c.SASLBootstrap, func(cfg *config.Config) {
			cfg.Upstream.SASL = &config.SASL{Mechanism: config.MechanismScramSHA256, Username: c.SASLUser, Password: c.SASLPassword}
		}},
		{"SASL SCRAM-SHA-512", c.SASLBootstrap, func(cfg *config.Config) {
			cfg.Upstream.SASL = &config.SASL{Mechanism: config.MechanismScramSHA512, Username: c.SASLUser, Password: c.SASLPassword}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := startProxy(t, tt.bootstrap, tt.edit)
			topic := createTopic(t, srv, 1, 3)
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			// The client speaks plaintext without credentials to the proxy.
			prod := newClient(t, srv, kgo.DefaultProduceTopic(topic))
			if err := prod.ProduceSync(ctx, kgo.StringRecord("hello")).FirstErr(); err != nil {
				t.Fatalf("produce through a %s upstream: %v", tt.name, err)
			}
			cons := newClient(t, srv, kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
			if fs := cons.PollFetches(ctx); fs.NumRecords() != 1 {
				t.Fatalf("consumed %d records, want 1 (%v)", fs.NumRecords(), fs.Errors())
			}
		})
	}
	t.Run("wrong SASL password is an upstream error, never a client login", func(t *testing.T) {
		cfg := func(cfg *config.Config) {
			cfg.Upstream.SASL = &config.SASL{Mechanism: config.MechanismScramSHA512, Username: c.SASLUser, Password: "wrong"}
		}
		srv := startProxyNotReady(t, c.SASLBootstrap, cfg)
		cl := newClient(t, srv, kgo.RequestRetries(0), kgo.RetryTimeout(2*time.Second))
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if _, err := kmsg.NewPtrMetadataRequest().RequestWith(ctx, cl); err == nil {
			t.Fatal("a request went through although the proxy could not log in upstream")
		}
	})
}

// TestUpstreamSessionIsRenewedWithoutDroppingClients runs the proxy against
// a broker that expires SASL sessions after two seconds
// (connections.max.reauth.ms). The proxy renews its session in band
// (KIP-368), so a client keeps using one connection across several session
// lifetimes.
func TestUpstreamSessionIsRenewedWithoutDroppingClients(t *testing.T) {
	c := harness.StartT(t, harness.Options{Brokers: 1, SASL: true, Config: map[string]string{
		"connections.max.reauth.ms": "2000",
	}})
	reg := prometheus.NewRegistry()
	srv := launchProxyWithRegistry(t, c.SASLBootstrap, func(cfg *config.Config) {
		cfg.Upstream.SASL = &config.SASL{Mechanism: config.MechanismScramSHA512, Username: c.SASLUser, Password: c.SASLPassword}
	}, reg)
	topic := createTopic(t, srv, 1, 1)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	prod := newClient(t, srv, kgo.DefaultProduceTopic(topic))
	var opened float64
	for i := range 15 {
		if err := prod.ProduceSync(ctx, kgo.StringRecord(strconv.Itoa(i))).FirstErr(); err != nil {
			t.Fatalf("produce %d: %v", i, err)
		}
		if i == 0 {
			opened = counter(t, reg, "kafka_auth_proxy_client_connections_total", "listener", "broker")
		}
		time.Sleep(500 * time.Millisecond)
	}
	if got := counter(t, reg, "kafka_auth_proxy_client_connections_total", "listener", "broker"); got != opened {
		t.Errorf("clients opened %v more connections to the broker port: upstream sessions were dropped", got-opened)
	}
	if got := counter(t, reg, "kafka_auth_proxy_upstream_errors_total", "reason", "read"); got != 0 {
		t.Errorf("%v upstream read errors: the broker closed expired sessions", got)
	}
	if got := counter(t, reg, "kafka_auth_proxy_upstream_reauthentications_total", "outcome", "ok"); got < 2 {
		t.Errorf("%v upstream re-authentications in 7 s of 2 s sessions, want at least 2", got)
	}
}

// counter reads one labelled counter from reg.
// counter reads the counter name whose labels include the given name,
// value pairs; 0 when no such series exists yet.
func counter(t testing.TB, reg *prometheus.Registry, name string, labels ...string) float64 {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
	series:
		for _, m := range f.GetMetric() {
			have := map[string]string{}
			for _, l := range m.GetLabel() {
				have[l.GetName()] = l.GetValue()
			}
			for i := 0; i+1 < len(labels); i += 2 {
				if v, ok := have[labels[i]]; !ok || v != labels[i+1] {
					continue series
				}
			}
			return m.GetCounter().GetValue()
		}
	}
	return 0
}

// TestNoResponseNamesAnUpstreamAddress records every byte franz-go clients
// read during a mixed workload (produce, group consume, transactions, admin)
// and checks that no upstream host:port appears, in text or in the wire
// encoding of a broker entry (host string followed by its int32 port).
func TestNoResponseNamesAnUpstreamAddress(t *testing.T) {
	c := triple
	srv := startProxy(t, c.Bootstrap, nil)
	var tap byteTap
	dial := tap.dialer()
	topic := createTopic(t, srv, 3, 3)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	prod := newClient(t, srv, dial, kgo.DefaultProduceTopic(topic), kgo.TransactionalID("tap-"+topic))
	if err := prod.BeginTransaction(); err != nil {
		t.Fatal(err)
	}
	if err := prod.ProduceSync(ctx, kgo.StringRecord("a"), kgo.StringRecord("b")).FirstErr(); err != nil {
		t.Fatal(err)
	}
	if err := prod.EndTransaction(ctx, kgo.TryCommit); err != nil {
		t.Fatal(err)
	}
	cons := newClient(t, srv, dial, kgo.ConsumeTopics(topic), kgo.ConsumerGroup("tap-"+topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	for n := 0; n < 2; {
		fs := cons.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatal("consume timed out")
		}
		n += fs.NumRecords()
	}
	if err := cons.CommitUncommittedOffsets(ctx); err != nil {
		t.Fatal(err)
	}
	admCl := newClient(t, srv, dial)
	adm := kadm.NewClient(admCl)
	if _, err := adm.DescribeGroups(ctx, "tap-"+topic); err != nil {
		t.Fatal(err)
	}
	if _, err := adm.ListBrokers(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := kmsg.NewPtrDescribeClusterRequest().RequestWith(ctx, admCl); err != nil {
		t.Fatal(err)
	}
	cons.Close()
	prod.Close()

	tap.assertNoUpstreamAddress(t, c)
}

// TestLeaderMovesKeepClientsOnProxyAddresses moves a partition's leader
// back and forth while a producer and a consumer run. Brokers answer the
// clients' requests to the old leader with NOT_LEADER_OR_FOLLOWER and the
// new leader's endpoint (KIP-951, Produce v10+ and Fetch v16+), which the
// proxy must rewrite; the clients follow the leader without losing a record
// and never learn an upstream address.
func TestLeaderMovesKeepClientsOnProxyAddresses(t *testing.T) {
	c := triple
	srv := startProxy(t, c.Bootstrap, nil)
	topic := createTopic(t, srv, 1, 3)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var tap byteTap
	prod := newClient(t, srv, tap.dialer(), kgo.DefaultProduceTopic(topic), kgo.ProducerLinger(0))
	cons := newClient(t, srv, tap.dialer(), kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.FetchMaxWait(100*time.Millisecond))
	adm := kadm.NewClient(newClient(t, srv))

	produced := make(chan int, 1)
	stop := make(chan struct{})
	go func() {
		n := 0
		defer func() { produced <- n }()
		for {
			select {
			case <-stop:
				return
			default:
			}
			if err := prod.ProduceSync(ctx, kgo.StringRecord(strconv.Itoa(n))).FirstErr(); err != nil {
				t.Errorf("produce %d while leaders move: %v", n, err)
				return
			}
			n++
		}
	}()
	seen := map[string]bool{}
	poll := func(d time.Duration) {
		pctx, pcancel := context.WithTimeout(ctx, d)
		defer pcancel()
		for pctx.Err() == nil {
			fs := cons.PollFetches(pctx)
			fs.EachRecord(func(r *kgo.Record) { seen[string(r.Value)] = true })
		}
	}
	ids := c.NodeIDs
	for _, leader := range []int32{ids[1], ids[2], ids[0], ids[1]} {
		replicas := []int32{leader}
		for _, id := range ids {
			if id != leader {
				replicas = append(replicas, id)
			}
		}
		var req kadm.AlterPartitionAssignmentsReq
		req.Assign(topic, 0, replicas)
		if _, err := adm.AlterPartitionAssignments(ctx, req); err != nil {
			t.Fatalf("reassign: %v", err)
		}
		set := make(kadm.TopicsSet)
		set.Add(topic, 0)
		if _, err := adm.ElectLeaders(ctx, kadm.ElectPreferredReplica, set); err != nil {
			t.Fatalf("elect leader %d: %v", leader, err)
		}
		poll(time.Second)
	}
	close(stop)
	n := <-produced
	for len(seen) < n && ctx.Err() == nil {
		poll(time.Second)
	}
	if len(seen) < n || n < 10 {
		t.Fatalf("consumed %d of %d records produced while the leader moved", len(seen), n)
	}
	tap.assertNoUpstreamAddress(t, c)
}

func TestUnreachableBrokerGivesClientsKafkaErrorsAndOthersAreServed(t *testing.T) {
	c := harness.StartT(t, harness.Options{Brokers: 3})
	srv := startProxy(t, c.Bootstrap, func(cfg *config.Config) {
		cfg.Upstream.DialTimeout = config.Duration(2 * time.Second)
	})
	topic := createTopic(t, srv, 3, 3)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	prod := newClient(t, srv, kgo.DefaultProduceTopic(topic))
	if err := prod.ProduceSync(ctx, kgo.StringRecord("before")).FirstErr(); err != nil {
		t.Fatal(err)
	}
	if err := c.StopBroker(c.NodeIDs[2]); err != nil {
		t.Fatal(err)
	}
	// Connections to the stopped broker's port fail like a dead broker
	// does; clients move to the new leaders and keep producing.
	for i := range 20 {
		if err := prod.ProduceSync(ctx, kgo.StringRecord("after-"+strconv.Itoa(i))).FirstErr(); err != nil {
			t.Fatalf("produce after a broker stopped: %v", err)
		}
	}
	direct, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", proxyPortBase(t, srv)+int(c.NodeIDs[2])), time.Second)
	if err == nil {
		// The port is open (the proxy serves it) but the connection must
		// end instead of hanging once a request needs the dead broker.
		req := kmsg.NewPtrMetadataRequest()
		frame := kmsg.NewRequestFormatter().AppendRequest(nil, req, 1)
		_, _ = direct.Write(frame)
		_ = direct.SetReadDeadline(time.Now().Add(10 * time.Second))
		var b [1]byte
		if _, err := direct.Read(b[:]); err == nil {
			t.Error("a request for a stopped broker got an answer")
		} else if ne, ok := err.(net.Error); ok && ne.Timeout() {
			t.Error("a connection to a stopped broker hung instead of closing")
		}
		direct.Close()
	}
	fresh := newClient(t, srv)
	if _, err := kadm.NewClient(fresh).ListBrokers(ctx); err != nil {
		t.Fatalf("new clients are not served: %v", err)
	}
}

// proxyPortBase reads the broker port base back from a Metadata answer.
func proxyPortBase(t testing.TB, srv *proxy.Server) int {
	t.Helper()
	cl := newClient(t, srv)
	resp, err := kmsg.NewPtrMetadataRequest().RequestWith(context.Background(), cl)
	if err != nil || len(resp.Brokers) == 0 {
		t.Fatalf("metadata: %v", err)
	}
	b := resp.Brokers[0]
	return int(b.Port) - int(b.NodeID)
}

func keys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}

func lastLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		return s[i+1:]
	}
	return s
}

// byteTap collects what clients read.
type byteTap struct {
	mu  sync.Mutex
	buf []byte
}

func (b *byteTap) bytes() []byte {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]byte(nil), b.buf...)
}

// dialer makes a client record every byte it reads.
func (b *byteTap) dialer() kgo.Opt {
	return kgo.Dialer(func(ctx context.Context, network, host string) (net.Conn, error) {
		nc, err := (&net.Dialer{}).DialContext(ctx, network, host)
		if err != nil {
			return nil, err
		}
		return &tappedConn{Conn: nc, tap: b}, nil
	})
}

// assertNoUpstreamAddress checks that no upstream host:port of c appears in
// what the clients read, as text or in the wire encoding of a broker entry
// (a host string followed by its int32 port).
func (b *byteTap) assertNoUpstreamAddress(t *testing.T, c *harness.Cluster) {
	t.Helper()
	seen := b.bytes()
	if len(seen) < 1000 {
		t.Fatalf("only %d bytes recorded: the tap did not see the traffic", len(seen))
	}
	for _, addr := range append(append(append([]string{}, c.Bootstrap...), c.SASLBootstrap...), c.TLSBootstrap...) {
		host, portStr, _ := net.SplitHostPort(addr)
		port, _ := strconv.Atoi(portStr)
		if bytes.Contains(seen, []byte(addr)) {
			t.Errorf("a response contains the upstream address %s as text", addr)
		}
		var p [4]byte
		binary.BigEndian.PutUint32(p[:], uint32(port))
		for _, enc := range [][]byte{
			append(append(binary.BigEndian.AppendUint16(nil, uint16(len(host))), host...), p[:]...), // STRING
			append(append([]byte{byte(len(host) + 1)}, host...), p[:]...),                           // COMPACT_STRING
		} {
			if bytes.Contains(seen, enc) {
				t.Errorf("a response names upstream broker %s in a broker entry", addr)
			}
		}
	}
}

type tappedConn struct {
	net.Conn
	tap *byteTap
}

func (c *tappedConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.tap.mu.Lock()
	c.tap.buf = append(c.tap.buf, p[:n]...)
	c.tap.mu.Unlock()
	return n, err
}
