package authn

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/kafka-auth-proxy/kafka-auth-proxy/authn/apikey"
	"github.com/kafka-auth-proxy/kafka-auth-proxy/config"
)

const testCluster = "cluster-test"

// testKey is an API key of the test configuration.
type testKey struct{ id, secret, account, cluster string }

func newTestKey(t testing.TB, account, cluster string) testKey {
	t.Helper()
	id, err := apikey.NewKeyID()
	if err != nil {
		t.Fatal(err)
	}
	secret, err := apikey.NewSecret()
	if err != nil {
		t.Fatal(err)
	}
	return testKey{id, secret, account, cluster}
}

func (k testKey) config(t testing.TB) config.APIKey {
	t.Helper()
	h, err := apikey.HashSecret(k.secret)
	if err != nil {
		t.Fatal(err)
	}
	return config.APIKey{ID: k.id, SecretHash: h, Account: k.account, Cluster: k.cluster}
}

func (k testKey) plain() []byte { return []byte("\x00" + k.id + "\x00" + k.secret) }

// testConfig is a valid sasl configuration with the given keys on accounts
// sa-one and sa-two.
func testConfig(t testing.TB, keys ...testKey) *config.Config {
	t.Helper()
	cfg := config.Default()
	cfg.Upstream.Bootstrap = []string{"127.0.0.1:9"}
	cfg.Authentication.FailureDelay = 0
	cfg.APIKeys.Accounts = []config.Account{{ID: "sa-one"}, {ID: "sa-two"}}
	for _, k := range keys {
		cfg.APIKeys.Keys = append(cfg.APIKeys.Keys, k.config(t))
	}
	return cfg
}

func newTestAuthenticator(t testing.TB, cfg *config.Config) *Authenticator {
	t.Helper()
	if problems := cfg.Validate(); len(problems) > 0 {
		t.Fatalf("test configuration: %v", problems)
	}
	if err := cfg.Normalize(); err != nil {
		t.Fatal(err)
	}
	a, err := New(Options{Config: cfg, ClusterID: func() string { return testCluster }})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(func() { cancel(); a.Wait() })
	a.Start(ctx)
	return a
}

// login runs a handshake and one authenticate step.
func login(s *Session, mech string, version int16, msg []byte) Step {
	if _, ok := s.Handshake(mech); !ok {
		return Step{Failed: true, Message: "handshake refused"}
	}
	return s.Authenticate(context.Background(), version, msg)
}

func TestPlainLogin(t *testing.T) {
	good := newTestKey(t, "sa-one", testCluster)
	other := newTestKey(t, "sa-two", "another-cluster")
	orphan := newTestKey(t, "sa-gone", testCluster)
	cfg := testConfig(t, good, other)
	a := newTestAuthenticator(t, cfg)
	// A key whose account is missing can only come from the state file.
	d := *a.dir.Load()
	d.keys = map[string]*keyEntry{}
	for k, v := range a.dir.Load().keys {
		d.keys[k] = v
	}
	d.keys[orphan.id] = &keyEntry{id: orphan.id, account: "sa-gone", cluster: testCluster, hash: mustHash(t, orphan.secret)}
	a.dir.Store(&d)

	for _, tc := range []struct {
		name      string
		msg       []byte
		principal string
		reason    string
	}{
		{"right key and secret", good.plain(), "User:sa-one", ""},
		{"wrong secret", []byte("\x00" + good.id + "\x00" + strings.Repeat("x", 64)), "", ReasonBadSecret},
		{"unknown key", newTestKey(t, "sa-one", testCluster).plain(), "", ReasonUnknownKey},
		{"key of another cluster", other.plain(), "", ReasonWrongCluster},
		{"key whose account is gone", orphan.plain(), "", ReasonUnknownAccount},
		{"malformed message", []byte("no separators"), "", ReasonMalformed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := a.NewSession(config.DefaultListenerName, "192.0.2.1:5000", nil)
			defer s.Close()
			step := login(s, config.ClientPlain, 1, tc.msg)
			if tc.principal != "" {
				if !step.Complete || s.Identity().Principal != tc.principal {
					t.Fatalf("step %+v, identity %+v; want %s", step, s.Identity(), tc.principal)
				}
				return
			}
			if !step.Failed || step.Message != msgPlainFailed || step.Code != CodeAuthenticationFailed {
				t.Fatalf("step %+v; want a generic failure", step)
			}
			if s.Authenticated() {
				t.Fatal("authenticated after a failure")
			}
			if got := counterValue(t, a, config.ClientPlain, outcomeFailure, tc.reason); got < 1 {
				t.Errorf("no failure counted with reason %s", tc.reason)
			}
		})
	}
}

