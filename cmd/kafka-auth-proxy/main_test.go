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
