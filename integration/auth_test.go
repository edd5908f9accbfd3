//go:build integration

package integration

import (
	"bufio"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/binary"
	"encoding/json"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
	"github.com/twmb/franz-go/pkg/sasl/oauth"
	"github.com/twmb/franz-go/pkg/sasl/plain"
	"go.uber.org/zap/zaptest"

	"github.com/kafka-auth-proxy/kafka-auth-proxy/audit"
	"github.com/kafka-auth-proxy/kafka-auth-proxy/authn"
	"github.com/kafka-auth-proxy/kafka-auth-proxy/authn/apikey"
	"github.com/kafka-auth-proxy/kafka-auth-proxy/cmd/kafka-auth-proxy/assemble"
	"github.com/kafka-auth-proxy/kafka-auth-proxy/config"
	"github.com/kafka-auth-proxy/kafka-auth-proxy/integration/oidc"
	"github.com/kafka-auth-proxy/kafka-auth-proxy/proxy"
	"github.com/kafka-auth-proxy/kafka-auth-proxy/store"
)

// The identity provider shared by the authentication tests: starting it
// takes a few seconds.
var (
	idpOnce sync.Once
	idp     *oidc.Provider
	idpErr  error
)

func sharedIDP(t testing.TB) *oidc.Provider {
	t.Helper()
	idpOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		defer cancel()
		idp, idpErr = oidc.Start(ctx, oidc.Options{})
	})
	if idpErr != nil {
		t.Fatalf("oidc provider: %v", idpErr)
	}
	return idp
}

// authProxy is a proxy with client authentication, its state file, audit
// log and metrics.
type authProxy struct {
	srv       *proxy.Server
	sec       *assemble.Security
	reg       *prometheus.Registry
	stateFile string
	auditFile string
	cluster   string
}

// startAuthProxy runs a proxy with auth: sasl in front of upstream. API
// keys live in a state file polled every 100ms; OAUTHBEARER accepts tokens
// of the shared identity provider in three pools:
//
//	pool-payments   groups contains "payments"
//	pool-analytics  groups contains "analytics"
//	(nogroups-app's tokens match no pool)
func startAuthProxy(t testing.TB, upstream []string, edit func(*config.Config)) *authProxy {
	t.Helper()
	p := sharedIDP(t)
	dir := t.TempDir()
	ap := &authProxy{reg: prometheus.NewRegistry(), stateFile: filepath.Join(dir, "state.json"), auditFile: filepath.Join(dir, "audit.jsonl")}
	var clusterIDSet bool
	ap.srv = launchProxyWith(t, upstream, func(cfg *config.Config) {
		cfg.Auth = config.AuthSASL
		cfg.Authentication.FailureDelay = config.Duration(100 * time.Millisecond)
		cfg.APIKeys.StateFile = ap.stateFile
		cfg.APIKeys.StatePollInterval = config.Duration(100 * time.Millisecond)
		cfg.Audit.Output = ap.auditFile
		cfg.OIDC.Providers = []config.OIDCProvider{{
			Name: "test-idp", Issuer: p.Issuer, Audiences: []string{p.Audience},
			JWKSMinRefreshInterval: config.Duration(time.Second),
		}}
		cfg.OIDC.IdentityPools = []config.IdentityPool{
			{ID: "pool-payments", Provider: "test-idp", Filter: `has(claims.groups) && "payments" in claims.groups`},
			{ID: "pool-analytics", Provider: "test-idp", Filter: `has(claims.groups) && "analytics" in claims.groups`, IdentityClaim: "claims.client_id"},
		}
		// Authentication tests need every logged-in client to have full
		// access; authorization tests replace this policy.
		cfg.Authorization = config.Authorization{RoleBindings: []config.RoleBinding{{Principal: "User:*", Role: "CloudClusterAdmin"}}}
		if edit != nil {
			edit(cfg)
		}
	}, ap.reg, func(srv *proxy.Server, cfg *config.Config) {
		sink, err := audit.Open(cfg.Audit.Output)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { sink.Close() })
		ctx, cancel := context.WithCancel(context.Background())
		sec, err := assemble.Secure(ctx, cfg, srv, ap.reg, sink, zaptest.NewLogger(t))
		if err != nil {
			cancel()
			t.Fatal(err)
		}
		// Registered before launchProxyWith's shutdown, so run after it.
		t.Cleanup(func() { cancel(); sec.Wait() })
		ap.sec = sec
		clusterIDSet = cfg.Authentication.ClusterID != ""
	})
	if !ap.srv.Ready() {
		t.Fatal("proxy did not reach the upstream cluster")
	}
	if !clusterIDSet {
		// As serve does once the proxy has started: the role bindings of
		// the configuration scoped to the proxy's cluster apply once the
		// upstream's id is known.
		if err := ap.sec.Started(); err != nil {
			t.Fatal(err)
		}
	}
	ap.cluster = ap.srv.ClusterID()
	return ap
}

