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
	"github.com/kafka-auth-proxy/kafka-auth-proxy/authn/pool"
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

func (k testKey) config(t testing.TB) Key {
	t.Helper()
	h, err := apikey.HashSecret(k.secret)
	if err != nil {
		t.Fatal(err)
	}
	return Key{ID: k.id, SecretHash: h, Account: k.account, Cluster: k.cluster}
}

func (k testKey) plain() []byte { return []byte("\x00" + k.id + "\x00" + k.secret) }

// testListener is the listener of the test configurations.
const testListener = "default"

// testConfig is a configuration offering PLAIN with the given keys on
// accounts sa-one and sa-two, with the proxy's default limits and no
// failure delay.
func testConfig(t testing.TB, keys ...testKey) Config {
	t.Helper()
	cfg := Config{
		Listeners: map[string][]string{testListener: {MechanismPlain}},
		Limits:    Limits{Window: time.Minute, PerSource: 30, PerCredential: 10, PerSecond: 200},
		Accounts:  []string{"sa-one", "sa-two"},
	}
	for _, k := range keys {
		cfg.Keys = append(cfg.Keys, k.config(t))
	}
	return cfg
}

func newTestAuthenticator(t testing.TB, cfg Config) *Authenticator {
	t.Helper()
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
	if _, code := s.Handshake(context.Background(), mech); code != CodeOK {
		return Step{Failed: true, Code: code, Message: "handshake refused"}
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
			s := a.NewSession(testListener, "192.0.2.1:5000", nil)
			defer s.Close()
			step := login(s, MechanismPlain, 1, tc.msg)
			if tc.principal != "" {
				if !step.Complete || s.Identity().Principal != tc.principal {
					t.Fatalf("step %+v, identity %+v; want %s", step, s.Identity(), tc.principal)
				}
				return
			}
			if !step.Failed || step.Message != plain.failure || step.Code != CodeAuthenticationFailed {
				t.Fatalf("step %+v; want a generic failure", step)
			}
			if s.Authenticated() {
				t.Fatal("authenticated after a failure")
			}
			if got := counterValue(t, a, MechanismPlain, outcomeFailure, tc.reason); got < 1 {
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
	ctx := context.Background()
	s := a.NewSession(testListener, "192.0.2.1:5000", nil)
	defer s.Close()
	if enabled, code := s.Handshake(ctx, "SCRAM-SHA-512"); code != CodeUnsupportedMechanism || strings.Join(enabled, ",") != "PLAIN" {
		t.Fatalf("SCRAM accepted, or the enabled list is wrong: %v %v", enabled, code)
	}
	s = a.NewSession(testListener, "192.0.2.1:5001", nil)
	defer s.Close()
	if step := s.Authenticate(ctx, 1, k.plain()); !step.Failed || step.Code != CodeIllegalState {
		t.Fatalf("authenticate without a handshake: %+v", step)
	}
	s = a.NewSession(testListener, "192.0.2.1:5002", nil)
	defer s.Close()
	if step := login(s, MechanismPlain, 1, k.plain()); !step.Complete {
		t.Fatalf("login: %+v", step)
	}
	if _, code := s.Handshake(ctx, MechanismOAuthBearer); code == CodeOK {
		t.Fatal("re-authentication with another mechanism accepted")
	}
}

func TestReauthenticationKeepsThePrincipal(t *testing.T) {
	one := newTestKey(t, "sa-one", testCluster)
	rotated := newTestKey(t, "sa-one", testCluster)
	two := newTestKey(t, "sa-two", testCluster)
	cfg := testConfig(t, one, rotated, two)
	cfg.MaxSessionLifetime = time.Minute
	a := newTestAuthenticator(t, cfg)
	s := a.NewSession(testListener, "192.0.2.1:5000", nil)
	defer s.Close()
	step := login(s, MechanismPlain, 1, one.plain())
	if !step.Complete || step.Lifetime != time.Minute {
		t.Fatalf("login: %+v", step)
	}
	if s.Expired(time.Now()) || !s.Expired(time.Now().Add(61*time.Second)) {
		t.Fatal("session deadline is not the configured lifetime")
	}
	if step := login(s, MechanismPlain, 1, rotated.plain()); !step.Complete {
		t.Fatalf("re-authentication with another key of the same account: %+v", step)
	}
	step = login(s, MechanismPlain, 1, two.plain())
	if !step.Failed || step.Message != msgReauthFailed {
		t.Fatalf("re-authentication as another principal: %+v", step)
	}

	// SaslAuthenticate v0 cannot re-authenticate: no lifetime is reported
	// or enforced.
	s0 := a.NewSession(testListener, "192.0.2.1:5001", nil)
	defer s0.Close()
	if step := login(s0, MechanismPlain, 0, one.plain()); !step.Complete || step.Lifetime != 0 || s0.Expired(time.Now().Add(time.Hour)) {
		t.Fatalf("v0 login: %+v", step)
	}
}

func TestRemovedKeyClosesItsSessions(t *testing.T) {
	keep := newTestKey(t, "sa-one", testCluster)
	drop := newTestKey(t, "sa-one", testCluster)
	cfg := testConfig(t, keep, drop)
	a := newTestAuthenticator(t, cfg)
	var keptClosed, droppedClosed atomic.Bool
	sKeep := a.NewSession(testListener, "192.0.2.1:1", func() { keptClosed.Store(true) })
	sDrop := a.NewSession(testListener, "192.0.2.1:2", func() { droppedClosed.Store(true) })
	defer sKeep.Close()
	defer sDrop.Close()
	if !login(sKeep, MechanismPlain, 1, keep.plain()).Complete || !login(sDrop, MechanismPlain, 1, drop.plain()).Complete {
		t.Fatal("logins failed")
	}
	next := testConfig(t, keep)
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
	s := a.NewSession(testListener, "192.0.2.1:3", nil)
	defer s.Close()
	if step := login(s, MechanismPlain, 1, drop.plain()); !step.Failed {
		t.Fatal("the removed key still logs in")
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

func oauthConfig(t testing.TB, p *idp) Config {
	cfg := testConfig(t)
	cfg.Listeners[testListener] = []string{MechanismOAuthBearer, MechanismPlain}
	cfg.MaxTokenBytes = 16 << 10
	cfg.Providers = []Provider{{Name: "corp", Issuer: p.srv.URL, JWKSURI: p.srv.URL + "/jwks", Audiences: []string{"kafka"},
		ClockSkew: 30 * time.Second, Algorithms: []string{"RS256"}, JWKSRefresh: time.Hour, JWKSMinRefreshInterval: 10 * time.Second}}
	cfg.Pools = []pool.Config{
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
			s := a.NewSession(testListener, "192.0.2.1:5000", nil)
			defer s.Close()
			step := login(s, MechanismOAuthBearer, 1, tc.msg)
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
			if !step.Failed || step.Message != oauthBearer.failure {
				t.Fatalf("second step %+v; want a failure", step)
			}
			if tc.reason != "" && counterValue(t, a, MechanismOAuthBearer, outcomeFailure, tc.reason) < 1 {
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
	s := a.NewSession(testListener, "192.0.2.1:1", func() { close(closed) })
	defer s.Close()
	if step := login(s, MechanismOAuthBearer, 1, bearer(p.token(t, map[string]any{"groups": []string{"payments"}}))); !step.Complete {
		t.Fatalf("login: %+v", step)
	}
	next := oauthConfig(t, p)
	next.Pools = next.Pools[1:]
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
		if at := checkPlain(context.Background(), a.NewSession("default", "192.0.2.1:1", nil), d, msg); at.identity == nil {
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
	if at := checkOAuth(ctx, a.NewSession("default", "192.0.2.1:1", nil), d, msg); at.identity == nil {
		b.Fatal(at.cause)
	}
	b.ReportAllocs()
	for b.Loop() {
		if at := checkOAuth(ctx, a.NewSession("default", "192.0.2.1:1", nil), d, msg); at.identity == nil {
			b.Fatal(at.cause)
		}
	}
}