func mustHash(t testing.TB, secret string) apikey.Hash {
	t.Helper()
	s, err := apikey.HashSecret(secret)
	if err != nil {
		t.Fatal(err)
	}
	h, err := apikey.ParseHash(s)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func counterValue(t testing.TB, a *Authenticator, mech, outcome, reason string) float64 {
	t.Helper()
	c, err := a.metrics.authentications.GetMetricWithLabelValues(mech, outcome, reason)
	if err != nil {
		t.Fatal(err)
	}
	var m dtoMetric
	if err := c.Write(&m.Metric); err != nil {
		t.Fatal(err)
	}
	return m.GetCounter().GetValue()
}

func TestHandshake(t *testing.T) {
	k := newTestKey(t, "sa-one", testCluster)
	a := newTestAuthenticator(t, testConfig(t, k))
	s := a.NewSession(config.DefaultListenerName, "192.0.2.1:5000", nil)
	defer s.Close()
	if enabled, ok := s.Handshake("SCRAM-SHA-512"); ok || strings.Join(enabled, ",") != "PLAIN" {
		t.Fatalf("SCRAM accepted, or the enabled list is wrong: %v %v", enabled, ok)
	}
	if step := s.Authenticate(context.Background(), 1, k.plain()); !step.Failed || step.Code != CodeIllegalState {
		t.Fatalf("authenticate without a handshake: %+v", step)
	}
	if step := login(s, config.ClientPlain, 1, k.plain()); !step.Complete {
		t.Fatalf("login: %+v", step)
	}
	if _, ok := s.Handshake(config.ClientOAuthBearer); ok {
		t.Fatal("re-authentication with another mechanism accepted")
	}
}

func TestReauthenticationKeepsThePrincipal(t *testing.T) {
	one := newTestKey(t, "sa-one", testCluster)
	rotated := newTestKey(t, "sa-one", testCluster)
	two := newTestKey(t, "sa-two", testCluster)
	cfg := testConfig(t, one, rotated, two)
	cfg.Authentication.MaxSessionLifetime = config.Duration(time.Minute)
	a := newTestAuthenticator(t, cfg)
	s := a.NewSession(config.DefaultListenerName, "192.0.2.1:5000", nil)
	defer s.Close()
	step := login(s, config.ClientPlain, 1, one.plain())
	if !step.Complete || step.Lifetime != time.Minute {
		t.Fatalf("login: %+v", step)
	}
	if s.Expired(time.Now()) || !s.Expired(time.Now().Add(61*time.Second)) {
		t.Fatal("session deadline is not the configured lifetime")
	}
	if step := login(s, config.ClientPlain, 1, rotated.plain()); !step.Complete {
		t.Fatalf("re-authentication with another key of the same account: %+v", step)
	}
	step = login(s, config.ClientPlain, 1, two.plain())
	if !step.Failed || step.Message != msgReauthFailed {
		t.Fatalf("re-authentication as another principal: %+v", step)
	}

	// SaslAuthenticate v0 cannot re-authenticate: no lifetime is reported
	// or enforced.
	s0 := a.NewSession(config.DefaultListenerName, "192.0.2.1:5001", nil)
	defer s0.Close()
	if step := login(s0, config.ClientPlain, 0, one.plain()); !step.Complete || step.Lifetime != 0 || s0.Expired(time.Now().Add(time.Hour)) {
		t.Fatalf("v0 login: %+v", step)
	}
}

func TestRemovedKeyClosesItsSessions(t *testing.T) {
	keep := newTestKey(t, "sa-one", testCluster)
	drop := newTestKey(t, "sa-one", testCluster)
	cfg := testConfig(t, keep, drop)
	a := newTestAuthenticator(t, cfg)
	var keptClosed, droppedClosed atomic.Bool
	sKeep := a.NewSession(config.DefaultListenerName, "192.0.2.1:1", func() { keptClosed.Store(true) })
	sDrop := a.NewSession(config.DefaultListenerName, "192.0.2.1:2", func() { droppedClosed.Store(true) })
	defer sKeep.Close()
	defer sDrop.Close()
	if !login(sKeep, config.ClientPlain, 1, keep.plain()).Complete || !login(sDrop, config.ClientPlain, 1, drop.plain()).Complete {
		t.Fatal("logins failed")
	}
	next := testConfig(t, keep)
	if err := next.Normalize(); err != nil {
		t.Fatal(err)
	}
	if err := a.Reload(next); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(2 * time.Second)
	for !droppedClosed.Load() && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if !droppedClosed.Load() || !sDrop.Revoked() {
		t.Fatal("the session of the removed key was not closed")
	}
	if keptClosed.Load() || sKeep.Revoked() {
		t.Fatal("the session of the remaining key was closed")
	}
	s := a.NewSession(config.DefaultListenerName, "192.0.2.1:3", nil)
	defer s.Close()
	if step := login(s, config.ClientPlain, 1, drop.plain()); !step.Failed {
		t.Fatal("the removed key still logs in")
	}
}

func TestThrottling(t *testing.T) {
	k := newTestKey(t, "sa-one", testCluster)
	cfg := testConfig(t, k)
	cfg.Authentication.MaxFailuresPerSource = 3
	cfg.Authentication.MaxFailuresPerKey = 100
	a := newTestAuthenticator(t, cfg)
	bad := []byte("\x00" + k.id + "\x00wrong-secret")
	for i := range 3 {
		s := a.NewSession(config.DefaultListenerName, "198.51.100.7:1000", nil)
		if step := login(s, config.ClientPlain, 1, bad); step.Message != msgPlainFailed {
			t.Fatalf("attempt %d: %+v", i, step)
		}
	}
	s := a.NewSession(config.DefaultListenerName, "198.51.100.7:1001", nil)
	if step := login(s, config.ClientPlain, 1, k.plain()); step.Message != msgThrottled {
		t.Fatalf("the right key from a throttled address: %+v", step)
	}
	s = a.NewSession(config.DefaultListenerName, "198.51.100.8:1000", nil)
	defer s.Close()
	if step := login(s, config.ClientPlain, 1, k.plain()); !step.Complete {
		t.Fatalf("another address is throttled too: %+v", step)
	}

	// Per key: failures from many addresses lock the key only.
	cfg = testConfig(t, k)
	cfg.Authentication.MaxFailuresPerSource = 100
	cfg.Authentication.MaxFailuresPerKey = 2
	a = newTestAuthenticator(t, cfg)
	for i := range 2 {
		login(a.NewSession(config.DefaultListenerName, "203.0.113."+string(rune('1'+i))+":1", nil), config.ClientPlain, 1, bad)
	}
	if step := login(a.NewSession(config.DefaultListenerName, "203.0.113.9:1", nil), config.ClientPlain, 1, k.plain()); step.Message != msgThrottled {
		t.Fatalf("a key past its failure limit: %+v", step)
	}
}

func TestFailureDelay(t *testing.T) {
	k := newTestKey(t, "sa-one", testCluster)
	cfg := testConfig(t, k)
	cfg.Authentication.FailureDelay = config.Duration(50 * time.Millisecond)
	a := newTestAuthenticator(t, cfg)
	start := time.Now()
	login(a.NewSession(config.DefaultListenerName, "192.0.2.1:1", nil), config.ClientPlain, 1, []byte("\x00"+k.id+"\x00nope"))
	if time.Since(start) < 50*time.Millisecond {
		t.Fatal("a failed login was answered before the failure delay")
	}
}

// idp is a test identity provider: a JWKS endpoint and a signer.
type idp struct {
	srv    *httptest.Server
	key    *rsa.PrivateKey
	signer jose.Signer
}

func newIDP(t testing.TB) *idp {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	p := &idp{key: key}
	p.signer, err = jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: jose.JSONWebKey{Key: key, KeyID: "k1"}}, (&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/jwks", func(w http.ResponseWriter, _ *http.Request) {
		_ = json.NewEncoder(w).Encode(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &key.PublicKey, KeyID: "k1", Algorithm: "RS256", Use: "sig"}}})
	})
	p.srv = httptest.NewServer(mux)
	t.Cleanup(p.srv.Close)
	return p
}