// createAccount adds a service account to the state file, as
// `service-account create` does offline, and waits until the proxy has
// loaded it.
func (ap *authProxy) createAccount(t testing.TB) string {
	t.Helper()
	id, err := store.NewAccountID("sa")
	if err != nil {
		t.Fatal(err)
	}
	ap.addAccount(t, id)
	return id
}

// addAccount adds the service account id to the state file; its display
// name, which must be unique, is its id.
func (ap *authProxy) addAccount(t testing.TB, id string) {
	t.Helper()
	ap.update(t, store.Create(&store.ServiceAccount{Metadata: store.Meta{ID: id}, DisplayName: id}))
}

// createKey adds an API key of account for the proxy's cluster, as
// `api-key create` does offline, and waits until the proxy has loaded it.
func (ap *authProxy) createKey(t testing.TB, account string) (id, secret string) {
	t.Helper()
	id, err := apikey.NewKeyID()
	if err != nil {
		t.Fatal(err)
	}
	secret, err = apikey.NewSecret()
	if err != nil {
		t.Fatal(err)
	}
	hash, err := apikey.HashSecret(secret)
	if err != nil {
		t.Fatal(err)
	}
	ap.update(t, store.Create(&store.APIKey{Metadata: store.Meta{ID: id}, SecretHash: hash, Owner: account, Resource: ap.cluster}))
	return id, secret
}

func (ap *authProxy) deleteKey(t testing.TB, id string) {
	t.Helper()
	ap.update(t, store.Delete(store.KindAPIKey, id, 0))
}

// update applies cmds to the state file from another store, as the CLI
// does offline (another process writing the file), and waits until the
// proxy has applied the change: its store holds every object the commands
// touched as the writer left it, the authenticator has reloaded, and the
// store's subscribers (the authenticator and the authorizer) are done
// with the snapshot.
func (ap *authProxy) update(t testing.TB, cmds ...store.Command) {
	t.Helper()
	before := counter(t, ap.reg, "kafka_auth_proxy_credentials_reloads_total", "outcome", "ok")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	f, err := store.OpenFile(ap.stateFile)
	if err != nil {
		t.Fatal(err)
	}
	written, err := f.Apply(ctx, cmds...)
	if err != nil {
		t.Fatal(err)
	}
	applied := func(snap *store.Snapshot) bool {
		for _, c := range cmds {
			want, wok := written.Get(c.Kind, c.ID)
			got, gok := snap.Get(c.Kind, c.ID)
			if wok != gok || wok && (got.Meta().Version != want.Meta().Version || !got.Meta().UpdatedAt.Equal(want.Meta().UpdatedAt)) {
				return false
			}
		}
		return true
	}
	deadline := time.Now().Add(5 * time.Second)
	for !applied(ap.sec.Store.Snapshot()) || counter(t, ap.reg, "kafka_auth_proxy_credentials_reloads_total", "outcome", "ok") == before {
		if time.Now().After(deadline) {
			t.Fatal("the proxy did not apply the state file's change within 5s")
		}
		time.Sleep(20 * time.Millisecond)
	}
	// The store installs a snapshot, then hands it to its subscribers
	// under its write lock; subscribing waits for that lock.
	ap.sec.Store.Subscribe(func(*store.Snapshot) {})()
}

// forwarded is what the proxy has sent upstream for clients.
func (ap *authProxy) forwarded(t testing.TB) (conns, bytes float64) {
	return counter(t, ap.reg, "kafka_auth_proxy_upstream_connections_total"),
		counter(t, ap.reg, "kafka_auth_proxy_upstream_forwarded_bytes_total")
}

func plainLogin(id, secret string) kgo.Opt {
	return kgo.SASL(plain.Auth{User: id, Pass: secret}.AsMechanism())
}

