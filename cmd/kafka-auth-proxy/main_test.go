package main

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
	"github.com/twmb/franz-go/pkg/sasl/plain"

	"github.com/kafka-auth-proxy/kafka-auth-proxy/authn/apikey"
	"github.com/kafka-auth-proxy/kafka-auth-proxy/config"
	"github.com/kafka-auth-proxy/kafka-auth-proxy/proxy"
)

func execute(args ...string) (string, error) {
	return executeWithInput("", args...)
}

// executeWithInput runs the command line args with stdin.
func executeWithInput(stdin string, args ...string) (string, error) {
	var out bytes.Buffer
	cmd := newRootCmd()
	cmd.SetOut(&out)
	cmd.SetErr(&out)
	cmd.SetIn(strings.NewReader(stdin))
	cmd.SetArgs(args)
	err := cmd.Execute()
	return out.String(), err
}

func TestServeRefusesToRunWithoutAuthDecision(t *testing.T) {
	_, err := execute("serve", "--upstream", "127.0.0.1:1")
	if err == nil || !strings.Contains(err.Error(), "--no-auth") {
		t.Fatalf("want an error that names --no-auth, got %v", err)
	}
	if _, err := execute("serve"); err == nil || !strings.Contains(err.Error(), "--upstream") {
		t.Fatalf("want an error that names --config/--upstream, got %v", err)
	}
}

