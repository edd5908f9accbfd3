package oauth

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"
)

// keyMaterial is generated once per test binary: RSA key generation is slow.
type keyMaterial struct {
	rsa      *rsa.PrivateKey // published as "rsa-1", alg RS256
	rsa2     *rsa.PrivateKey // published as "rsa-2" when a test rotates keys
	stranger *rsa.PrivateKey // never published
	ec       *ecdsa.PrivateKey
	ed       ed25519.PrivateKey
}

var testKeys = sync.OnceValue(func() *keyMaterial {
	must := func(err error) {
		if err != nil {
			panic(err)
		}
	}
	var km keyMaterial
	var err error
	km.rsa, err = rsa.GenerateKey(rand.Reader, 2048)
	must(err)
	km.rsa2, err = rsa.GenerateKey(rand.Reader, 2048)
	must(err)
	km.stranger, err = rsa.GenerateKey(rand.Reader, 2048)
	must(err)
	km.ec, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	must(err)
	_, km.ed, err = ed25519.GenerateKey(rand.Reader)
	must(err)
	return &km
})

// publicJWK is the JWKS entry of a private key's public half.
func publicJWK(key any, kid, alg string) jose.JSONWebKey {
	var pub any
	switch k := key.(type) {
	case *rsa.PrivateKey:
		pub = &k.PublicKey
	case *ecdsa.PrivateKey:
		pub = &k.PublicKey
	case ed25519.PrivateKey:
		pub = k.Public()
	default:
		pub = key
	}
	return jose.JSONWebKey{Key: pub, KeyID: kid, Algorithm: alg, Use: "sig"}
}

// defaultJWKS is what the test identity provider publishes unless told
// otherwise.
func defaultJWKS() []any {
	km := testKeys()
	return []any{
		publicJWK(km.rsa, "rsa-1", "RS256"),
		publicJWK(km.ec, "ec-1", "ES256"),
		publicJWK(km.ed, "ed-1", "EdDSA"),
	}
}

// testIdP is an identity provider: a discovery document and a JWKS, with
// hit counters and switches for outages.
type testIdP struct {
	srv *httptest.Server

	mu        sync.Mutex
	keys      []any  // JWKS entries, marshalled as they are
	status    int    // answer with this status instead of 200 when not 0
	docIssuer string // issuer in the discovery document; default the URL
	block     chan struct{}

	jwksHits, discoveryHits atomic.Int32
}

func newTestIdP(t testing.TB) *testIdP {
	t.Helper()
	idp := &testIdP{keys: defaultJWKS()}
	mux := http.NewServeMux()
	mux.HandleFunc("/.well-known/openid-configuration", func(w http.ResponseWriter, _ *http.Request) {
		idp.discoveryHits.Add(1)
		idp.mu.Lock()
		status, iss := idp.status, idp.docIssuer
		idp.mu.Unlock()
		if status != 0 {
			w.WriteHeader(status)
			return
		}
		if iss == "" {
			iss = idp.srv.URL
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"issuer": iss, "jwks_uri": idp.srv.URL + "/keys"})
	})
	jwks := func(w http.ResponseWriter, r *http.Request) {
		idp.jwksHits.Add(1)
		idp.mu.Lock()
		status, keys, block := idp.status, idp.keys, idp.block
		idp.mu.Unlock()
		if block != nil {
			select {
			case <-block:
			case <-r.Context().Done():
				return
			}
		}
		if status != 0 {
			w.WriteHeader(status)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"keys": keys})
	}
	mux.HandleFunc("/jwks", jwks)
	mux.HandleFunc("/keys", jwks) // the discovered location
	idp.srv = httptest.NewServer(mux)
	t.Cleanup(idp.srv.Close)
	return idp
}

func (idp *testIdP) URL() string { return idp.srv.URL }

func (idp *testIdP) publish(keys ...any) {
	idp.mu.Lock()
	idp.keys = keys
	idp.mu.Unlock()
}

func (idp *testIdP) setStatus(code int) {
	idp.mu.Lock()
	idp.status = code
	idp.mu.Unlock()
}

