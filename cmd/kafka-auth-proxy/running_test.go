package main

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
	"github.com/twmb/franz-go/pkg/sasl/plain"

	"github.com/kafka-auth-proxy/kafka-auth-proxy/config"
	"github.com/kafka-auth-proxy/kafka-auth-proxy/proxy"
)

// runningProxy is a proxy started by run() in front of kfake, with its
// state file and, when admin is set, its admin API.
type runningProxy struct {
	srv      *proxy.Server
	cfgFile  string
	adminURL string
}

func startRunningProxy(t *testing.T, admin bool) *runningProxy {
	t.Helper()
	fake, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(1, "t", "orders-1"), kfake.ClusterID("cli-test"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(fake.Close)
	dir := t.TempDir()
	p := &runningProxy{cfgFile: filepath.Join(dir, "proxy.yaml")}
	// kfake's one broker is node 0, served on broker_port_base itself.
	yaml := "listener:\n  address: 127.0.0.1:" + strconv.Itoa(freePort(t)) + "\n  broker_port_base: " + strconv.Itoa(freePort(t)) + "\n" +
		"upstream:\n  bootstrap: [" + fake.ListenAddrs()[0] + "]\n" +
		"api_keys:\n  state_file: " + filepath.Join(dir, "state.json") + "\n  state_poll_interval: 100ms\n" +
		"authentication:\n  failure_delay: 0s\n" +
		"metrics:\n  address: \"\"\n"
	if admin {
		p.adminURL = "127.0.0.1:" + strconv.Itoa(freePort(t))
		yaml += "admin:\n  address: " + p.adminURL + "\n"
		p.adminURL = "http://" + p.adminURL
	} else {
		yaml += "authorization:\n  role_bindings:\n    - principal: User:*\n      role: CloudClusterAdmin\n"
	}
	if err := os.WriteFile(p.cfgFile, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(p.cfgFile)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	started := make(chan *proxy.Server, 1)
	done := make(chan error, 1)
	go func() { done <- run(ctx, cfg, nil, func(s *proxy.Server) { started <- s }) }()
	select {
	case p.srv = <-started:
	case err := <-done:
		cancel()
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	})
	return p
}

// The keys the CLI writes to the state file, offline, are picked up by a
// running proxy without a restart, and deleting one closes its
// connections.
func TestRunningProxyPicksUpKeysFromTheCLI(t *testing.T) {
	p := startRunningProxy(t, false)
	t.Setenv("KAFKA_AUTH_PROXY_URL", "")
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())

	var acc struct{ ID string }
	_ = json.Unmarshal([]byte(mustExecute(t, "service-account", "create", "app", "--config", p.cfgFile, "-o", "json")), &acc)
	var key struct {
		ID   string `json:"id"`
		Spec struct {
			Secret string `json:"secret"`
		} `json:"spec"`
	}
	// No --resource: the CLI asks the upstream cluster for its id.
	_ = json.Unmarshal([]byte(mustExecute(t, "api-key", "create", "--service-account", acc.ID, "--config", p.cfgFile, "-o", "json")), &key)
	if key.ID == "" || key.Spec.Secret == "" {
		t.Fatal("api-key create printed no key")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	login := kgo.SASL(plain.Auth{User: key.ID, Pass: key.Spec.Secret}.AsMechanism())
	for {
		cl, err := kgo.NewClient(kgo.SeedBrokers(p.srv.BootstrapAddr()), login, kgo.DefaultProduceTopic("t"))
		if err != nil {
			t.Fatal(err)
		}
		actx, acancel := context.WithTimeout(ctx, 2*time.Second)
		err = cl.ProduceSync(actx, kgo.StringRecord("x")).FirstErr()
		acancel()
		cl.Close()
		if err == nil {
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("the new key never worked: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	// An idle connection logged in with the key.
	nc := plainLogin(t, p.srv.BootstrapAddr(), key.ID, key.Spec.Secret)
	defer nc.Close()
	mustExecute(t, "api-key", "delete", key.ID, "--config", p.cfgFile)
	_ = nc.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := nc.Read(make([]byte, 1)); err == nil || errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("the deleted key's connection was not closed within 5s: %v", err)
	}
	fresh, err := kgo.NewClient(kgo.SeedBrokers(p.srv.BootstrapAddr()), login)
	if err != nil {
		t.Fatal(err)
	}
	defer fresh.Close()
	if err := fresh.Ping(ctx); err == nil || !strings.Contains(err.Error(), "Invalid username or password") {
		t.Fatalf("a new connection with the deleted key: %v", err)
	}
}

// A role binding created through the admin API applies to the next
// request of a connection that is already open, and deleting it denies
// the next one; deleting the key closes the connection.
func TestAdminAPIChangesApplyToOpenConnections(t *testing.T) {
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	t.Setenv("KAFKA_AUTH_PROXY_CONFIG", "")
	p := startRunningProxyBootstrapped(t)
	env := []string{"--url", p.adminURL, "--api-key", p.adminKey, "--api-secret", p.adminSecret}
	cli := func(args ...string) string { return mustExecute(t, append(args, env...)...) }

	var acc struct{ ID string }
	_ = json.Unmarshal([]byte(cli("iam", "service-account", "create", "orders-app", "-o", "json")), &acc)
	var key struct {
		ID   string `json:"id"`
		Spec struct {
			Secret string `json:"secret"`
		} `json:"spec"`
	}
	_ = json.Unmarshal([]byte(cli("api-key", "create", "--service-account", acc.ID, "--resource", "cli-test", "-o", "json")), &key)

	cl, err := kgo.NewClient(kgo.SeedBrokers(p.srv.BootstrapAddr()), kgo.SASL(plain.Auth{User: key.ID, Pass: key.Spec.Secret}.AsMechanism()),
		kgo.DefaultProduceTopic("orders-1"), kgo.RecordRetries(0), kgo.RequestRetries(0))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	produce := func() error {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		return cl.ProduceSync(ctx, kgo.StringRecord("x")).FirstErr()
	}
	if err := produce(); !errors.Is(err, kerr.TopicAuthorizationFailed) {
		t.Fatalf("produce without a binding: %v, want TOPIC_AUTHORIZATION_FAILED", err)
	}
	var rb struct{ ID string }
	_ = json.Unmarshal([]byte(cli("iam", "rbac", "role-binding", "create", "--principal", "User:"+acc.ID, "--role", "DeveloperWrite",
		"--resource", "Topic:orders-", "--prefix", "--kafka-cluster", "cli-test", "-o", "json")), &rb)
	if err := produce(); err != nil {
		t.Fatalf("produce on the same client after the binding was created: %v", err)
	}
	cli("iam", "rbac", "role-binding", "delete", rb.ID)
	if err := produce(); !errors.Is(err, kerr.TopicAuthorizationFailed) {
		t.Fatalf("produce after the binding was deleted: %v, want TOPIC_AUTHORIZATION_FAILED", err)
	}

	nc := plainLogin(t, p.srv.BootstrapAddr(), key.ID, key.Spec.Secret)
	defer nc.Close()
	cli("iam", "service-account", "delete", acc.ID)
	_ = nc.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := nc.Read(make([]byte, 1)); err == nil || errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("the deleted account's connection was not closed within 5s: %v", err)
	}
}

// bootstrappedProxy is a running proxy with its admin API and the cloud
// key of its first OrganizationAdmin.
type bootstrappedProxy struct {
	*runningProxy
	adminKey, adminSecret string
}

func startRunningProxyBootstrapped(t *testing.T) *bootstrappedProxy {
	t.Helper()
	p := startRunningProxy(t, true)
	var first firstAdmin
	if err := json.Unmarshal([]byte(mustExecute(t, "admin", "bootstrap", "--config", p.cfgFile, "-o", "json")), &first); err != nil {
		t.Fatal(err)
	}
	// The running proxy reads the state file the bootstrap wrote within
	// its poll interval.
	deadline := time.Now().Add(10 * time.Second)
	for {
		req, _ := http.NewRequest("GET", p.adminURL+"/org/v2/organizations", nil)
		req.SetBasicAuth(first.Key, first.Secret)
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("the bootstrapped key never worked on the admin API: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	return &bootstrappedProxy{runningProxy: p, adminKey: first.Key, adminSecret: first.Secret}
}

// plainLogin opens a connection and logs in with SASL/PLAIN v1 by hand.
func plainLogin(t *testing.T, addr, user, pass string) net.Conn {
	t.Helper()
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	_ = nc.SetDeadline(time.Now().Add(5 * time.Second))
	f := kmsg.NewRequestFormatter(kmsg.FormatterClientID("test"))
	hs := kmsg.NewPtrSASLHandshakeRequest()
	hs.Version, hs.Mechanism = 1, "PLAIN"
	auth := kmsg.NewPtrSASLAuthenticateRequest()
	auth.Version, auth.SASLAuthBytes = 1, []byte("\x00"+user+"\x00"+pass)
	for i, req := range []kmsg.Request{hs, auth} {
		if _, err := nc.Write(f.AppendRequest(nil, req, int32(i))); err != nil {
			t.Fatal(err)
		}
		var size [4]byte
		if _, err := io.ReadFull(nc, size[:]); err != nil {
			t.Fatalf("login: %v", err)
		}
		body := make([]byte, binary.BigEndian.Uint32(size[:]))
		if _, err := io.ReadFull(nc, body); err != nil {
			t.Fatalf("login: %v", err)
		}
		if code := binary.BigEndian.Uint16(body[4:6]); code != 0 {
			t.Fatalf("login: error code %d", code)
		}
	}
	_ = nc.SetDeadline(time.Time{})
	return nc
}