func TestCheckConfig(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.yaml")
	bad := filepath.Join(dir, "bad.yaml")
	os.WriteFile(good, []byte("auth: none\nupstream:\n  bootstrap: [127.0.0.1:9092]\n"), 0o600)
	os.WriteFile(bad, []byte("auth: none\nupstream:\n  bootstrapp: [127.0.0.1:9092]\nlimits:\n  max_in_flight: 0\n"), 0o600)

	out, err := execute("check-config", good)
	if err != nil || !strings.Contains(out, "ok") {
		t.Fatalf("valid file: %v %q", err, out)
	}
	out, err = execute("check-config", bad)
	if err == nil {
		t.Fatal("invalid file passed")
	}
	for _, want := range []string{bad + ":3: upstream.bootstrapp", bad + ":5: limits.max_in_flight"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}

func TestVersion(t *testing.T) {
	out, err := execute("version")
	if err != nil || !strings.HasPrefix(out, "kafka-auth-proxy ") {
		t.Fatalf("%q %v", out, err)
	}
}

func freePort(t *testing.T) int {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

func TestMetricsHealthAndReadiness(t *testing.T) {
	fake, err := kfake.NewCluster(kfake.NumBrokers(1))
	if err != nil {
		t.Fatal(err)
	}
	defer fake.Close()
	cfg := config.Default()
	cfg.Auth = config.AuthNone
	cfg.Listener.Address = "127.0.0.1:" + strconv.Itoa(freePort(t))
	cfg.Listener.BrokerPortBase = freePort(t)
	cfg.Metrics.Address = "127.0.0.1:" + strconv.Itoa(freePort(t))
	cfg.Upstream.Bootstrap = fake.ListenAddrs()
	cfg.Log.Level = "error"
	if err := cfg.Normalize(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	started := make(chan *proxy.Server, 1)
	done := make(chan error, 1)
	go func() { done <- run(ctx, cfg, nil, func(s *proxy.Server) { started <- s }) }()
	var srv *proxy.Server
	select {
	case srv = <-started:
	case err := <-done:
		t.Fatalf("run: %v", err)
	case <-time.After(10 * time.Second):
		t.Fatal("proxy did not start")
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(srv.BootstrapAddr()))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := kmsg.NewPtrMetadataRequest().RequestWith(ctx, cl); err != nil {
		t.Fatal(err)
	}
	cl.Close()

	get := func(path string) (int, string) {
		resp, err := http.Get("http://" + cfg.Metrics.Address + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, _ := get("/healthz"); code != 200 {
		t.Errorf("/healthz: %d", code)
	}
	if code, _ := get("/readyz"); code != 200 {
		t.Errorf("/readyz: %d", code)
	}
	code, body := get("/metrics")
	if code != 200 {
		t.Fatalf("/metrics: %d", code)
	}
	for _, want := range []string{
		`kafka_auth_proxy_requests_total{api="Metadata"}`,
		`kafka_auth_proxy_request_duration_seconds_bucket{api="Metadata"`,
		`kafka_auth_proxy_client_connections_total{listener="bootstrap"}`,
		"kafka_auth_proxy_client_received_bytes_total",
		"kafka_auth_proxy_client_sent_bytes_total",
		"kafka_auth_proxy_upstream_errors_total",
		"process_cpu_seconds_total",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("run returned %v after SIGTERM-equivalent cancel", err)
	}
}

// Authorization decisions, the memo and the policy are exported as
// metrics.
func TestAuthorizationMetrics(t *testing.T) {
	fake, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(1, "orders", "payments"), kfake.ClusterID("metrics-test"))
	if err != nil {
		t.Fatal(err)
	}
	defer fake.Close()
	id, err := apikey.NewKeyID()
	if err != nil {
		t.Fatal(err)
	}
	secret, err := apikey.NewSecret()
	if err != nil {
		t.Fatal(err)
	}
	hash, err := apikey.HashSecret(secret)
	if err != nil {
		t.Fatal(err)
	}
	cfg := config.Default()
	cfg.Listener.Address = "127.0.0.1:" + strconv.Itoa(freePort(t))
	cfg.Listener.BrokerPortBase = freePort(t)
	cfg.Metrics.Address = "127.0.0.1:" + strconv.Itoa(freePort(t))
	cfg.Upstream.Bootstrap = fake.ListenAddrs()
	cfg.Log.Level = "error"
	cfg.Authentication.FailureDelay = 0
	cfg.APIKeys.Accounts = []config.Account{{ID: "sa-app"}}
	cfg.APIKeys.Keys = []config.APIKey{{ID: id, SecretHash: hash, Account: "sa-app", Cluster: "metrics-test"}}
	cfg.Authorization.RoleBindings = []config.RoleBinding{{Principal: "User:sa-app", Role: "DeveloperWrite", ResourceType: "topic", Name: "orders"}}
	if problems := cfg.Validate(); len(problems) > 0 {
		t.Fatal(problems)
	}
	if err := cfg.Normalize(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	started := make(chan *proxy.Server, 1)
	done := make(chan error, 1)
	go func() { done <- run(ctx, cfg, nil, func(s *proxy.Server) { started <- s }) }()
	var srv *proxy.Server
	select {
	case srv = <-started:
	case err := <-done:
		t.Fatalf("run: %v", err)
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(srv.BootstrapAddr()), kgo.SASL(plain.Auth{User: id, Pass: secret}.AsMechanism()),
		kgo.RecordRetries(1), kgo.UnknownTopicRetries(1))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	pctx, pcancel := context.WithTimeout(ctx, 10*time.Second)
	defer pcancel()
	for range 3 {
		if err := cl.ProduceSync(pctx, &kgo.Record{Topic: "orders", Value: []byte("x")}).FirstErr(); err != nil {
			t.Fatalf("produce to orders: %v", err)
		}
	}
	if err := cl.ProduceSync(pctx, &kgo.Record{Topic: "payments", Value: []byte("x")}).FirstErr(); err == nil {
		t.Fatal("produce to payments was allowed")
	}

	resp, err := http.Get("http://" + cfg.Metrics.Address + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	value := func(series string) float64 {
		for _, line := range strings.Split(string(body), "\n") {
			if rest, ok := strings.CutPrefix(line, series+" "); ok {
				v, err := strconv.ParseFloat(rest, 64)
				if err != nil {
					t.Fatalf("%s: %v", line, err)
				}
				return v
			}
		}
		t.Errorf("/metrics lacks %s", series)
		return 0
	}
	for _, tc := range []struct {
		series  string
		atLeast float64
	}{
		{`kafka_auth_proxy_authz_decisions_total{operation="Write",outcome="allowed",resource_type="Topic"}`, 3},
		// The client asks Metadata for payments first: Describe is denied.
		{`kafka_auth_proxy_authz_decisions_total{operation="Describe",outcome="denied",resource_type="Topic"}`, 1},
		{`kafka_auth_proxy_authz_memo_hits_total`, 2},
		{`kafka_auth_proxy_authz_memo_misses_total`, 2},
		{`kafka_auth_proxy_authz_policy_version`, 1},
		{`kafka_auth_proxy_authz_policy_acls`, 2},
		{`kafka_auth_proxy_authz_policy_rebuild_seconds_count`, 1},
	} {
		if got := value(tc.series); got < tc.atLeast {
			t.Errorf("%s = %v, want at least %v", tc.series, got, tc.atLeast)
		}
	}
	cancel()
	<-done
}
