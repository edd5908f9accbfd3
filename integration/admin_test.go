//go:build integration

package integration

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/kafka-auth-proxy/kafka-auth-proxy/admin"
	"github.com/kafka-auth-proxy/kafka-auth-proxy/authn"
	"github.com/kafka-auth-proxy/kafka-auth-proxy/integration/clients"
	"github.com/kafka-auth-proxy/kafka-auth-proxy/integration/harness"
	"github.com/kafka-auth-proxy/kafka-auth-proxy/integration/oidc"
)

// The management plane end to end: the proxy binary runs as
// `serve --config` with its admin API in front of real Kafka, and every
// management step is a command of the same binary, as an operator would
// type it. Kafka clients (franz-go and the Java kafka-clients) then log in
// with what the commands created, over SASL/PLAIN with API keys and over
// SASL/OAUTHBEARER with tokens of a real OIDC provider mapped to a pool
// created through the API.
//
// The subtests run in order and build on each other; the first that fails
// stops the rest.
func TestAdminManagementPlaneEndToEnd(t *testing.T) {
	bin := buildProxyBinary(t)
	idp := sharedIDP(t)
	px := startAdminProxy(t, bin, single, idp.Issuer)
	cluster := single.ClusterID
	cli := newAdminCLI(t, bin, px.dir)

	var (
		adminAccount, adminBinding string // the bootstrap OrganizationAdmin
		cloudKey, cloudSecret      string // its cloud key
		appAccount                 string // the orders producer
		appKey, appSecret          string // its cluster key
		producer                   *kgo.Client
		conns                      connCounter // producer's connections
	)
	const topic = "orders-1"

	if !t.Run("admin bootstrap prints a cloud key once and refuses to run again while an OrganizationAdmin exists", func(t *testing.T) {
		cli.reset()
		defer cli.logSession(t)
		out := cli.must(t, "admin", "bootstrap", "--config", px.configFile)
		adminAccount = matchLine(t, out, `(?m)^\s*Service account\s+(sa-\S+)`)
		adminBinding = matchLine(t, out, `(?m)^\s*Role binding\s+(rb-\S+)\s+OrganizationAdmin`)
		cloudKey = matchLine(t, out, `(?m)^\s*API key\s+(\S+)\s*$`)
		cloudSecret = matchLine(t, out, `(?m)^\s*API secret\s+(\S+)\s*$`)
		cli.redact(cloudSecret)

		again := cli.mustFail(t, "admin", "bootstrap", "--config", px.configFile)
		if !strings.Contains(again, "an OrganizationAdmin exists") {
			t.Errorf("the second bootstrap does not say that an OrganizationAdmin exists:\n%s", again)
		}
		if strings.Contains(again, "API secret") {
			t.Errorf("the refused bootstrap printed a secret:\n%s", again)
		}
	}) {
		return
	}

	if !t.Run("login stores the cloud key in a context file only its owner can read", func(t *testing.T) {
		cli.reset()
		defer cli.logSession(t)
		// bootstrap wrote the state file behind the running proxy's back;
		// wait until the proxy has read it (polled every 100ms).
		px.waitAPIAccepts(t, cloudKey, cloudSecret)
		cli.must(t, "login", "--url", px.adminURL, "--api-key", cloudKey, "--api-secret", cloudSecret)
		file := filepath.Join(cli.home, ".config", "kafka-auth-proxy", "config.json")
		fi, err := os.Stat(file)
		if err != nil {
			t.Fatalf("login stored no context at %s: %v", file, err)
		}
		if mode := fi.Mode().Perm(); mode != 0o600 {
			t.Errorf("%s has mode %#o; want 0600", file, mode)
		}
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Contains(data, []byte(px.adminURL)) || !bytes.Contains(data, []byte(cloudKey)) {
			t.Errorf("the context file does not name the URL and the key:\n%s", data)
		}
		// Later commands need no flags.
		list := cli.must(t, "iam", "service-account", "list")
		if !strings.Contains(list, adminAccount) {
			t.Errorf("service-account list with the stored context does not show %s:\n%s", adminAccount, list)
		}
	}) {
		return
	}

	parent := t
	if !t.Run("an OrganizationAdmin's service account, cluster key and DeveloperWrite binding let franz-go and Java produce", func(t *testing.T) {
		cli.reset()
		defer cli.logSession(t)
		createTopicDirect(t, topic)

		// Human output here, as an operator sees it.
		out := cli.must(t, "iam", "service-account", "create", "orders-app", "--description", "orders producer")
		appAccount = tableField(t, out, "ID")
		out = cli.must(t, "api-key", "create", "--service-account", appAccount, "--resource", cluster)
		appKey, appSecret = tableField(t, out, "API Key"), tableField(t, out, "API Secret")
		cli.redact(appSecret)
		if res := tableField(t, out, "Resource"); res != cluster {
			t.Fatalf("api-key create --resource %s made a key for %q", cluster, res)
		}
		cli.must(t, "iam", "rbac", "role-binding", "create", "--principal", "User:"+appAccount, "--role", "DeveloperWrite",
			"--resource", "Topic:orders-", "--prefix", "--kafka-cluster", cluster)
		bindings := cli.must(t, "iam", "rbac", "role-binding", "list", "--principal", "User:"+appAccount)
		if !strings.Contains(bindings, "DeveloperWrite") || !strings.Contains(bindings, "orders-") {
			t.Errorf("role-binding list does not show the DeveloperWrite binding on orders-:\n%s", bindings)
		}
		keys := cli.must(t, "api-key", "list", "--service-account", appAccount)
		if !strings.Contains(keys, appKey) {
			t.Errorf("api-key list does not show %s:\n%s", appKey, keys)
		}

		// Java kafka-clients, idempotent producer, SASL/PLAIN.
		ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
		defer cancel()
		out, err := harness.RunJavaClient(ctx, "io.kafkaauthproxy.it.AuthzProbe",
			[]string{"--bootstrap", px.bootstrap, "--step", "produce:" + topic}, clients.JavaPlainProps(appKey, appSecret))
		if err != nil || !strings.Contains(out, "STEP produce:"+topic+" OK") {
			t.Fatalf("java producer with the cluster key: %v\n%s", err, out)
		}
		t.Logf("java: %s", lastLine(out))

		// franz-go, kept for the next subtest: its connections must stay
		// open, so the client never closes idle ones itself.
		producer, err = kgo.NewClient(kgo.SeedBrokers(px.bootstrap), plainLogin(appKey, appSecret),
			kgo.ConnIdleTimeout(10*time.Minute), kgo.WithHooks(&conns))
		if err != nil {
			t.Fatal(err)
		}
		parent.Cleanup(producer.Close) // after the next subtest
		pctx, pcancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer pcancel()
		if err := producer.ProduceSync(pctx, &kgo.Record{Topic: topic, Value: []byte("allowed")}).FirstErr(); err != nil {
			t.Fatalf("franz-go producer with the cluster key: %v", err)
		}
	}) {
		return
	}

	if !t.Run("deleting the DeveloperWrite binding denies the next produce on the open franz-go connection", func(t *testing.T) {
		cli.reset()
		defer cli.logSessionIfFailed(t)
		connected, disconnected := conns.connects.Load(), conns.disconnects.Load()
		issued := time.Now()
		cli.must(t, "iam", "rbac", "role-binding", "delete", "--principal", "User:"+appAccount, "--role", "DeveloperWrite",
			"--resource", "Topic:orders-", "--prefix", "--kafka-cluster", cluster)
		deleted := time.Now()
		deadline := deleted.Add(30 * time.Second)
		accepted := 0
		var denied time.Duration
		for denied == 0 {
			if time.Now().After(deadline) {
				t.Fatalf("produce still accepted 30s after the binding was deleted (%d records)", accepted)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
			err := producer.ProduceSync(ctx, &kgo.Record{Topic: topic, Value: []byte("after delete")}).FirstErr()
			cancel()
			switch {
			case err == nil:
				accepted++
			case errors.Is(err, kerr.TopicAuthorizationFailed):
				denied = time.Since(deleted)
			default:
				t.Fatalf("produce after the delete: %v; want TOPIC_AUTHORIZATION_FAILED", err)
			}
		}
		t.Logf("time to effect: the first produce after `role-binding delete` returned was denied %v later (%d produce(s) accepted in between; the command itself ran %v)",
			denied.Round(time.Microsecond), accepted, deleted.Sub(issued).Round(time.Millisecond))
		if accepted > 0 {
			t.Errorf("%d produce(s) were accepted after the delete command returned; the removal should apply to the next request", accepted)
		}
		if d := conns.disconnects.Load() - disconnected; d != 0 {
			t.Errorf("%d of the producer's connections closed; the denial must come on the open connection", d)
		}
		if c := conns.connects.Load() - connected; c != 0 {
			t.Errorf("the producer opened %d new connection(s) to get its denial", c)
		}
	}) {
		return
	}

	if !t.Run("a provider and pool created with the CLI let a client-credentials token log in over OAUTHBEARER and consume with a DeveloperRead binding", func(t *testing.T) {
		cli.reset()
		defer cli.logSessionIfFailed(t)
		var op admin.IdentityProvider
		cli.mustJSON(t, &op, "iam", "provider", "create", "it-oidc", "--issuer-uri", idp.Issuer, "--audience", idp.Audience, "-o", "json")
		// jwks_uri was not given: it is discovered from the issuer, and
		// the object shows what was set.
		if op.Issuer != idp.Issuer || (op.JWKSURI != "" && op.JWKSURI != idp.JWKSURI) {
			t.Errorf("provider issuer %q, jwks_uri %q; want %q and empty or %q", op.Issuer, op.JWKSURI, idp.Issuer, idp.JWKSURI)
		}
		t.Logf("provider %s: state %q, jwks_uri %q", op.ID, op.State, op.JWKSURI)
		var pool admin.IdentityPool
		cli.mustJSON(t, &pool, "iam", "pool", "create", "analytics", "--provider", op.ID, "--identity-claim", "claims.sub",
			"--filter", `has(claims.groups) && "analytics" in claims.groups`, "-o", "json")
		principal := "User:" + pool.ID
		if !strings.HasPrefix(pool.ID, "pool-") {
			t.Fatalf("pool id %q", pool.ID)
		}
		const events = "analytics-events"
		createTopicDirect(t, events)
		produceDirect(t, events, 5)
		cli.must(t, "iam", "rbac", "role-binding", "create", "--principal", principal, "--role", "DeveloperRead",
			"--resource", "Topic:"+events, "--kafka-cluster", cluster)

		tok := clientCredentials(t, oidc.AnalyticsClientID, oidc.AnalyticsClientSecret)
		cl, err := kgo.NewClient(kgo.SeedBrokers(px.bootstrap),
			tokenLogin(tok, map[string]string{authn.ExtensionLogicalCluster: cluster, authn.ExtensionIdentityPool: pool.ID}),
			kgo.ConsumeTopics(events), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
		if err != nil {
			t.Fatal(err)
		}
		defer cl.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 45*time.Second)
		defer cancel()
		got := 0
		for got < 5 {
			fs := cl.PollFetches(ctx)
			if ctx.Err() != nil {
				t.Fatalf("consumed %d of 5 records with the pool's token before the deadline", got)
			}
			for _, fe := range fs.Errors() {
				t.Fatalf("consume as %s: %s[%d]: %v", principal, fe.Topic, fe.Partition, fe.Err)
			}
			got += fs.NumRecords()
		}
		t.Logf("%s (token of %s) consumed %d records from %s", principal, oidc.AnalyticsClientID, got, events)
		if !auditHasLogin(t, px.auditFile, pool.ID) {
			t.Errorf("no successful login into %s in the audit log", pool.ID)
		}
	}) {
		return
	}

	if !t.Run("a CloudClusterAdmin cannot create a service account and a DeveloperRead principal cannot list another account's keys", func(t *testing.T) {
		cli.reset()
		defer cli.logSessionIfFailed(t)
		ccAdmin, ccKey, ccSecret := accountWithCloudKey(t, cli, "cluster-admin",
			"--role", "CloudClusterAdmin", "--kafka-cluster", cluster)
		out := cli.mustFail(t, "iam", "service-account", "create", "intruder",
			"--url", px.adminURL, "--api-key", ccKey, "--api-secret", ccSecret)
		if !strings.Contains(out, "OrganizationAdmin") {
			t.Errorf("the refusal for %s does not say that OrganizationAdmin is needed:\n%s", ccAdmin, out)
		}

		reader, rKey, rSecret := accountWithCloudKey(t, cli, "reader",
			"--role", "DeveloperRead", "--resource", "Topic:"+topic, "--kafka-cluster", cluster)
		out = cli.mustFail(t, "api-key", "list", "--service-account", appAccount,
			"--url", px.adminURL, "--api-key", rKey, "--api-secret", rSecret)
		if !strings.Contains(out, "403") {
			t.Errorf("listing %s's keys as %s (DeveloperRead) does not fail with 403:\n%s", appAccount, reader, out)
		}
		if strings.Contains(out, appKey) {
			t.Errorf("the refusal shows %s's key %s:\n%s", appAccount, appKey, out)
		}
		// Its own keys it may list.
		own := cli.must(t, "api-key", "list", "--service-account", reader,
			"--url", px.adminURL, "--api-key", rKey, "--api-secret", rSecret)
		if !strings.Contains(own, rKey) {
			t.Errorf("%s cannot see its own key %s:\n%s", reader, rKey, own)
		}
	}) {
		return
	}

	if !t.Run("the last OrganizationAdmin binding cannot be deleted, remotely nor by the operator offline", func(t *testing.T) {
		cli.reset()
		defer cli.logSession(t)
		list := cli.must(t, "iam", "rbac", "role-binding", "list", "--role", "OrganizationAdmin")
		if !strings.Contains(list, "User:"+adminAccount) {
			t.Errorf("role-binding list --role OrganizationAdmin does not show User:%s:\n%s", adminAccount, list)
		}
		// Through the API, the only OrganizationAdmin is the caller, who
		// may not remove its own binding.
		out := cli.mustFail(t, "iam", "rbac", "role-binding", "delete", adminBinding)
		if !strings.Contains(out, "403") || !strings.Contains(out, "own OrganizationAdmin binding") {
			t.Errorf("deleting one's own OrganizationAdmin binding does not fail with 403 saying why:\n%s", out)
		}
		// The operator of the machine (offline, on the state file, with
		// every right) meets the invariant itself.
		out = cli.mustFail(t, "iam", "rbac", "role-binding", "delete", adminBinding, "--config", px.configFile)
		if !strings.Contains(out, "409") || !strings.Contains(out, "last OrganizationAdmin") {
			t.Errorf("deleting the last OrganizationAdmin binding offline does not fail with 409 saying why:\n%s", out)
		}
		out = cli.mustFail(t, "iam", "service-account", "delete", adminAccount, "--config", px.configFile)
		if !strings.Contains(out, "409") || !strings.Contains(out, "last OrganizationAdmin") {
			t.Errorf("deleting the last OrganizationAdmin's account offline does not fail with 409 saying why:\n%s", out)
		}
		list = cli.must(t, "iam", "rbac", "role-binding", "list", "--role", "OrganizationAdmin")
		if !strings.Contains(list, "User:"+adminAccount) {
			t.Errorf("the OrganizationAdmin binding is gone:\n%s", list)
		}
	}) {
		return
	}

	t.Run("a cloud key cannot log in to Kafka and a cluster key cannot call the admin API", func(t *testing.T) {
		cli.reset()
		defer cli.logSessionIfFailed(t)
		cl, err := kgo.NewClient(kgo.SeedBrokers(px.bootstrap), plainLogin(cloudKey, cloudSecret))
		if err != nil {
			t.Fatal(err)
		}
		defer cl.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		err = cl.Ping(ctx)
		if !errors.Is(err, kerr.SaslAuthenticationFailed) {
			t.Errorf("Kafka login with the cloud key %s: %v; want SASL_AUTHENTICATION_FAILED", cloudKey, err)
		} else {
			t.Logf("Kafka login with the cloud key: %v", err)
		}
		reason := ""
		for _, e := range readAudit(t, px.auditFile) {
			if e.Data.APIKey == cloudKey && e.Data.Result != "success" && e.Data.Mechanism == "PLAIN" {
				reason = e.Data.Reason
			}
		}
		if reason == "" {
			t.Errorf("the audit log holds no refused Kafka login of the cloud key %s", cloudKey)
		}
		t.Logf("audit log: the cloud key's Kafka login was refused with reason %q", reason)

		out := cli.mustFail(t, "iam", "service-account", "list",
			"--url", px.adminURL, "--api-key", appKey, "--api-secret", appSecret)
		if !strings.Contains(out, "401") {
			t.Errorf("the admin API with the cluster key %s does not fail with 401:\n%s", appKey, out)
		}
	})
}

// buildProxyBinary builds ./cmd/kafka-auth-proxy into a temporary
// directory, once per test.
func buildProxyBinary(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "kafka-auth-proxy")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/kafka-auth-proxy")
	cmd.Dir = ".." // the module root; tests run in integration/
	begin := time.Now()
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build ./cmd/kafka-auth-proxy: %v\n%s", err, out)
	}
	t.Logf("built %s in %v", bin, time.Since(begin).Round(time.Millisecond))
	return bin
}