func tokenLogin(token string, ext map[string]string) kgo.Opt {
	return kgo.SASL(oauth.Oauth(func(context.Context) (oauth.Auth, error) {
		return oauth.Auth{Token: token, Extensions: ext}, nil
	}))
}

// clientCredentials fetches a token for one of the provider's clients.
func clientCredentials(t testing.TB, clientID, secret string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	tok, err := sharedIDP(t).Token(ctx, clientID, secret)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// roundTrip produces and consumes a few records with opts, in a new group.
func roundTrip(t testing.TB, srv *proxy.Server, topic string, opts ...kgo.Opt) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	prod := newClient(t, srv, append(opts, kgo.DefaultProduceTopic(topic))...)
	for i := range 5 {
		if err := prod.ProduceSync(ctx, kgo.StringRecord("r"+string(rune('0'+i)))).FirstErr(); err != nil {
			t.Fatalf("produce: %v", err)
		}
	}
	cons := newClient(t, srv, append(opts, kgo.ConsumeTopics(topic), kgo.ConsumerGroup(topicName(t)),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))...)
	for n := 0; n < 5; {
		fs := cons.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("consumed %d of 5 records", n)
		}
		if err := fs.Err0(); err != nil {
			t.Fatalf("consume: %v", err)
		}
		n += fs.NumRecords()
	}
	if err := cons.CommitUncommittedOffsets(ctx); err != nil {
		t.Fatalf("commit: %v", err)
	}
}

func TestFranzGoLogsInWithAnAPIKeyOverPlain(t *testing.T) {
	ap := startAuthProxy(t, triple.Bootstrap, nil)
	id, secret := ap.createKey(t, ap.createAccount(t))
	topic := createTopic(t, ap.srv, 3, 3, plainLogin(id, secret))
	roundTrip(t, ap.srv, topic, plainLogin(id, secret))
	if n := counter(t, ap.reg, "kafka_auth_proxy_authentications_total", "mechanism", "PLAIN", "outcome", "success", "reason", ""); n < 2 {
		t.Errorf("%v successful PLAIN logins counted", n)
	}
}

func TestFranzGoLogsInWithAClientCredentialsTokenOverOAuthBearer(t *testing.T) {
	ap := startAuthProxy(t, triple.Bootstrap, nil)
	tok := clientCredentials(t, oidc.PaymentsClientID, oidc.PaymentsClientSecret)
	login := tokenLogin(tok, map[string]string{authn.ExtensionLogicalCluster: ap.cluster, authn.ExtensionIdentityPool: "pool-payments"})
	topic := createTopic(t, ap.srv, 3, 3, login)
	roundTrip(t, ap.srv, topic, login)
	// Without extensions the first matching pool applies.
	roundTrip(t, ap.srv, topic, tokenLogin(clientCredentials(t, oidc.AnalyticsClientID, oidc.AnalyticsClientSecret), nil))

	events := readAudit(t, ap.auditFile)
	var pools []string
	for _, e := range events {
		if e.Data.Result == "success" && e.Data.Mechanism == "OAUTHBEARER" {
			pools = append(pools, e.Data.IdentityPool+"/"+e.Data.Identity)
		}
	}
	if !contains(pools, "pool-payments/"+oidc.PaymentsClientID) || !contains(pools, "pool-analytics/"+oidc.AnalyticsClientID) {
		t.Errorf("audit log names pools and identities %v", pools)
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// auditEvent is the part of an audit line the tests read.
type auditEvent struct {
	SpecVersion string `json:"specversion"`
	Type        string `json:"type"`
	Data        struct {
		Principal        string `json:"principal"`
		Mechanism        string `json:"mechanism"`
		APIKey           string `json:"api_key"`
		IdentityPool     string `json:"identity_pool"`
		Identity         string `json:"identity"`
		Source           string `json:"source_address"`
		Result           string `json:"result"`
		Reason           string `json:"reason"`
		Reauthentication bool   `json:"reauthentication"`
	} `json:"data"`
}

// readAudit returns the authentication events of the audit log at path.
func readAudit(t testing.TB, path string) []auditEvent {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []auditEvent
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var e auditEvent
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			t.Fatalf("audit line %q: %v", sc.Text(), err)
		}
		if e.SpecVersion != "1.0" {
			t.Fatalf("audit line is not a CloudEvent: %s", sc.Text())
		}
		if e.Type != "io.kafka-auth-proxy/authentication" {
			continue // authorization events have their own tests
		}
		out = append(out, e)
	}
	return out
}

