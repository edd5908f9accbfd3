package oauth

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

func TestJWKSLocation(t *testing.T) {
	for _, tc := range []struct {
		name          string
		cfg           func(e *env, c *ProviderConfig)
		idp           func(*testIdP)
		reason        Reason
		discoveryHits int32
	}{
		{name: "explicit jwks_uri", cfg: func(e *env, c *ProviderConfig) {}},
		{name: "discovered from the issuer", discoveryHits: 1,
			cfg: func(e *env, c *ProviderConfig) { c.JWKSURI = "" }},
		{name: "discovered from an issuer with a trailing slash", discoveryHits: 1,
			cfg: func(e *env, c *ProviderConfig) { c.JWKSURI, c.Issuer = "", e.idp.URL()+"/" },
			idp: func(idp *testIdP) { idp.docIssuer = idp.URL() + "/" }},
		{name: "discovery document of another issuer", discoveryHits: 1, reason: ReasonKeysUnavailable,
			cfg: func(e *env, c *ProviderConfig) { c.JWKSURI = "" },
			idp: func(idp *testIdP) { idp.docIssuer = "https://elsewhere.example" }},
		{name: "no discovery document", discoveryHits: 1, reason: ReasonKeysUnavailable,
			cfg: func(e *env, c *ProviderConfig) { c.JWKSURI = "" },
			idp: func(idp *testIdP) { idp.status = http.StatusNotFound }},
		{name: "jwks_uri answers 500", reason: ReasonKeysUnavailable,
			cfg: func(e *env, c *ProviderConfig) {},
			idp: func(idp *testIdP) { idp.status = http.StatusInternalServerError }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			cfg := e.p.cfg
			cfg.HTTPClient = nil
			tc.cfg(e, &cfg)
			if tc.idp != nil {
				tc.idp(e.idp)
			}
			p, err := NewProvider(cfg, nil, e.m)
			if err != nil {
				t.Fatal(err)
			}
			p.now = e.clock.Now
			if n := e.idp.jwksHits.Load() + e.idp.discoveryHits.Load(); n != 0 {
				t.Fatalf("NewProvider made %d requests; want none", n)
			}
			tok := sign(t, jose.RS256, testKeys().rsa, "rsa-1", e.claims(map[string]any{"iss": cfg.Issuer}))
			_, err = p.Verify(context.Background(), tok)
			if got := reasonOf(t, err); got != tc.reason {
				t.Fatalf("reason %q (%v); want %q", got, err, tc.reason)
			}
			if got := e.idp.discoveryHits.Load(); got != tc.discoveryHits {
				t.Errorf("%d discovery requests; want %d", got, tc.discoveryHits)
			}
			if tc.reason == "" {
				// Keys and their location are remembered.
				tok2 := sign(t, jose.ES256, testKeys().ec, "ec-1", e.claims(map[string]any{"iss": cfg.Issuer}))
				if _, err := p.Verify(context.Background(), tok2); err != nil {
					t.Fatal(err)
				}
				if got := e.idp.jwksHits.Load(); got != 1 {
					t.Errorf("%d JWKS requests; want 1", got)
				}
				if got := e.idp.discoveryHits.Load(); got != tc.discoveryHits {
					t.Errorf("%d discovery requests after a second token; want %d", got, tc.discoveryHits)
				}
			}
		})
	}
}

func TestDiscoveryRetried(t *testing.T) {
	e := newEnv(t, func(c *ProviderConfig) { c.JWKSURI = "" })
	e.idp.setStatus(http.StatusServiceUnavailable)
	ctx := context.Background()
	tok := e.rs256(nil)
	for _, step := range []struct {
		advance time.Duration
		reason  Reason
		hits    int32
	}{
		{0, ReasonKeysUnavailable, 1},
		{time.Second, ReasonKeysUnavailable, 1}, // within the cooldown: no request
		{10 * time.Second, "", 2},               // the provider is back
	} {
		e.clock.Advance(step.advance)
		if step.reason == "" {
			e.idp.setStatus(0)
		}
		_, err := e.p.Verify(ctx, tok)
		if got := reasonOf(t, err); got != step.reason {
			t.Fatalf("after %s: reason %q (%v); want %q", step.advance, got, err, step.reason)
		}
		if got := e.idp.discoveryHits.Load(); got != step.hits {
			t.Fatalf("after %s: %d discovery requests; want %d", step.advance, got, step.hits)
		}
	}
	if got := e.refreshes(outcomeError); got != 1 {
		t.Errorf("%v failed refreshes counted; want 1", got)
	}
}

