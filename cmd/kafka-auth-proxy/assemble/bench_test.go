package assemble_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
	"github.com/twmb/franz-go/pkg/sasl/plain"
	"go.uber.org/zap"

	"github.com/kafka-auth-proxy/kafka-auth-proxy/admin"
	"github.com/kafka-auth-proxy/kafka-auth-proxy/audit"
	"github.com/kafka-auth-proxy/kafka-auth-proxy/authn/apikey"
	"github.com/kafka-auth-proxy/kafka-auth-proxy/cmd/kafka-auth-proxy/assemble"
	"github.com/kafka-auth-proxy/kafka-auth-proxy/config"
	"github.com/kafka-auth-proxy/kafka-auth-proxy/proxy"
	"github.com/kafka-auth-proxy/kafka-auth-proxy/store"
)

// BenchmarkBindingEffect measures how long a role binding created through
// the admin API takes to reach a Kafka connection that is already open:
//
//	go test -run '^$' -bench BindingEffect -benchtime 200x ./cmd/kafka-auth-proxy/assemble/
//
// An in-process proxy (proxy.NewServer and assemble.Secure, as serve
// builds it) sits in front of kfake, with the admin API over the same
// store and the proxy's own authenticator (a cloud API key of an
// OrganizationAdmin). One franz-go client logs in once with a cluster API
// key and produces to a warm-up topic, which opens its connections. Each
// op then takes a fresh topic, checks that a produce to it is refused
// with TOPIC_AUTHORIZATION_FAILED, creates a DeveloperWrite binding on it
// with POST /iam/v2/role-bindings, and times from the HTTP response to
// the first produce that succeeds, retrying every benchRetryPause. Only
// that interval is timed: ns/op is its mean, p50-ms and p99-ms its
// percentiles, attempts/op the produces it took (1: the first produce
// after the answer succeeded), stale/op the refused ones the client
// failed from metadata it had asked for before the answer (its lag, not
// the proxy's). The benchmark fails if a request sent after the answer
// is refused, or if the client opened or lost a connection after the
// warm-up: every effect is on the same connections.
//
// Sub-benchmarks:
//
//   - memory, file: the state store (cfg.APIKeys.StateFile unset, or a
//     state file in a temporary directory).
//   - none: the client has no binding on the topic, so the proxy refuses
//     its Metadata for it and franz-go fails the produce from its cached
//     metadata. After the binding the client must refresh metadata first,
//     which franz-go does at most every MetadataMinAge (set to 10ms, the
//     least it takes; its default is 5s): the figure is mostly that
//     client delay.
//   - read: the client holds DeveloperRead on the topic, so Metadata
//     succeeds and the Produce request itself is refused. This isolates
//     the proxy: the next Produce after the answer is decided by the new
//     policy.
func BenchmarkBindingEffect(b *testing.B) {
	for _, backend := range []string{"memory", "file"} {
		for _, access := range []string{"none", "read"} {
			b.Run(backend+"/"+access, func(b *testing.B) {
				benchEffect(b, backend == "file", access == "read")
			})
		}
	}
}

// benchRetryPause is the pause between produce attempts while the
// binding has not taken effect, which bounds the resolution of the
// figures when the first attempt fails.
const benchRetryPause = 100 * time.Microsecond

const (
	benchClusterID = "lkc-bench"
	benchOrg       = "org-bench"
	benchEnv       = "env-bench"
	benchWarmTopic = "bench-warm"
	benchApp       = "sa-benchapp"
	benchAdmin     = "sa-benchadm"
)

func benchTopicCRN(cluster, topic string) string {
	return store.CRNPrefix + "organization=" + benchOrg + "/environment=" + benchEnv +
		"/cloud-cluster=" + cluster + "/kafka=" + cluster + "/topic=" + topic
}

// benchConnHooks counts the client's connections, and tells which
// Metadata request the latest Metadata answer the client read was for.
type benchConnHooks struct {
	connects, disconnects atomic.Int64

	mu sync.Mutex
	// pending holds, by broker, when the Metadata requests not answered
	// yet were sent.
	pending map[int32][]time.Time
	// answered is when the request of the latest Metadata answer was
	// sent.
	answered time.Time
}

func (h *benchConnHooks) OnBrokerConnect(_ kgo.BrokerMetadata, _ time.Duration, _ net.Conn, err error) {
	if err == nil {
		h.connects.Add(1)
	}
}

func (h *benchConnHooks) OnBrokerDisconnect(kgo.BrokerMetadata, net.Conn) { h.disconnects.Add(1) }