// foreignToken is a well-formed token for the shared provider's issuer and
// audience, signed by a key the provider never published.
func foreignToken(t testing.TB) string {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: jose.JSONWebKey{Key: key, KeyID: "attacker"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	p := sharedIDP(t)
	tok, err := jwt.Signed(signer).Claims(map[string]any{
		"iss": p.Issuer, "aud": p.Audience, "sub": oidc.PaymentsClientID, "groups": []string{"payments"},
		"iat": time.Now().Unix(), "exp": time.Now().Add(time.Hour).Unix(),
	}).Serialize()
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func TestRefusedLoginsGetAClearErrorAndForwardNothing(t *testing.T) {
	// A provider whose tokens live two seconds, for the expired token.
	short := oidc.StartT(t, oidc.Options{TokenTTL: time.Second})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	expired, err := short.Token(ctx, oidc.PaymentsClientID, oidc.PaymentsClientSecret)
	if err != nil {
		t.Fatal(err)
	}
	ap := startAuthProxy(t, single.Bootstrap, func(cfg *config.Config) {
		cfg.OIDC.Providers = append(cfg.OIDC.Providers, config.OIDCProvider{
			Name: "short", Issuer: short.Issuer, Audiences: []string{short.Audience}, ClockSkew: config.Duration(time.Millisecond),
		})
		cfg.OIDC.IdentityPools = append(cfg.OIDC.IdentityPools, config.IdentityPool{ID: "pool-short", Provider: "short", Filter: "true"})
		// The second provider checks another audience than its tokens carry.
		cfg.OIDC.Providers[0].Audiences = []string{"kafka", "other"}
	})
	account := ap.createAccount(t)
	id, secret := ap.createKey(t, account)
	deleted, deletedSecret := ap.createKey(t, account)
	ap.deleteKey(t, deleted)

	wrongAudience := startAuthProxy(t, single.Bootstrap, func(cfg *config.Config) {
		cfg.OIDC.Providers[0].Audiences = []string{"payments-only"}
	})
	time.Sleep(2100 * time.Millisecond) // let the short-lived token expire

	for _, tc := range []struct {
		name  string
		ap    *authProxy
		login kgo.Opt
		want  string // in the client's error
	}{
		{"wrong secret", ap, plainLogin(id, strings.Repeat("x", 64)), "Invalid username or password"},
		{"deleted key", ap, plainLogin(deleted, deletedSecret), "Invalid username or password"},
		{"unknown key id", ap, plainLogin("ABCDEFGHJKLMNPQR", secret), "Invalid username or password"},
		{"expired token", ap, tokenLogin(expired, nil), "invalid_token"},
		{"token with the wrong audience", wrongAudience, tokenLogin(clientCredentials(t, oidc.PaymentsClientID, oidc.PaymentsClientSecret), nil), "invalid_token"},
		{"token signed by an unknown key", ap, tokenLogin(foreignToken(t), nil), "invalid_token"},
		{"token matching no pool", ap, tokenLogin(clientCredentials(t, oidc.NoGroupsClientID, oidc.NoGroupsClientSecret), nil), "invalid_token"},
		{"wrong logical cluster", ap, tokenLogin(clientCredentials(t, oidc.PaymentsClientID, oidc.PaymentsClientSecret), map[string]string{authn.ExtensionLogicalCluster: "lkc-other"}), "invalid_token"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			conns, bytes := tc.ap.forwarded(t)
			cl := newClient(t, tc.ap.srv, tc.login, kgo.RequestRetries(0), kgo.RetryTimeout(time.Second))
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			err := cl.Ping(ctx)
			if err == nil {
				t.Fatal("login accepted")
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("client error %q does not mention %q", err, tc.want)
			}
			cl.Close()
			if c, b := tc.ap.forwarded(t); c != conns || b != bytes {
				t.Errorf("the refused client caused %v upstream connections and %v forwarded bytes", c-conns, b-bytes)
			}
		})
	}
	events := readAudit(t, ap.auditFile)
	reasons := map[string]bool{}
	for _, e := range events {
		if e.Data.Result == "failure" {
			reasons[e.Data.Reason] = true
		}
	}
	for _, r := range []string{authn.ReasonBadSecret, authn.ReasonUnknownKey, "token_expired", "token_unknown_key", authn.ReasonNoPool, authn.ReasonWrongCluster} {
		if !reasons[r] {
			t.Errorf("no audit event with failure reason %s (got %v)", r, reasons)
		}
	}
}

// rawRequest writes one request frame with kmsg and returns the response
// body, or an error when the proxy closes the connection instead.
func rawRequest(nc net.Conn, corr int32, req kmsg.Request) ([]byte, error) {
	frame := kmsg.NewRequestFormatter(kmsg.FormatterClientID("raw")).AppendRequest(nil, req, corr)
	if _, err := nc.Write(frame); err != nil {
		return nil, err
	}
	_ = nc.SetReadDeadline(time.Now().Add(5 * time.Second))
	var size [4]byte
	if _, err := readFull(nc, size[:]); err != nil {
		return nil, err
	}
	body := make([]byte, binary.BigEndian.Uint32(size[:]))
	if _, err := readFull(nc, body); err != nil {
		return nil, err
	}
	return body, nil
}

func readFull(nc net.Conn, b []byte) (int, error) {
	n := 0
	for n < len(b) {
		m, err := nc.Read(b[n:])
		n += m
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

func TestRequestsBeforeAuthenticationCloseTheConnectionAndForwardNothing(t *testing.T) {
	ap := startAuthProxy(t, single.Bootstrap, nil)
	conns, bytes := ap.forwarded(t)
	for _, tc := range []struct {
		name string
		req  kmsg.Request
	}{
		{"metadata", func() kmsg.Request { r := kmsg.NewPtrMetadataRequest(); r.Version = 12; return r }()},
		{"produce", func() kmsg.Request { r := kmsg.NewPtrProduceRequest(); r.Version = 9; r.Acks = 0; return r }()},
		{"create topics", func() kmsg.Request { r := kmsg.NewPtrCreateTopicsRequest(); r.Version = 7; return r }()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			nc, err := net.Dial("tcp", ap.srv.BootstrapAddr())
			if err != nil {
				t.Fatal(err)
			}
			defer nc.Close()
			// ApiVersions is answered before authentication.
			av := kmsg.NewPtrApiVersionsRequest()
			av.Version = 3
			av.ClientSoftwareName, av.ClientSoftwareVersion = "raw", "1"
			if _, err := rawRequest(nc, 1, av); err != nil {
				t.Fatalf("ApiVersions before authentication: %v", err)
			}
			if body, err := rawRequest(nc, 2, tc.req); err == nil {
				t.Fatalf("%s before authentication was answered: % x", tc.name, body[:min(len(body), 32)])
			}
		})
	}
	if c, b := ap.forwarded(t); c != conns || b != bytes {
		t.Errorf("unauthenticated requests caused %v upstream connections and %v forwarded bytes", c-conns, b-bytes)
	}
	if n := counter(t, ap.reg, "kafka_auth_proxy_requests_rejected_total", "reason", "unauthenticated"); n != 3 {
		t.Errorf("%v requests rejected as unauthenticated, want 3", n)
	}
}

func TestRotatingKeysDeletionClosesConnectionsOfThatKeyOnly(t *testing.T) {
	ap := startAuthProxy(t, triple.Bootstrap, nil)
	account := ap.createAccount(t)
	oldID, oldSecret := ap.createKey(t, account)
	newID, newSecret := ap.createKey(t, account)
	topic := createTopic(t, ap.srv, 1, 3, plainLogin(newID, newSecret))
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	// Both keys of the account work, side by side.
	for _, k := range [][2]string{{oldID, oldSecret}, {newID, newSecret}} {
		cl := newClient(t, ap.srv, plainLogin(k[0], k[1]), kgo.DefaultProduceTopic(topic))
		if err := cl.ProduceSync(ctx, kgo.StringRecord("both keys work")).FirstErr(); err != nil {
			t.Fatalf("produce with key %s: %v", k[0], err)
		}
	}
	newCl := newClient(t, ap.srv, plainLogin(newID, newSecret), kgo.DefaultProduceTopic(topic))
	if err := newCl.ProduceSync(ctx, kgo.StringRecord("before")).FirstErr(); err != nil {
		t.Fatal(err)
	}
	// Open, idle connections of each key.
	oldConn := rawPlainLogin(t, ap.srv.BootstrapAddr(), oldID, oldSecret)
	newConn := rawPlainLogin(t, ap.srv.BootstrapAddr(), newID, newSecret)

	deletedAt := time.Now()
	ap.deleteKey(t, oldID)
	_ = oldConn.SetReadDeadline(deletedAt.Add(5 * time.Second))
	if _, err := oldConn.Read(make([]byte, 1)); err == nil || errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("the deleted key's connection was not closed within 5s: %v", err)
	}
	t.Logf("deleted key's connection closed %v after the state file changed", time.Since(deletedAt).Round(time.Millisecond))

	// The other key's connections stay open and keep working.
	_ = newConn.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
	if _, err := newConn.Read(make([]byte, 1)); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("the remaining key's idle connection was closed: %v", err)
	}
	if err := newCl.ProduceSync(ctx, kgo.StringRecord("after")).FirstErr(); err != nil {
		t.Fatalf("the remaining key stopped working: %v", err)
	}
	// New connections with the deleted key are refused.
	fresh := newClient(t, ap.srv, plainLogin(oldID, oldSecret), kgo.RequestRetries(0))
	if err := fresh.Ping(ctx); err == nil || !strings.Contains(err.Error(), "Invalid username or password") {
		t.Fatalf("a new connection with the deleted key: %v", err)
	}
}