// adminProxy is the proxy binary running `serve --config` with its admin
// API.
type adminProxy struct {
	dir        string // holds the configuration, state file, audit log and log
	configFile string
	stateFile  string
	auditFile  string
	logFile    string
	bootstrap  string // Kafka clients' bootstrap address
	adminURL   string
	exited     chan struct{}
	waitErr    error
}

// startAdminProxy starts bin in front of c (whose PLAINTEXT listener it
// uses, as the other tests do) with auth: sasl, a state file, the admin
// API on a free port and issuer allowed as an identity provider URL. The
// cluster id is learned from upstream. It waits until the admin API's
// /readyz answers 200, and stops the process with the test.
func startAdminProxy(t *testing.T, bin string, c *harness.Cluster, issuer string) *adminProxy {
	t.Helper()
	if len(c.NodeIDs) != 1 {
		t.Fatalf("want a one-broker cluster, got nodes %v", c.NodeIDs)
	}
	ports, err := harness.FreePorts(3) // bootstrap, broker, admin
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	p := &adminProxy{
		dir:        dir,
		configFile: filepath.Join(dir, "proxy.yaml"),
		stateFile:  filepath.Join(dir, "state.json"),
		auditFile:  filepath.Join(dir, "audit.jsonl"),
		logFile:    filepath.Join(dir, "proxy.log"),
		bootstrap:  net.JoinHostPort("127.0.0.1", strconv.Itoa(ports[0])),
		adminURL:   "http://" + net.JoinHostPort("127.0.0.1", strconv.Itoa(ports[2])),
		exited:     make(chan struct{}),
	}
	upstream, _ := json.Marshal(c.Bootstrap)
	cfg := fmt.Sprintf(`listener:
  address: %s
  broker_port_base: %d
upstream:
  bootstrap: %s
auth: sasl
authentication:
  failure_delay: 100ms
  max_failures_per_source: 1000
api_keys:
  state_file: %s
  state_poll_interval: 100ms
audit:
  output: %s
metrics:
  address: ""
admin:
  address: %s
  allowed_provider_urls: [%q]
log:
  level: info
shutdown_timeout: 5s
`, p.bootstrap, ports[1]-int(c.NodeIDs[0]), upstream, p.stateFile, p.auditFile,
		strings.TrimPrefix(p.adminURL, "http://"), issuer)
	if err := os.WriteFile(p.configFile, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	logf, err := os.Create(p.logFile)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "serve", "--config", p.configFile)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		logf.Close()
		t.Fatalf("start %s serve: %v", bin, err)
	}
	go func() {
		p.waitErr = cmd.Wait()
		logf.Close()
		close(p.exited)
	}()
	t.Cleanup(func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
		select {
		case <-p.exited:
		case <-time.After(15 * time.Second):
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-p.exited
			t.Errorf("the proxy did not stop within 15s of SIGTERM")
		}
		if t.Failed() {
			t.Logf("proxy log (%s), last lines:\n%s", p.logFile, tailOf(p.logFile, 8<<10))
		}
	})
	deadline := time.Now().Add(60 * time.Second)
	for {
		if err := httpStatus(p.adminURL+"/readyz", "", http.StatusOK); err == nil {
			break
		} else if time.Now().After(deadline) {
			t.Fatalf("the admin API at %s is not ready after 60s: %v\nproxy log:\n%s", p.adminURL, err, tailOf(p.logFile, 8<<10))
		}
		select {
		case <-p.exited:
			t.Fatalf("the proxy exited before it was ready (%v):\n%s", p.waitErr, tailOf(p.logFile, 8<<10))
		case <-time.After(100 * time.Millisecond):
		}
	}
	t.Logf("proxy ready: Kafka on %s, admin API on %s", p.bootstrap, p.adminURL)
	return p
}