func (h *benchConnHooks) OnBrokerWrite(meta kgo.BrokerMetadata, key int16, _ int, _, timeToWrite time.Duration, err error) {
	if key != kmsg.Metadata.Int16() || err != nil {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	h.pending[meta.NodeID] = append(h.pending[meta.NodeID], time.Now().Add(-timeToWrite))
}

func (h *benchConnHooks) OnBrokerRead(meta kgo.BrokerMetadata, key int16, _ int, _, _ time.Duration, err error) {
	if key != kmsg.Metadata.Int16() {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	q := h.pending[meta.NodeID]
	if len(q) == 0 {
		return
	}
	sent := q[0]
	h.pending[meta.NodeID] = q[1:]
	if err == nil && sent.After(h.answered) {
		h.answered = sent
	}
}

// metadataSince reports whether the client has read the answer to a
// Metadata request it sent after t.
func (h *benchConnHooks) metadataSince(t time.Time) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.answered.After(t)
}

var (
	_ kgo.HookBrokerConnect    = (*benchConnHooks)(nil)
	_ kgo.HookBrokerDisconnect = (*benchConnHooks)(nil)
	_ kgo.HookBrokerWrite      = (*benchConnHooks)(nil)
	_ kgo.HookBrokerRead       = (*benchConnHooks)(nil)
)

// benchKey returns a new API key's id, secret and secret hash.
func benchKey(b *testing.B) (id, secret, hash string) {
	b.Helper()
	id, err := apikey.NewKeyID()
	if err != nil {
		b.Fatal(err)
	}
	secret, err = apikey.NewSecret()
	if err != nil {
		b.Fatal(err)
	}
	hash, err = apikey.HashSecret(secret)
	if err != nil {
		b.Fatal(err)
	}
	return id, secret, hash
}

// benchFreePort returns a port nothing listens on now.
func benchFreePort(b *testing.B) int {
	b.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

func benchEffect(b *testing.B, file, read bool) {
	topics := make([]string, b.N)
	for i := range topics {
		topics[i] = "bench-effect-" + strconv.Itoa(i)
	}
	fake, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.ClusterID(benchClusterID),
		kfake.SeedTopics(1, append([]string{benchWarmTopic}, topics...)...))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(fake.Close)

	cfg := config.Default()
	cfg.Auth = config.AuthSASL
	cfg.Listener.Address = "127.0.0.1:" + strconv.Itoa(benchFreePort(b))
	cfg.Listener.BrokerPortBase = benchFreePort(b)
	cfg.Listener.SASLMechanisms = []string{config.ClientPlain}
	cfg.Upstream.Bootstrap = fake.ListenAddrs()
	cfg.Organization = config.Organization{ID: benchOrg, Environment: benchEnv}
	cfg.Authentication.FailureDelay = 0
	cfg.Log.Level = "error"
	if file {
		cfg.APIKeys.StateFile = filepath.Join(b.TempDir(), "state.json")
	} else {
		// Without a state file, auth: sasl needs a key in the
		// configuration; the benchmark's keys are in the store.
		id, _, hash := benchKey(b)
		cfg.APIKeys.Accounts = []config.Account{{ID: "sa-benchcfg"}}
		cfg.APIKeys.Keys = []config.APIKey{{ID: id, SecretHash: hash, Account: "sa-benchcfg", Cluster: benchClusterID}}
	}
	if problems := cfg.Validate(); len(problems) > 0 {
		b.Fatalf("config: %v", problems)
	}
	if err := cfg.Normalize(); err != nil {
		b.Fatal(err)
	}
	log := zap.NewNop()
	reg := prometheus.NewRegistry()
	sink := audit.New(io.Discard)
	srv, err := proxy.NewServer(assemble.Proxy(cfg), log, reg)
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	sec, err := assemble.Secure(ctx, cfg, srv, reg, sink, log)
	if err != nil {
		cancel()
		b.Fatal(err)
	}
	if err := srv.Start(context.Background()); err != nil {
		cancel()
		b.Fatal(err)
	}
	b.Cleanup(func() {
		sctx, scancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer scancel()
		if err := srv.Shutdown(sctx); err != nil {
			b.Errorf("proxy shutdown: %v", err)
		}
		cancel()
		sec.Wait()
	})
	if err := sec.Started(); err != nil {
		b.Fatal(err)
	}
	cluster := srv.ClusterID()
	if cluster != benchClusterID {
		b.Fatalf("the proxy's cluster is %q, want %q", cluster, benchClusterID)
	}

	// The client's account and cluster key, and an OrganizationAdmin with
	// a cloud key for the admin API.
	appKey, appSecret, appHash := benchKey(b)
	admKey, admSecret, admHash := benchKey(b)
	cmds := []store.Command{
		store.Create(&store.ServiceAccount{Metadata: store.Meta{ID: benchApp}, DisplayName: "bench app"}),
		store.Create(&store.ServiceAccount{Metadata: store.Meta{ID: benchAdmin}, DisplayName: "bench admin"}),
		store.Create(&store.APIKey{Metadata: store.Meta{ID: appKey}, SecretHash: appHash, Owner: benchApp, Resource: cluster}),
		store.Create(&store.APIKey{Metadata: store.Meta{ID: admKey}, SecretHash: admHash, Owner: benchAdmin, Resource: store.ResourceCloud}),
		store.Create(&store.RoleBinding{Metadata: store.Meta{ID: "rb-benchadm"}, Principal: store.Principal(benchAdmin),
			RoleName: "OrganizationAdmin", CRNPattern: store.CRNPrefix + "organization=" + benchOrg}),
		store.Create(&store.RoleBinding{Metadata: store.Meta{ID: "rb-benchwarm"}, Principal: store.Principal(benchApp),
			RoleName: "DeveloperWrite", CRNPattern: benchTopicCRN(cluster, benchWarmTopic)}),
	}
	if read {
		for i, t := range topics {
			cmds = append(cmds, store.Create(&store.RoleBinding{Metadata: store.Meta{ID: "rb-benchread" + strconv.Itoa(i)},
				Principal: store.Principal(benchApp), RoleName: "DeveloperRead", CRNPattern: benchTopicCRN(cluster, t)}))
		}
	}
	if _, err := sec.Store.Apply(ctx, cmds...); err != nil {
		b.Fatalf("seeding the store: %v", err)
	}

	api, err := admin.New(admin.Options{
		Store:         sec.Store,
		Scope:         admin.Scope{Organization: benchOrg, Environment: benchEnv, Cluster: srv.ClusterID},
		Authenticator: sec.Authenticator,
		Audit:         sink,
		Registerer:    reg,
		Log:           log,
	})
	if err != nil {
		b.Fatal(err)
	}
	ts := httptest.NewServer(api.Handler())
	b.Cleanup(ts.Close)
	hc := ts.Client()
	grant := func(topic string) {
		body, err := json.Marshal(admin.RoleBindingCreate{Principal: store.Principal(benchApp), RoleName: "DeveloperWrite",
			CRNPattern: benchTopicCRN(cluster, topic)})
		if err != nil {
			b.Fatal(err)
		}
		req, err := http.NewRequest("POST", ts.URL+"/iam/v2/role-bindings", bytes.NewReader(body))
		if err != nil {
			b.Fatal(err)
		}
		req.SetBasicAuth(admKey, admSecret)
		req.Header.Set("Content-Type", "application/json")
		resp, err := hc.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		data, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			b.Fatal(err)
		}
		if resp.StatusCode != http.StatusCreated {
			b.Fatalf("POST /iam/v2/role-bindings: %d %s", resp.StatusCode, data)
		}
	}

	hooks := &benchConnHooks{pending: map[int32][]time.Time{}}
	cl, err := kgo.NewClient(
		kgo.SeedBrokers(srv.BootstrapAddr()),
		kgo.SASL(plain.Auth{User: appKey, Pass: appSecret}.AsMechanism()),
		kgo.WithHooks(hooks),
		// franz-go's defaults would dominate the figures: it lingers
		// 10ms before sending a batch and refreshes metadata at most
		// every 5s.
		kgo.ProducerLinger(0),
		kgo.MetadataMinAge(10*time.Millisecond),
	)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(cl.Close)
	pctx, pcancel := context.WithTimeout(ctx, 5*time.Minute)
	b.Cleanup(pcancel)
	produce := func(topic string) error {
		return cl.ProduceSync(pctx, &kgo.Record{Topic: topic, Value: []byte("x")}).FirstErr()
	}
	if err := produce(benchWarmTopic); err != nil {
		b.Fatalf("warm-up produce: %v", err)
	}
	connects, disconnects := hooks.connects.Load(), hooks.disconnects.Load()

	lat := make([]time.Duration, 0, b.N)
	attempts, stale := 0, 0
	b.ResetTimer()
	b.StopTimer()
	for _, topic := range topics {
		if err := produce(topic); !errors.Is(err, kerr.TopicAuthorizationFailed) {
			b.Fatalf("produce to %s before the binding: %v, want TOPIC_AUTHORIZATION_FAILED", topic, err)
		}
		grant(topic)
		start := time.Now()
		b.StartTimer()
		for {
			attempts++
			err := produce(topic)
			if err == nil {
				break
			}
			if !errors.Is(err, kerr.TopicAuthorizationFailed) {
				b.Fatalf("produce to %s after the binding: %v", topic, err)
			}
			// A refusal is the client's own lag when it comes from
			// metadata asked before the binding existed; a Produce
			// request, or metadata asked after the answer, refused
			// means the binding did not apply when Apply returned.
			if read || hooks.metadataSince(start) {
				b.Fatalf("produce to %s refused by a request sent after the binding was created: %v", topic, err)
			}
			stale++
			if time.Since(start) > 10*time.Second {
				b.Fatalf("produce to %s still refused 10s after the binding: %v", topic, err)
			}
			time.Sleep(benchRetryPause)
		}
		b.StopTimer()
		lat = append(lat, time.Since(start))
	}
	if c, d := hooks.connects.Load()-connects, hooks.disconnects.Load()-disconnects; c != 0 || d != 0 {
		b.Fatalf("the client opened %d and lost %d connections after the warm-up: the effects were not all on the same connections", c, d)
	}
	slices.Sort(lat)
	ms := func(q float64) float64 {
		i := min(max(int(q*float64(len(lat))+0.5)-1, 0), len(lat)-1)
		return float64(lat[i]) / float64(time.Millisecond)
	}
	b.ReportMetric(ms(0.50), "p50-ms")
	b.ReportMetric(ms(0.99), "p99-ms")
	b.ReportMetric(float64(attempts)/float64(b.N), "attempts/op")
	b.ReportMetric(float64(stale)/float64(b.N), "stale/op")
}