func TestKeyRotation(t *testing.T) {
	km := testKeys()
	e := newEnv(t)
	e.load()
	ctx := context.Background()
	e.idp.publish(append(defaultJWKS(), publicJWK(km.rsa2, "rsa-2", "RS256"))...)
	newKid := func() string { return sign(t, jose.RS256, km.rsa2, "rsa-2", e.claims(nil)) }

	// Right after a fetch, an unknown kid does not cause another.
	if _, err := e.p.Verify(ctx, newKid()); reasonOf(t, err) != ReasonUnknownKey {
		t.Fatalf("within the cooldown: %v; want %s", err, ReasonUnknownKey)
	}
	if got := e.idp.jwksHits.Load(); got != 1 {
		t.Fatalf("%d JWKS requests within the cooldown; want 1", got)
	}

	// Once the cooldown has passed, the first token with the new kid
	// fetches the keys once and verifies.
	e.clock.Advance(DefaultJWKSMinRefreshInterval)
	tok, err := e.p.Verify(ctx, newKid())
	if err != nil {
		t.Fatal(err)
	}
	if tok.KeyID != "rsa-2" {
		t.Errorf("KeyID %q", tok.KeyID)
	}
	if _, err := e.p.Verify(ctx, newKid()); err != nil {
		t.Fatal(err)
	}
	if got := e.idp.jwksHits.Load(); got != 2 {
		t.Errorf("%d JWKS requests; want 2", got)
	}
	if got := e.keyGauge(); got != 4 {
		t.Errorf("key gauge %v; want 4", got)
	}
}

func TestUnknownKeyAfterRefresh(t *testing.T) {
	e := newEnv(t)
	e.load()
	e.clock.Advance(time.Minute)
	tok := sign(t, jose.RS256, testKeys().stranger, "stranger", e.claims(nil))
	_, err := e.p.Verify(context.Background(), tok)
	if reasonOf(t, err) != ReasonUnknownKey {
		t.Fatalf("%v; want %s", err, ReasonUnknownKey)
	}
	if got := e.idp.jwksHits.Load(); got != 2 {
		t.Errorf("%d JWKS requests; want 2 (the load and one refresh)", got)
	}
}

func TestUnknownKeyRateLimit(t *testing.T) {
	e := newEnv(t)
	e.load()
	e.clock.Advance(time.Minute)
	stranger := testKeys().stranger
	tokens := make([]string, 50)
	for i := range tokens {
		tokens[i] = sign(t, jose.RS256, stranger, randomKid(t), e.claims(nil))
	}
	ctx := context.Background()
	var wg sync.WaitGroup
	for _, tok := range tokens {
		wg.Go(func() {
			if _, err := e.p.Verify(ctx, tok); reasonOf(t, err) != ReasonUnknownKey {
				t.Errorf("%v; want %s", err, ReasonUnknownKey)
			}
		})
	}
	wg.Wait()
	for _, tok := range tokens { // and again, one after the other
		if _, err := e.p.Verify(ctx, tok); reasonOf(t, err) != ReasonUnknownKey {
			t.Errorf("%v; want %s", err, ReasonUnknownKey)
		}
	}
	if got := e.idp.jwksHits.Load(); got != 2 {
		t.Errorf("%d JWKS requests; want 2 (the load and exactly one refresh)", got)
	}
	// Known keys keep working meanwhile, without requests.
	if _, err := e.p.Verify(ctx, e.rs256(nil)); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(DefaultJWKSMinRefreshInterval)
	if _, err := e.p.Verify(ctx, tokens[0]); reasonOf(t, err) != ReasonUnknownKey {
		t.Errorf("%v; want %s", err, ReasonUnknownKey)
	}
	if got := e.idp.jwksHits.Load(); got != 3 {
		t.Errorf("%d JWKS requests after the cooldown; want 3", got)
	}
}

