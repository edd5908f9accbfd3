//go:build integration

package oidc_test

import (
	"context"
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/kafka-auth-proxy/kafka-auth-proxy/integration/oidc"
)

type jwtHeader struct {
	Alg string `json:"alg"`
	Typ string `json:"typ"`
	Kid string `json:"kid"`
}

type jwtClaims struct {
	Iss      string          `json:"iss"`
	Sub      string          `json:"sub"`
	Aud      json.RawMessage `json:"aud"` // a string or an array
	Exp      int64           `json:"exp"`
	Iat      int64           `json:"iat"`
	Jti      string          `json:"jti"`
	ClientID string          `json:"client_id"`
	Groups   *[]string       `json:"groups"`
}

func (c jwtClaims) audiences() ([]string, error) {
	var one string
	if err := json.Unmarshal(c.Aud, &one); err == nil {
		return []string{one}, nil
	}
	var many []string
	if err := json.Unmarshal(c.Aud, &many); err != nil {
		return nil, fmt.Errorf("aud %s is neither a string nor an array of strings: %w", c.Aud, err)
	}
	return many, nil
}

// fetchRSAKeys fetches the JWKS and parses its RSA keys by kid, with the
// standard library only.
func fetchRSAKeys(t *testing.T, jwksURI string) map[string]*rsa.PublicKey {
	t.Helper()
	resp, err := http.Get(jwksURI)
	if err != nil {
		t.Fatalf("GET %s: %v", jwksURI, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: status %d", jwksURI, resp.StatusCode)
	}
	var set struct {
		Keys []struct {
			Kty string `json:"kty"`
			Kid string `json:"kid"`
			Use string `json:"use"`
			Alg string `json:"alg"`
			N   string `json:"n"`
			E   string `json:"e"`
			D   string `json:"d"`
		} `json:"keys"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&set); err != nil {
		t.Fatalf("decoding the JWKS: %v", err)
	}
	keys := map[string]*rsa.PublicKey{}
	for _, k := range set.Keys {
		if k.D != "" {
			t.Fatalf("the JWKS leaks a private key (kid %q)", k.Kid)
		}
		if k.Kty != "RSA" {
			continue
		}
		n, err := base64.RawURLEncoding.DecodeString(k.N)
		if err != nil {
			t.Fatalf("kid %q: decoding n: %v", k.Kid, err)
		}
		e, err := base64.RawURLEncoding.DecodeString(k.E)
		if err != nil {
			t.Fatalf("kid %q: decoding e: %v", k.Kid, err)
		}
		keys[k.Kid] = &rsa.PublicKey{N: new(big.Int).SetBytes(n), E: int(new(big.Int).SetBytes(e).Int64())}
	}
	if len(keys) == 0 {
		t.Fatalf("the JWKS at %s has no RSA key", jwksURI)
	}
	return keys
}

// verifyRS256 checks the token's signature against keys and returns its
// header and claims.
func verifyRS256(token string, keys map[string]*rsa.PublicKey) (jwtHeader, jwtClaims, error) {
	var h jwtHeader
	var c jwtClaims
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return h, c, fmt.Errorf("token has %d parts, want 3 (is it a JWT?)", len(parts))
	}
	hb, err := base64.RawURLEncoding.DecodeString(parts[0])
	if err != nil {
		return h, c, fmt.Errorf("decoding the header: %w", err)
	}
	if err := json.Unmarshal(hb, &h); err != nil {
		return h, c, fmt.Errorf("parsing the header: %w", err)
	}
	if h.Alg != "RS256" {
		return h, c, fmt.Errorf("alg %q, want RS256", h.Alg)
	}
	key, ok := keys[h.Kid]
	if !ok {
		return h, c, fmt.Errorf("kid %q is not in the JWKS", h.Kid)
	}
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil {
		return h, c, fmt.Errorf("decoding the signature: %w", err)
	}
	digest := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	if err := rsa.VerifyPKCS1v15(key, crypto.SHA256, digest[:], sig); err != nil {
		return h, c, fmt.Errorf("verifying the signature: %w", err)
	}
	cb, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return h, c, fmt.Errorf("decoding the claims: %w", err)
	}
	if err := json.Unmarshal(cb, &c); err != nil {
		return h, c, fmt.Errorf("parsing the claims: %w", err)
	}
	return h, c, nil
}

func checkToken(t *testing.T, p *oidc.Provider, keys map[string]*rsa.PublicKey, token, clientID string, wantGroups []string) {
	t.Helper()
	h, c, err := verifyRS256(token, keys)
	if err != nil {
		t.Fatalf("%s: %v", clientID, err)
	}
	if h.Kid != p.KeyID {
		t.Errorf("%s: kid %q, want %q", clientID, h.Kid, p.KeyID)
	}
	if h.Typ != "at+jwt" {
		t.Errorf("%s: typ %q, want at+jwt", clientID, h.Typ)
	}
	if c.Iss != p.Issuer {
		t.Errorf("%s: iss %q, want %q", clientID, c.Iss, p.Issuer)
	}
	auds, err := c.audiences()
	if err != nil {
		t.Fatalf("%s: %v", clientID, err)
	}
	if !slices.Equal(auds, []string{p.Audience}) {
		t.Errorf("%s: aud %v, want [%s]", clientID, auds, p.Audience)
	}
	if c.Sub != clientID || c.ClientID != clientID {
		t.Errorf("%s: sub %q, client_id %q, want both %q", clientID, c.Sub, c.ClientID, clientID)
	}
	if c.Jti == "" {
		t.Errorf("%s: no jti", clientID)
	}
	now := time.Now().Unix()
	if c.Iat > now+5 || c.Iat < now-60 {
		t.Errorf("%s: iat %d is not about now (%d)", clientID, c.Iat, now)
	}
	if c.Exp <= now {
		t.Errorf("%s: exp %d is not in the future (now %d)", clientID, c.Exp, now)
	}
	if got := time.Duration(c.Exp-c.Iat) * time.Second; got != p.TokenTTL {
		t.Errorf("%s: exp-iat = %v, want %v", clientID, got, p.TokenTTL)
	}
	switch {
	case wantGroups == nil && c.Groups != nil:
		t.Errorf("%s: groups %v, want no groups claim", clientID, *c.Groups)
	case wantGroups != nil && c.Groups == nil:
		t.Errorf("%s: no groups claim, want %v", clientID, wantGroups)
	case wantGroups != nil && !slices.Equal(*c.Groups, wantGroups):
		t.Errorf("%s: groups %v, want %v", clientID, *c.Groups, wantGroups)
	}
}

func TestProviderDefaults(t *testing.T) {
	start := time.Now()
	p := oidc.StartT(t, oidc.Options{})
	t.Logf("provider up in %v: issuer %s, jwks %s, token %s, kid %s",
		time.Since(start).Round(time.Millisecond), p.Issuer, p.JWKSURI, p.TokenURL, p.KeyID)
	if !strings.HasPrefix(p.Issuer, "http://127.0.0.1:") {
		t.Fatalf("issuer %q is not on loopback", p.Issuer)
	}
	if p.Audience != oidc.DefaultAudience || p.TokenTTL != oidc.DefaultTokenTTL {
		t.Fatalf("audience %q, TTL %v; want the defaults", p.Audience, p.TokenTTL)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	keys := fetchRSAKeys(t, p.JWKSURI)
	raw, err := p.JWKS(ctx)
	if err != nil || !strings.Contains(string(raw), p.KeyID) {
		t.Fatalf("JWKS() = %.200s, %v; want the key set with kid %s", raw, err, p.KeyID)
	}

	cases := []struct {
		id, secret string
		groups     []string
	}{
		{oidc.PaymentsClientID, oidc.PaymentsClientSecret, []string{"payments"}},
		{oidc.AnalyticsClientID, oidc.AnalyticsClientSecret, []string{"analytics"}},
		{oidc.NoGroupsClientID, oidc.NoGroupsClientSecret, nil},
	}
	tokens := map[string]string{}
	for _, tc := range cases {
		tok, err := p.Token(ctx, tc.id, tc.secret)
		if err != nil {
			t.Fatalf("Token(%s): %v", tc.id, err)
		}
		checkToken(t, p, keys, tok, tc.id, tc.groups)
		tokens[tc.id] = tok
	}
	if tokens[oidc.PaymentsClientID] == tokens[oidc.AnalyticsClientID] {
		t.Error("two clients got the same token")
	}

	// A tampered payload must fail verification.
	parts := strings.Split(tokens[oidc.PaymentsClientID], ".")
	forged := strings.Replace(mustDecode(t, parts[1]), `"payments"`, `"admins"`, 1)
	parts[1] = base64.RawURLEncoding.EncodeToString([]byte(forged))
	if _, _, err := verifyRS256(strings.Join(parts, "."), keys); err == nil {
		t.Error("a token with a rewritten groups claim still verified")
	}

	// A wrong secret is rejected with invalid_client.
	_, err = p.Token(ctx, oidc.PaymentsClientID, "wrong-secret")
	var te *oidc.TokenError
	if !errors.As(err, &te) || te.Code != "invalid_client" {
		t.Errorf("Token with a wrong secret: err %v, want a TokenError invalid_client", err)
	}
	_, err = p.Token(ctx, "unknown-app", "x")
	if !errors.As(err, &te) || te.Code != "invalid_client" {
		t.Errorf("Token for an unknown client: err %v, want a TokenError invalid_client", err)
	}

	// Stop is idempotent, and the provider is gone afterwards.
	if err := p.Stop(); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	if err := p.Stop(); err != nil {
		t.Fatalf("second Stop: %v", err)
	}
	if _, err := http.Get(p.DiscoveryURL); err == nil {
		t.Error("the provider still answers after Stop")
	}
}

func TestProviderOptions(t *testing.T) {
	p := oidc.StartT(t, oidc.Options{
		Audience: "urn:test:kafka-cluster",
		TokenTTL: 90 * time.Second,
		Clients: []oidc.Client{
			{ID: "ops-app", Secret: "s3cr3t with spaces&symbols", Groups: []string{"ops", "payments"}},
		},
	})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	keys := fetchRSAKeys(t, p.JWKSURI)
	tok, err := p.Token(ctx, "ops-app", "s3cr3t with spaces&symbols")
	if err != nil {
		t.Fatalf("Token(ops-app): %v", err)
	}
	checkToken(t, p, keys, tok, "ops-app", []string{"ops", "payments"})
	if _, err := p.Token(ctx, oidc.PaymentsClientID, oidc.PaymentsClientSecret); err == nil {
		t.Error("a default client got a token although Options.Clients replaced them")
	}
}

func mustDecode(t *testing.T, s string) string {
	t.Helper()
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		t.Fatalf("decoding %q: %v", s, err)
	}
	return string(b)
}