// rawPlainLogin opens a connection and logs in with SASL/PLAIN by hand,
// then leaves it idle.
func rawPlainLogin(t testing.TB, addr, user, pass string) net.Conn {
	t.Helper()
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	hs := kmsg.NewPtrSASLHandshakeRequest()
	hs.Version, hs.Mechanism = 1, "PLAIN"
	auth := kmsg.NewPtrSASLAuthenticateRequest()
	auth.Version, auth.SASLAuthBytes = 1, []byte("\x00"+user+"\x00"+pass)
	for i, req := range []kmsg.Request{hs, auth} {
		body, err := rawRequest(nc, int32(i), req)
		if err != nil {
			t.Fatalf("login: %v", err)
		}
		if code := binary.BigEndian.Uint16(body[4:6]); code != 0 {
			t.Fatalf("login: error code %d", code)
		}
	}
	_ = nc.SetReadDeadline(time.Time{})
	return nc
}

// An attacker guessing the secret of one key from one address is throttled;
// clients from other addresses with other keys are served meanwhile.
func TestFailedLoginFloodLeavesOtherClientsServed(t *testing.T) {
	ap := startAuthProxy(t, single.Bootstrap, func(cfg *config.Config) {
		cfg.Authentication.FailureDelay = config.Duration(500 * time.Millisecond)
	})
	id, secret := ap.createKey(t, ap.createAccount(t))
	victim, _ := ap.createKey(t, ap.createAccount(t))
	topic := createTopic(t, ap.srv, 1, 1, plainLogin(id, secret))
	// The attack comes from another loopback address.
	attacker := kgo.Dialer((&net.Dialer{LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, 2)}}).DialContext)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var wg sync.WaitGroup
	for range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				cl, err := kgo.NewClient(kgo.SeedBrokers(ap.srv.BootstrapAddr()), attacker,
					plainLogin(victim, "guess-"+strings.Repeat("x", 60)), kgo.RequestRetries(0))
				if err != nil {
					return
				}
				pctx, pcancel := context.WithTimeout(ctx, 2*time.Second)
				_ = cl.Ping(pctx)
				pcancel()
				cl.Close()
			}
		}()
	}
	time.Sleep(time.Second) // the attack is under way
	good := newClient(t, ap.srv, plainLogin(id, secret), kgo.DefaultProduceTopic(topic))
	pctx, pcancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer pcancel()
	if err := good.ProduceSync(pctx, kgo.StringRecord("still served")).FirstErr(); err != nil {
		t.Fatalf("a client with the right key from another connection: %v", err)
	}
	cancel()
	wg.Wait()
	if n := counter(t, ap.reg, "kafka_auth_proxy_authentications_total", "mechanism", "PLAIN", "outcome", "failure", "reason", authn.ReasonThrottled); n == 0 {
		t.Error("no attempt was throttled")
	}
}