func randomKid(t testing.TB) string {
	b := make([]byte, 8)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

func TestIdPDown(t *testing.T) {
	km := testKeys()
	e := newEnv(t)
	e.load()
	e.idp.setStatus(http.StatusBadGateway)
	ctx := context.Background()

	// A refresh fails: periodic, then one for an unknown kid.
	if err := e.p.keys.refresh(ctx, true); err == nil {
		t.Fatal("refresh against a failing provider succeeded")
	}
	e.clock.Advance(time.Minute)
	_, err := e.p.Verify(ctx, sign(t, jose.RS256, km.rsa2, "rsa-2", e.claims(nil)))
	if reasonOf(t, err) != ReasonKeysUnavailable {
		t.Fatalf("unknown kid while the provider is down: %v; want %s", err, ReasonKeysUnavailable)
	}

	// The cached keys still verify new tokens.
	for _, tok := range []string{e.rs256(nil), sign(t, jose.ES256, km.ec, "ec-1", e.claims(nil))} {
		if _, err := e.p.Verify(ctx, tok); err != nil {
			t.Fatalf("cached key: %v", err)
		}
	}
	if got := e.refreshes(outcomeError); got != 2 {
		t.Errorf("%v failed refreshes counted; want 2", got)
	}
	if got := e.refreshes(outcomeOK); got != 1 {
		t.Errorf("%v good refreshes counted; want 1", got)
	}
	if got := e.keyGauge(); got != 3 {
		t.Errorf("key gauge %v; want the 3 cached keys", got)
	}
	if e.logs.FilterMessageSnippet("keeping the cached ones").Len() != 2 {
		t.Errorf("failed refreshes were not logged as warnings: %v", e.logs.All())
	}
}

func TestJWKSWithoutUsableKeysKeepsCache(t *testing.T) {
	e := newEnv(t)
	e.load()
	e.idp.publish(jose.JSONWebKey{Key: []byte("0123456789abcdef0123456789abcdef"), KeyID: "hmac", Algorithm: "HS256"})
	if err := e.p.keys.refresh(context.Background(), true); err == nil || !strings.Contains(err.Error(), "no usable signing keys") {
		t.Fatalf("refresh: %v; want a refusal of a JWKS without usable keys", err)
	}
	if _, err := e.p.Verify(context.Background(), e.rs256(nil)); err != nil {
		t.Fatal(err)
	}
}

func TestSymmetricKeysRefused(t *testing.T) {
	secret := []byte("0123456789abcdef0123456789abcdef")
	e := newEnv(t)
	e.idp.publish(append(defaultJWKS(), jose.JSONWebKey{Key: secret, KeyID: "hmac", Algorithm: "HS256"})...)
	e.load()
	if got := e.keyGauge(); got != 3 {
		t.Errorf("key gauge %v; want 3: the symmetric key is not cached", got)
	}
	if len(e.p.keys.snap.Load().byKID["hmac"]) != 0 {
		t.Error("the symmetric key was cached")
	}
	if e.logs.FilterMessage("JWKS entry refused").Len() != 1 {
		t.Errorf("the refused key was not logged: %v", e.logs.All())
	}
	tok := sign(t, jose.HS256, secret, "hmac", e.claims(nil))
	if _, err := e.p.Verify(context.Background(), tok); reasonOf(t, err) != ReasonAlgorithm {
		t.Fatalf("HS256 token: %v; want %s", err, ReasonAlgorithm)
	}
}

func TestParseJWKS(t *testing.T) {
	km := testKeys()
	entry := func(k jose.JSONWebKey) json.RawMessage { return mustJSON(k) }
	for _, tc := range []struct {
		name    string
		doc     string
		keys    []string // kids kept
		skipped int
		err     bool
	}{
		{name: "public keys kept", keys: []string{"rsa-1", "ec-1", "ed-1"},
			doc: string(mustJSON(map[string]any{"keys": defaultJWKS()}))},
		{name: "symmetric key refused", skipped: 1, keys: []string{"rsa-1"},
			doc: string(mustJSON(map[string]any{"keys": []any{
				entry(jose.JSONWebKey{Key: []byte("secretsecretsecretsecretsecret!!"), KeyID: "oct"}),
				entry(publicJWK(km.rsa, "rsa-1", "RS256")),
			}}))},
		{name: "private key refused", skipped: 1,
			doc: string(mustJSON(map[string]any{"keys": []any{entry(jose.JSONWebKey{Key: km.rsa, KeyID: "priv"})}}))},
		{name: "encryption key ignored", skipped: 0,
			doc: string(mustJSON(map[string]any{"keys": []any{entry(jose.JSONWebKey{Key: &km.rsa.PublicKey, KeyID: "enc", Use: "enc"})}}))},
		{name: "unknown kty skipped, others kept", skipped: 1, keys: []string{"ec-1"},
			doc: `{"keys":[{"kty":"XYZ","kid":"x"},` + string(entry(publicJWK(km.ec, "ec-1", "ES256"))) + `]}`},
		{name: "broken RSA key skipped", skipped: 1, doc: `{"keys":[{"kty":"RSA","kid":"r","n":"!!","e":"AQAB"}]}`},
		{name: "empty key list", doc: `{"keys":[]}`},
		{name: "not JSON", doc: `<html>`, err: true},
		{name: "no keys member", doc: `{"issuer":"x"}`, err: true},
		{name: "keys not an array", doc: `{"keys":{}}`, err: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			set, skipped, err := parseJWKS([]byte(tc.doc))
			if (err != nil) != tc.err {
				t.Fatalf("error %v; want error %v", err, tc.err)
			}
			if len(skipped) != tc.skipped {
				t.Errorf("skipped %v; want %d", skipped, tc.skipped)
			}
			var kids []string
			for _, k := range set.Keys {
				kids = append(kids, k.KeyID)
			}
			if strings.Join(kids, ",") != strings.Join(tc.keys, ",") {
				t.Errorf("kept %v; want %v", kids, tc.keys)
			}
		})
	}
}