func (p *idp) token(t testing.TB, claims map[string]any) string {
	t.Helper()
	base := map[string]any{
		"iss": p.srv.URL, "aud": "kafka", "sub": "payments-app",
		"exp": time.Now().Add(time.Hour).Unix(), "iat": time.Now().Unix(),
	}
	for k, v := range claims {
		if v == nil {
			delete(base, k)
			continue
		}
		base[k] = v
	}
	tok, err := jwt.Signed(p.signer).Claims(base).Serialize()
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func bearer(token string, ext ...string) []byte {
	msg := "n,,\x01auth=Bearer " + token + "\x01"
	for _, e := range ext {
		msg += e + "\x01"
	}
	return []byte(msg + "\x01")
}

func oauthConfig(t testing.TB, p *idp) *config.Config {
	cfg := testConfig(t)
	cfg.Listener.SASLMechanisms = []string{config.ClientOAuthBearer}
	cfg.OIDC.Providers = []config.OIDCProvider{{Name: "corp", Issuer: p.srv.URL, JWKSURI: p.srv.URL + "/jwks", Audiences: []string{"kafka"}}}
	cfg.OIDC.IdentityPools = []config.IdentityPool{
		{ID: "pool-payments", Provider: "corp", Filter: `has(claims.groups) && "payments" in claims.groups`},
		{ID: "pool-zz-everyone", Provider: "corp", Filter: `claims.sub != "nobody"`},
	}
	return cfg
}

func TestOAuthBearerLogin(t *testing.T) {
	p := newIDP(t)
	a := newTestAuthenticator(t, oauthConfig(t, p))
	payments := p.token(t, map[string]any{"groups": []string{"payments"}})
	for _, tc := range []struct {
		name      string
		msg       []byte
		principal string
		reason    string
	}{
		{"first matching pool by id", bearer(payments), "User:pool-payments", ""},
		{"requested pool", bearer(payments, "identityPoolId=pool-zz-everyone"), "User:pool-zz-everyone", ""},
		{"logical cluster", bearer(payments, "logicalCluster="+testCluster), "User:pool-payments", ""},
		{"wrong logical cluster", bearer(payments, "logicalCluster=other"), "", ReasonWrongCluster},
		{"requested pool that does not match", bearer(p.token(t, nil), "identityPoolId=pool-payments"), "", ReasonNoPool},
		{"requested pool that does not exist", bearer(payments, "identityPoolId=pool-nope"), "", ReasonUnknownPool},
		{"no pool matches", bearer(p.token(t, map[string]any{"sub": "nobody"})), "", ReasonNoPool},
		{"expired token", bearer(p.token(t, map[string]any{"exp": time.Now().Add(-time.Hour).Unix()})), "", "token_expired"},
		{"wrong audience", bearer(p.token(t, map[string]any{"aud": "other"})), "", "token_wrong_audience"},
		{"garbage token", bearer("not.a.jwt"), "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := a.NewSession(config.DefaultListenerName, "192.0.2.1:5000", nil)
			defer s.Close()
			step := login(s, config.ClientOAuthBearer, 1, tc.msg)
			if tc.principal != "" {
				if !step.Complete || s.Identity().Principal != tc.principal {
					t.Fatalf("step %+v identity %+v; want %s", step, s.Identity(), tc.principal)
				}
				if step.Lifetime <= 0 || step.Lifetime > time.Hour {
					t.Errorf("lifetime %s; want the token's remaining hour", step.Lifetime)
				}
				return
			}
			// RFC 7628: an error challenge, the client's kvsep, then failure.
			if step.Failed || string(step.Response) != `{"status":"invalid_token"}` {
				t.Fatalf("first step %+v; want the invalid_token challenge", step)
			}
			step = s.Authenticate(context.Background(), 1, []byte{0x01})
			if !step.Failed || step.Message != msgOAuthFailed {
				t.Fatalf("second step %+v; want a failure", step)
			}
			if tc.reason != "" && counterValue(t, a, config.ClientOAuthBearer, outcomeFailure, tc.reason) < 1 {
				t.Errorf("no failure counted with reason %s", tc.reason)
			}
		})
	}
}