// waitAPIAccepts waits until the admin API accepts the cloud key, which
// another process wrote to the state file.
func (p *adminProxy) waitAPIAccepts(t *testing.T, key, secret string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, p.adminURL+"/iam/v2/service-accounts", nil)
	req.SetBasicAuth(key, secret)
	auth := req.Header.Get("Authorization")
	deadline := time.Now().Add(15 * time.Second)
	for {
		err := httpStatus(p.adminURL+"/iam/v2/service-accounts", auth, http.StatusOK)
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the admin API does not accept the bootstrap key after 15s: %v", err)
		}
		time.Sleep(50 * time.Millisecond) // a poll interval, not a wait for correctness
	}
}

// httpStatus GETs url with the Authorization header auth (if any) and
// wants status want.
func httpStatus(url, auth string, want int) error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if resp.StatusCode != want {
		return fmt.Errorf("GET %s: %s: %s", url, resp.Status, bytes.TrimSpace(body))
	}
	return nil
}

// tailOf is the last n bytes of a file.
func tailOf(path string, n int64) string {
	data, err := os.ReadFile(path)
	if err != nil {
		return err.Error()
	}
	if int64(len(data)) > n {
		data = data[int64(len(data))-n:]
	}
	return string(data)
}

// adminCLI runs the proxy binary's commands with a home of its own (so
// that `login` stores its context there) and none of the caller's
// KAFKA_AUTH_PROXY_* variables, and keeps a transcript of the session.
type adminCLI struct {
	bin     string
	home    string
	env     []string
	workDir string // shown as $WORK in the transcript

	mu         sync.Mutex
	secrets    []string
	transcript strings.Builder
}

