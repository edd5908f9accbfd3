package main

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"io"
	"net"
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
	"github.com/kafka-auth-proxy/kafka-auth-proxy/store"
)

func mustExecute(t *testing.T, args ...string) string {
	t.Helper()
	out, err := execute(args...)
	if err != nil {
		t.Fatalf("%s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

func TestAccountAndAPIKeyLifecycle(t *testing.T) {
	state := filepath.Join(t.TempDir(), "state.json")
	var acc struct{ ID string }
	if err := json.Unmarshal([]byte(mustExecute(t, "service-account", "create", "payments", "--description", "payments service", "--state-file", state, "-o", "json")), &acc); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(acc.ID, "sa-") {
		t.Fatalf("service account id %q", acc.ID)
	}
	var key struct {
		APIKey    string `json:"api_key"`
		APISecret string `json:"api_secret"`
	}
	for range 2 { // two keys: rotation
		out := mustExecute(t, "api-key", "create", "--service-account", acc.ID, "--cluster", "lkc-1", "--description", "producer", "--state-file", state, "-o", "json")
		if err := json.Unmarshal([]byte(out), &key); err != nil {
			t.Fatal(err)
		}
	}
	if !apikey.ValidKeyID(key.APIKey) || len(key.APISecret) < 43 {
		t.Fatalf("key %q secret length %d", key.APIKey, len(key.APISecret))
	}
	st, err := store.Load(state)
	if err != nil {
		t.Fatal(err)
	}
	if len(st.Keys) != 2 || st.Keys[1].ID != key.APIKey || st.Keys[1].Account != acc.ID || st.Keys[1].Cluster != "lkc-1" {
		t.Fatalf("state file keys %+v", st.Keys)
	}
	raw, _ := os.ReadFile(state)
	if strings.Contains(string(raw), key.APISecret) {
		t.Fatal("the state file holds the secret itself")
	}
	h, err := apikey.ParseHash(st.Keys[1].SecretHash)
	if err != nil || !h.Verify(key.APISecret) {
		t.Fatalf("stored hash does not verify the printed secret: %v", err)
	}

	list := mustExecute(t, "api-key", "list", "--state-file", state)
	if !strings.Contains(list, key.APIKey) || !strings.Contains(list, acc.ID) || strings.Contains(list, key.APISecret) {
		t.Fatalf("api-key list:\n%s", list)
	}
	if err := store.MergeLastUsed(state, map[string]time.Time{key.APIKey: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}); err != nil {
		t.Fatal(err)
	}
	if list := mustExecute(t, "api-key", "list", "--state-file", state); !strings.Contains(list, "2026-01-02T03:04:05Z") {
		t.Fatalf("api-key list does not show the last use:\n%s", list)
	}

	mustExecute(t, "api-key", "delete", key.APIKey, "--state-file", state)
	if st, _ := store.Load(state); len(st.Keys) != 1 {
		t.Fatalf("%d keys after delete", len(st.Keys))
	}
	if _, err := execute("api-key", "delete", key.APIKey, "--state-file", state); err == nil {
		t.Fatal("deleting a deleted key succeeded")
	}
	out := mustExecute(t, "service-account", "delete", acc.ID, "--state-file", state)
	if !strings.Contains(out, "1 API key") {
		t.Fatalf("service-account delete: %s", out)
	}
	if st, _ := store.Load(state); len(st.Keys) != 0 || len(st.Accounts) != 0 {
		t.Fatalf("state after deleting the account: %+v", st)
	}
}

func TestAPIKeyCreateRefusesUnknownAccounts(t *testing.T) {
	state := filepath.Join(t.TempDir(), "state.json")
	_, err := execute("api-key", "create", "--service-account", "sa-nobody", "--cluster", "c", "--state-file", state)
	if err == nil || !strings.Contains(err.Error(), "sa-nobody") {
		t.Fatalf("got %v", err)
	}
	if _, err := execute("api-key", "list"); err == nil || !strings.Contains(err.Error(), "state file") {
		t.Fatalf("without a state file: %v", err)
	}
}

func TestAPIKeyHashForTheConfigFile(t *testing.T) {
	secret := strings.Repeat("s3cret", 8)
	out, err := executeWithInput(secret+"\n", "api-key", "hash")
	if err != nil {
		t.Fatal(err)
	}
	h, err := apikey.ParseHash(strings.TrimSpace(out))
	if err != nil || !h.Verify(secret) {
		t.Fatalf("hash %q does not verify the secret: %v", out, err)
	}
	if _, err := executeWithInput("short\n", "api-key", "hash"); err == nil {
		t.Fatal("a short secret was hashed")
	}
}

// The keys the CLI writes are picked up by a running proxy without a
// restart, and deleting one closes its connections.
func TestRunningProxyPicksUpKeysFromTheCLI(t *testing.T) {
	fake, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(1, "t"), kfake.ClusterID("cli-test"))
	if err != nil {
		t.Fatal(err)
	}
	defer fake.Close()
	dir := t.TempDir()
	state := filepath.Join(dir, "state.json")
	cfgFile := filepath.Join(dir, "proxy.yaml")
	// kfake's one broker is node 0, served on broker_port_base itself.
	yaml := "listener:\n  address: 127.0.0.1:" + strconv.Itoa(freePort(t)) + "\n  broker_port_base: " + strconv.Itoa(freePort(t)) + "\n" +
		"upstream:\n  bootstrap: [" + fake.ListenAddrs()[0] + "]\n" +
		"api_keys:\n  state_file: " + state + "\n  state_poll_interval: 100ms\n" +
		"authentication:\n  failure_delay: 0s\n" +
		"authorization:\n  role_bindings:\n    - principal: User:*\n      role: CloudClusterAdmin\n" +
		"metrics:\n  address: \"\"\n"
	if err := os.WriteFile(cfgFile, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(cfgFile)
	if err != nil {
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
		t.Fatal(err)
	}

	var acc struct{ ID string }
	_ = json.Unmarshal([]byte(mustExecute(t, "service-account", "create", "app", "--config", cfgFile, "-o", "json")), &acc)
	var key struct {
		APIKey    string `json:"api_key"`
		APISecret string `json:"api_secret"`
	}
	// No --cluster: the CLI asks the upstream cluster for its id.
	_ = json.Unmarshal([]byte(mustExecute(t, "api-key", "create", "--service-account", acc.ID, "--config", cfgFile, "-o", "json")), &key)

	cctx, ccancel := context.WithTimeout(ctx, 20*time.Second)
	defer ccancel()
	login := kgo.SASL(plain.Auth{User: key.APIKey, Pass: key.APISecret}.AsMechanism())
	for {
		cl, err := kgo.NewClient(kgo.SeedBrokers(srv.BootstrapAddr()), login, kgo.DefaultProduceTopic("t"))
		if err != nil {
			t.Fatal(err)
		}
		actx, acancel := context.WithTimeout(cctx, 2*time.Second)
		err = cl.ProduceSync(actx, kgo.StringRecord("x")).FirstErr()
		acancel()
		cl.Close()
		if err == nil {
			break
		}
		if cctx.Err() != nil {
			t.Fatalf("the new key never worked: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	// An idle connection logged in with the key.
	nc := plainLogin(t, srv.BootstrapAddr(), key.APIKey, key.APISecret)
	defer nc.Close()
	mustExecute(t, "api-key", "delete", key.APIKey, "--config", cfgFile)
	_ = nc.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := nc.Read(make([]byte, 1)); err == nil || errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("the deleted key's connection was not closed within 5s: %v", err)
	}
	fresh, err := kgo.NewClient(kgo.SeedBrokers(srv.BootstrapAddr()), login)
	if err != nil {
		t.Fatal(err)
	}
	defer fresh.Close()
	if err := fresh.Ping(cctx); err == nil || !strings.Contains(err.Error(), "Invalid username or password") {
		t.Fatalf("a new connection with the deleted key: %v", err)
	}
	fresh.Close()
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
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
