//go:build integration

package integration

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kgo"
	"go.uber.org/zap/zaptest"

	"github.com/kafka-auth-proxy/kafka-auth-proxy/cmd/kafka-auth-proxy/assemble"
	"github.com/kafka-auth-proxy/kafka-auth-proxy/config"
	"github.com/kafka-auth-proxy/kafka-auth-proxy/integration/harness"
	"github.com/kafka-auth-proxy/kafka-auth-proxy/proxy"
)

// Clusters shared by the tests of this package: starting JVMs is the slow
// part, so each shape starts once.
var (
	single *harness.Cluster // one broker, node id 1
	triple *harness.Cluster // three brokers (ids 1-3) with SASL and mTLS listeners too
)

func TestMain(m *testing.M) {
	os.Exit(runTests(m))
}

func runTests(m *testing.M) int {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	var err error
	begin := time.Now()
	if single, err = harness.Start(ctx, harness.Options{Brokers: 1}); err != nil {
		fmt.Fprintln(os.Stderr, "start single-broker cluster:", err)
		return 1
	}
	defer single.Stop()
	if triple, err = harness.Start(ctx, harness.Options{Brokers: 3, SASL: true, TLS: true}); err != nil {
		fmt.Fprintln(os.Stderr, "start three-broker cluster:", err)
		return 1
	}
	defer triple.Stop()
	fmt.Fprintf(os.Stderr, "kafka clusters ready in %v\n", time.Since(begin).Round(time.Second))
	return m.Run()
}

// freePortBase finds base such that base..base+span-1 are free on loopback,
// so that broker N is served on base+N.
func freePortBase(t testing.TB, span int) int {
	t.Helper()
	for range 200 {
		base := 20000 + rand.IntN(40000)
		free := true
		for i := range span {
			ln, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(base+i))
			if err != nil {
				free = false
				break
			}
			ln.Close()
		}
		if free {
			return base
		}
	}
	t.Fatal("no free port range on loopback")
	return 0
}

// startProxy runs a proxy in this process in front of upstream, with edit
// applied to a default configuration, checks that it reached the upstream
// cluster, and stops it with the test.
func startProxy(t testing.TB, upstream []string, edit func(*config.Config)) *proxy.Server {
	t.Helper()
	srv := launchProxy(t, upstream, edit)
	if !srv.Ready() {
		t.Fatal("proxy did not reach the upstream cluster")
	}
	return srv
}

// startProxyNotReady is startProxy for a proxy expected not to reach its
// upstream.
func startProxyNotReady(t testing.TB, upstream []string, edit func(*config.Config)) *proxy.Server {
	t.Helper()
	srv := launchProxy(t, upstream, func(cfg *config.Config) {
		cfg.Upstream.DialTimeout = config.Duration(3 * time.Second)
		if edit != nil {
			edit(cfg)
		}
	})
	if srv.Ready() {
		t.Fatal("proxy reports ready although it cannot reach its upstream")
	}
	return srv
}

func launchProxy(t testing.TB, upstream []string, edit func(*config.Config)) *proxy.Server {
	t.Helper()
	return launchProxyWithRegistry(t, upstream, edit, nil)
}

// launchProxyWithRegistry is launchProxy with the proxy's metrics
// registered on reg.
func launchProxyWithRegistry(t testing.TB, upstream []string, edit func(*config.Config), reg prometheus.Registerer) *proxy.Server {
	t.Helper()
	return launchProxyWith(t, upstream, edit, reg, nil)
}

// launchProxyWith is launchProxyWithRegistry with setup called after the
// proxy is built and before it starts, with the validated configuration.
func launchProxyWith(t testing.TB, upstream []string, edit func(*config.Config), reg prometheus.Registerer, setup func(*proxy.Server, *config.Config)) *proxy.Server {
	t.Helper()
	cfg := config.Default()
	cfg.Auth = config.AuthNone
	cfg.Listener.Address = "127.0.0.1:0"
	cfg.Listener.BrokerPortBase = freePortBase(t, 8)
	cfg.Upstream.Bootstrap = upstream
	if edit != nil {
		edit(cfg)
	}
	if problems := cfg.Validate(); len(problems) > 0 {
		t.Fatalf("proxy config: %v", problems)
	}
	if err := cfg.Normalize(); err != nil {
		t.Fatal(err)
	}
	srv, err := proxy.NewServer(assemble.Proxy(cfg), zaptest.NewLogger(t), reg)
	if err != nil {
		t.Fatal(err)
	}
	if setup != nil {
		setup(srv, cfg)
	}
	if err := srv.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			t.Errorf("proxy shutdown: %v", err)
		}
	})
	return srv
}

// newClient is a franz-go client that only knows the proxy's bootstrap
// address.
func newClient(t testing.TB, srv *proxy.Server, opts ...kgo.Opt) *kgo.Client {
	t.Helper()
	cl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(srv.BootstrapAddr())}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	return cl
}

// topicName returns a topic name unique to this run.
func topicName(t testing.TB) string {
	return fmt.Sprintf("it-%d-%d", time.Now().UnixNano()%1e9, rand.IntN(1e6))
}