func newAdminCLI(t *testing.T, bin, workDir string) *adminCLI {
	home := t.TempDir()
	env := []string{"HOME=" + home, "XDG_CONFIG_HOME=" + filepath.Join(home, ".config")}
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		if name == "HOME" || name == "XDG_CONFIG_HOME" || strings.HasPrefix(name, "KAFKA_AUTH_PROXY_") {
			continue
		}
		env = append(env, kv)
	}
	return &adminCLI{bin: bin, home: home, env: env, workDir: workDir}
}

// redact hides secret in the transcript.
func (c *adminCLI) redact(secret string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if secret != "" {
		c.secrets = append(c.secrets, secret)
	}
}

// run runs one command and returns its standard output and standard
// error.
func (c *adminCLI) run(args ...string) (stdout, stderr string, err error) {
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, c.bin, args...)
	cmd.Env = c.env
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err = cmd.Run()
	c.record(args, o.String(), e.String(), err)
	return o.String(), e.String(), err
}

func (c *adminCLI) record(args []string, stdout, stderr string, err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	quoted := make([]string, len(args))
	for i, a := range args {
		quoted[i] = shellQuote(a)
	}
	fmt.Fprintf(&c.transcript, "$ kafka-auth-proxy %s\n", strings.Join(quoted, " "))
	for _, s := range []string{stdout, stderr} {
		if s = strings.TrimRight(s, "\n"); s != "" {
			c.transcript.WriteString(s + "\n")
		}
	}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		fmt.Fprintf(&c.transcript, "(exit status %d)\n", ee.ExitCode())
	} else if err != nil {
		fmt.Fprintf(&c.transcript, "(%v)\n", err)
	}
}