func TestVerifyWaitsNoLongerThanItsContext(t *testing.T) {
	e := newEnv(t)
	release := make(chan struct{})
	e.idp.mu.Lock()
	e.idp.block = release
	e.idp.mu.Unlock()
	defer close(release)

	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := e.p.Verify(ctx, e.rs256(nil))
	if reasonOf(t, err) != ReasonKeysUnavailable || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("%v; want %s because of the deadline", err, ReasonKeysUnavailable)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("Verify returned after %s", d)
	}
}

func TestConcurrentCallersShareOneFetch(t *testing.T) {
	e := newEnv(t)
	release := make(chan struct{})
	e.idp.mu.Lock()
	e.idp.block = release
	e.idp.mu.Unlock()

	ctx := context.Background()
	var wg sync.WaitGroup
	for range 20 {
		tok := e.rs256(map[string]any{"jti": randomKid(t)})
		wg.Go(func() {
			if _, err := e.p.Verify(ctx, tok); err != nil {
				t.Error(err)
			}
		})
	}
	// Let the callers pile up on the blocked fetch, then release it.
	deadline := time.Now().Add(2 * time.Second)
	for e.idp.jwksHits.Load() == 0 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	time.Sleep(20 * time.Millisecond)
	close(release)
	wg.Wait()
	if got := e.idp.jwksHits.Load(); got != 1 {
		t.Errorf("%d JWKS requests; want 1", got)
	}
}

func TestStart(t *testing.T) {
	e := newEnv(t, func(c *ProviderConfig) {
		c.JWKSRefresh = 20 * time.Millisecond
		c.JWKSMinRefreshInterval = 5 * time.Millisecond
	})
	e.p.now = time.Now // the refresh timer runs on the real clock
	ctx, cancel := context.WithCancel(context.Background())
	e.p.Start(ctx)
	e.p.Start(ctx) // ignored
	waitFor(t, "the first fetch", func() bool { return e.idp.jwksHits.Load() >= 1 })
	waitFor(t, "periodic refreshes, counted", func() bool { return e.refreshes(outcomeOK) >= 3 })
	if e.logs.FilterMessageSnippet("started twice").Len() != 1 {
		t.Error("the second Start was not logged")
	}
	cancel()
	time.Sleep(50 * time.Millisecond)
	n := e.idp.jwksHits.Load()
	time.Sleep(100 * time.Millisecond)
	if got := e.idp.jwksHits.Load(); got != n {
		t.Errorf("%d refreshes after the context was cancelled", got-n)
	}
}

func TestStartRetriesAfterFailure(t *testing.T) {
	e := newEnv(t, func(c *ProviderConfig) {
		c.JWKSRefresh = time.Hour
		c.JWKSMinRefreshInterval = 10 * time.Millisecond
	})
	e.p.now = time.Now
	e.idp.setStatus(http.StatusInternalServerError)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	e.p.Start(ctx)
	waitFor(t, "retries", func() bool { return e.idp.jwksHits.Load() >= 3 })
	e.idp.setStatus(0)
	waitFor(t, "a good refresh", func() bool { return e.refreshes(outcomeOK) >= 1 })
	if _, err := e.p.Verify(ctx, sign(t, jose.RS256, testKeys().rsa, "rsa-1", claimsAt(e, time.Now()))); err != nil {
		t.Fatal(err)
	}
}

func claimsAt(e *env, now time.Time) map[string]any {
	return e.claims(map[string]any{"iat": now.Unix(), "exp": now.Add(time.Hour).Unix()})
}

func TestRetryDelay(t *testing.T) {
	for _, tc := range []struct {
		failures int
		want     time.Duration
	}{
		{1, 10 * time.Second},
		{2, 20 * time.Second},
		{4, 80 * time.Second},
		{9, 2560 * time.Second},
		{10, time.Hour},
		{1000, time.Hour},
	} {
		if got := retryDelay(10*time.Second, time.Hour, tc.failures); got != tc.want {
			t.Errorf("retryDelay after %d failures = %s; want %s", tc.failures, got, tc.want)
		}
	}
}

func TestKeySetStandalone(t *testing.T) {
	// The key set is an oidc.KeySet in its own right, without the
	// Provider's state in the context.
	e := newEnv(t)
	payload, err := e.p.keys.VerifySignature(context.Background(), e.rs256(nil))
	if err != nil {
		t.Fatal(err)
	}
	var c map[string]any
	if err := json.Unmarshal(payload, &c); err != nil || c["sub"] != "payments-app" {
		t.Errorf("payload %s, %v", payload, err)
	}
	if _, err := e.p.keys.VerifySignature(context.Background(), "x.y.z"); reasonOf(t, err) != ReasonMalformed {
		t.Errorf("%v; want %s", err, ReasonMalformed)
	}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}