func TestRemovedPoolClosesItsSessions(t *testing.T) {
	p := newIDP(t)
	cfg := oauthConfig(t, p)
	a := newTestAuthenticator(t, cfg)
	closed := make(chan struct{})
	s := a.NewSession(config.DefaultListenerName, "192.0.2.1:1", func() { close(closed) })
	defer s.Close()
	if step := login(s, config.ClientOAuthBearer, 1, bearer(p.token(t, map[string]any{"groups": []string{"payments"}}))); !step.Complete {
		t.Fatalf("login: %+v", step)
	}
	next := oauthConfig(t, p)
	next.OIDC.IdentityPools = next.OIDC.IdentityPools[1:]
	if err := next.Normalize(); err != nil {
		t.Fatal(err)
	}
	if err := a.Reload(next); err != nil {
		t.Fatal(err)
	}
	select {
	case <-closed:
	case <-time.After(2 * time.Second):
		t.Fatal("the session of the removed pool was not closed")
	}
}

func BenchmarkPlainLogin(b *testing.B) {
	k := newTestKey(b, "sa-one", testCluster)
	a := newTestAuthenticator(b, testConfig(b, k))
	d := a.dir.Load()
	msg := k.plain()
	b.ReportAllocs()
	for b.Loop() {
		if at := a.checkPlain(d, "192.0.2.1", msg); at.identity == nil {
			b.Fatal(at.cause)
		}
	}
}

func BenchmarkOAuthBearerCachedToken(b *testing.B) {
	p := newIDP(b)
	a := newTestAuthenticator(b, oauthConfig(b, p))
	d := a.dir.Load()
	msg := bearer(p.token(b, map[string]any{"groups": []string{"payments"}}))
	ctx := context.Background()
	if at := a.checkOAuth(ctx, d, "192.0.2.1", msg); at.identity == nil {
		b.Fatal(at.cause)
	}
	b.ReportAllocs()
	for b.Loop() {
		if at := a.checkOAuth(ctx, d, "192.0.2.1", msg); at.identity == nil {
			b.Fatal(at.cause)
		}
	}
}