// fakeClock is the providers' clock in tests.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newFakeClock() *fakeClock { return &fakeClock{t: time.Unix(1_900_000_000, 0)} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// env is a provider of a test identity provider, on a fake clock.
type env struct {
	t     testing.TB
	idp   *testIdP
	clock *fakeClock
	reg   *prometheus.Registry
	m     *Metrics
	logs  *observer.ObservedLogs
	p     *Provider
}

func newEnv(t testing.TB, mutate ...func(*ProviderConfig)) *env {
	t.Helper()
	e := &env{t: t, idp: newTestIdP(t), clock: newFakeClock(), reg: prometheus.NewRegistry()}
	e.m = NewMetrics(e.reg)
	cfg := ProviderConfig{
		Name:      "corp",
		Issuer:    e.idp.URL(),
		JWKSURI:   e.idp.URL() + "/jwks",
		Audiences: []string{"kafka"},
	}
	for _, f := range mutate {
		f(&cfg)
	}
	core, logs := observer.New(zap.DebugLevel)
	e.logs = logs
	p, err := NewProvider(cfg, zap.New(core), e.m)
	if err != nil {
		t.Fatal(err)
	}
	p.now = e.clock.Now
	e.p = p
	return e
}

// claims are valid claims for the env's provider, changed by over: a nil
// value removes the claim.
func (e *env) claims(over map[string]any) map[string]any {
	now := e.clock.Now()
	c := map[string]any{
		"iss": e.idp.URL(), "aud": "kafka", "sub": "payments-app",
		"iat": now.Unix(), "exp": now.Add(time.Hour).Unix(),
		"groups": []string{"payments"},
	}
	for k, v := range over {
		if v == nil {
			delete(c, k)
		} else {
			c[k] = v
		}
	}
	return c
}

// sign returns a compact JWS of payload (marshalled unless it is []byte)
// signed with key; kid "" leaves the kid header out.
func sign(t testing.TB, alg jose.SignatureAlgorithm, key any, kid string, payload any) string {
	t.Helper()
	sk := jose.SigningKey{Algorithm: alg, Key: key}
	if kid != "" {
		sk.Key = jose.JSONWebKey{Key: key, KeyID: kid}
	}
	signer, err := jose.NewSigner(sk, (&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		t.Fatal(err)
	}
	b, ok := payload.([]byte)
	if !ok {
		if b, err = json.Marshal(payload); err != nil {
			t.Fatal(err)
		}
	}
	obj, err := signer.Sign(b)
	if err != nil {
		t.Fatal(err)
	}
	s, err := obj.CompactSerialize()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// rs256 is a token signed with the published RSA key.
func (e *env) rs256(over map[string]any) string {
	return sign(e.t, jose.RS256, testKeys().rsa, "rsa-1", e.claims(over))
}

// unsigned builds header.payload.signature from JSON values, without any
// cryptography.
func unsigned(header, payload any, sig string) string {
	h, _ := json.Marshal(header)
	p, _ := json.Marshal(payload)
	return b64(h) + "." + b64(p) + "." + sig
}

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

// reasonOf returns the Reason of a Verify error, failing the test if err
// is not an *Error.
func reasonOf(t testing.TB, err error) Reason {
	t.Helper()
	if err == nil {
		return ""
	}
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("error %v (%T) is not an *Error", err, err)
	}
	return e.Reason
}

// load makes the provider fetch its keys (one JWKS fetch).
func (e *env) load() {
	e.t.Helper()
	if _, err := e.p.Verify(context.Background(), e.rs256(map[string]any{"jti": "load"})); err != nil {
		e.t.Fatalf("loading keys: %v", err)
	}
}

func (e *env) refreshes(outcome string) float64 {
	e.t.Helper()
	var m dto.Metric
	if err := e.m.refreshes.WithLabelValues("corp", outcome).Write(&m); err != nil {
		e.t.Fatal(err)
	}
	return m.GetCounter().GetValue()
}

func (e *env) keyGauge() float64 {
	e.t.Helper()
	var m dto.Metric
	if err := e.m.keys.WithLabelValues("corp").Write(&m); err != nil {
		e.t.Fatal(err)
	}
	return m.GetGauge().GetValue()
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

func jsonUnmarshalB64(s string, v any) error {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, v)
}

func toString(m map[string]any) string { return string(mustJSON(m)) }