// reset starts a new transcript.
func (c *adminCLI) reset() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.transcript.Reset()
}

// logSessionIfFailed is logSession when t has failed.
func (c *adminCLI) logSessionIfFailed(t *testing.T) {
	if t.Failed() {
		c.logSession(t)
	}
}

// logSession logs the transcript since the last call, with secrets
// redacted and the work directory shortened, and starts a new one.
func (c *adminCLI) logSession(t *testing.T) {
	c.mu.Lock()
	s := c.transcript.String()
	c.transcript.Reset()
	for _, secret := range c.secrets {
		s = strings.ReplaceAll(s, secret, "<secret>")
	}
	c.mu.Unlock()
	s = strings.ReplaceAll(s, c.workDir, "$WORK")
	t.Logf("CLI session:\n%s", s)
}

// must runs a command that must succeed and returns its output.
func (c *adminCLI) must(t *testing.T, args ...string) string {
	t.Helper()
	out, errOut, err := c.run(args...)
	if err != nil {
		t.Fatalf("kafka-auth-proxy %s: %v\n%s%s", strings.Join(args, " "), err, out, errOut)
	}
	return out
}

// mustJSON runs a command that must succeed and decodes its output.
func (c *adminCLI) mustJSON(t *testing.T, v any, args ...string) {
	t.Helper()
	out := c.must(t, args...)
	if err := json.Unmarshal([]byte(out), v); err != nil {
		t.Fatalf("kafka-auth-proxy %s: output is not the JSON expected: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// mustFail runs a command that must exit non-zero and returns its
// combined output.
func (c *adminCLI) mustFail(t *testing.T, args ...string) string {
	t.Helper()
	out, errOut, err := c.run(args...)
	var ee *exec.ExitError
	if !errors.As(err, &ee) {
		t.Fatalf("kafka-auth-proxy %s: %v; want a non-zero exit\n%s%s", strings.Join(args, " "), err, out, errOut)
	}
	return out + errOut
}

// shellQuote quotes a word for a POSIX shell, when it needs it.
func shellQuote(s string) string {
	if s != "" && regexp.MustCompile(`^[A-Za-z0-9_@%+=:,./-]+$`).MatchString(s) {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// tableField is the value of the row called name in the human output of
// a command that describes one object (rows "Name | value").
func tableField(t *testing.T, out, name string) string {
	t.Helper()
	for _, line := range strings.Split(out, "\n") {
		cells := strings.Split(line, "|")
		if len(cells) == 2 && strings.TrimSpace(cells[0]) == name {
			return strings.TrimSpace(cells[1])
		}
	}
	t.Fatalf("no %q row in:\n%s", name, out)
	return ""
}

// matchLine returns the first group of re in out.
func matchLine(t *testing.T, out, re string) string {
	t.Helper()
	m := regexp.MustCompile(re).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no match for %s in:\n%s", re, out)
	}
	return m[1]
}

// accountWithCloudKey creates a service account with one role binding
// (bindingFlags after --principal) and a cloud key, with the logged-in
// OrganizationAdmin's context.
func accountWithCloudKey(t *testing.T, cli *adminCLI, name string, bindingFlags ...string) (account, key, secret string) {
	t.Helper()
	var sa admin.ServiceAccount
	cli.mustJSON(t, &sa, "iam", "service-account", "create", name, "-o", "json")
	cli.must(t, append([]string{"iam", "rbac", "role-binding", "create", "--principal", "User:" + sa.ID}, bindingFlags...)...)
	var k admin.APIKey
	cli.mustJSON(t, &k, "api-key", "create", "--service-account", sa.ID, "--resource", "cloud", "-o", "json")
	if k.Spec.Resource.Kind != "Cloud" || k.Spec.Secret == "" {
		t.Fatalf("api-key create --resource cloud: resource %+v, secret given %v", k.Spec.Resource, k.Spec.Secret != "")
	}
	cli.redact(k.Spec.Secret)
	return sa.ID, k.ID, k.Spec.Secret
}

// createTopicDirect creates a topic on the shared single-broker cluster,
// bypassing the proxy.
func createTopicDirect(t *testing.T, topic string) {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(single.Bootstrap...))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	resp, err := kadm.NewClient(cl).CreateTopic(ctx, 3, 1, nil, topic)
	if err == nil {
		err = resp.Err
	}
	if err != nil && !errors.Is(err, kerr.TopicAlreadyExists) {
		t.Fatalf("create topic %s: %v", topic, err)
	}
}

// produceDirect writes n records to topic, bypassing the proxy.
func produceDirect(t *testing.T, topic string, n int) {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(single.Bootstrap...), kgo.AllowAutoTopicCreation())
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var recs []*kgo.Record
	for i := range n {
		recs = append(recs, &kgo.Record{Topic: topic, Value: []byte(fmt.Sprintf("event-%d", i))})
	}
	if err := cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		t.Fatalf("produce to %s directly: %v", topic, err)
	}
}

// auditHasLogin reports whether the audit log holds a successful login
// into pool.
func auditHasLogin(t *testing.T, file, pool string) bool {
	t.Helper()
	for _, e := range readAudit(t, file) {
		if e.Data.Result == "success" && e.Data.IdentityPool == pool && e.Data.Principal == "User:"+pool {
			return true
		}
	}
	return false
}

// connCounter counts a franz-go client's connections.
type connCounter struct {
	connects, disconnects atomic.Int64
}

func (c *connCounter) OnBrokerConnect(_ kgo.BrokerMetadata, _ time.Duration, _ net.Conn, err error) {
	if err == nil {
		c.connects.Add(1)
	}
}

func (c *connCounter) OnBrokerDisconnect(kgo.BrokerMetadata, net.Conn) { c.disconnects.Add(1) }
