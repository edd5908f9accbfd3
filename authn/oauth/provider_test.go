package oauth

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

// TestVerify is the specification of what a token must be to pass.
func TestVerify(t *testing.T) {
	km := testKeys()
	rsaPubPEM := func(t testing.TB) []byte {
		der, err := x509.MarshalPKIXPublicKey(&km.rsa.PublicKey)
		if err != nil {
			t.Fatal(err)
		}
		return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
	}
	tamper := func(tok string) string {
		parts := strings.Split(tok, ".")
		var c map[string]any
		_ = jsonUnmarshalB64(parts[1], &c)
		c["sub"] = "admin"
		parts[1] = b64(mustJSON(c))
		return strings.Join(parts, ".")
	}
	for _, tc := range []struct {
		name   string
		cfg    func(*ProviderConfig)
		token  func(e *env) string
		reason Reason // "" means accepted
	}{
		// Algorithms and keys.
		{name: "valid RS256", token: func(e *env) string { return e.rs256(nil) }},
		{name: "valid ES256", token: func(e *env) string { return sign(t, jose.ES256, km.ec, "ec-1", e.claims(nil)) }},
		{name: "valid EdDSA", token: func(e *env) string { return sign(t, jose.EdDSA, km.ed, "ed-1", e.claims(nil)) }},
		{name: "no kid: verified with the key that fits", token: func(e *env) string { return sign(t, jose.ES256, km.ec, "", e.claims(nil)) }},
		{name: "no kid, wrong key", token: func(e *env) string { return sign(t, jose.RS256, km.stranger, "", e.claims(nil)) }, reason: ReasonSignature},
		{name: "alg none", reason: ReasonAlgorithm, token: func(e *env) string {
			return unsigned(map[string]any{"alg": "none", "kid": "rsa-1"}, e.claims(nil), "")
		}},
		{name: "alg None", reason: ReasonAlgorithm, token: func(e *env) string {
			return unsigned(map[string]any{"alg": "None"}, e.claims(nil), "")
		}},
		{name: "HS256 keyed with the RSA public key", reason: ReasonAlgorithm, token: func(e *env) string {
			return sign(t, jose.HS256, rsaPubPEM(t), "rsa-1", e.claims(nil))
		}},
		{name: "alg not configured", cfg: func(c *ProviderConfig) { c.Algorithms = []string{"ES256"} }, reason: ReasonAlgorithm,
			token: func(e *env) string { return e.rs256(nil) }},
		{name: "alg that does not fit the named key", reason: ReasonAlgorithm,
			token: func(e *env) string { return sign(t, jose.ES256, km.ec, "rsa-1", e.claims(nil)) }},
		{name: "PS256 with a key published for RS256", reason: ReasonAlgorithm,
			token: func(e *env) string { return sign(t, jose.PS256, km.rsa, "rsa-1", e.claims(nil)) }},
		{name: "unknown key", reason: ReasonUnknownKey,
			token: func(e *env) string { return sign(t, jose.RS256, km.stranger, "stranger", e.claims(nil)) }},
		{name: "signed by another key under a published kid", reason: ReasonSignature,
			token: func(e *env) string { return sign(t, jose.RS256, km.stranger, "rsa-1", e.claims(nil)) }},
		{name: "tampered claims", reason: ReasonSignature, token: func(e *env) string { return tamper(e.rs256(nil)) }},

		// Times. The default clock skew is 30s.
		{name: "expired", reason: ReasonExpired, token: func(e *env) string {
			return e.rs256(map[string]any{"exp": e.clock.Now().Add(-time.Hour).Unix()})
		}},
		{name: "expired beyond the skew", reason: ReasonExpired, token: func(e *env) string {
			return e.rs256(map[string]any{"exp": e.clock.Now().Add(-31 * time.Second).Unix()})
		}},
		{name: "expired within the skew", token: func(e *env) string {
			return e.rs256(map[string]any{"exp": e.clock.Now().Add(-20 * time.Second).Unix()})
		}},
		{name: "skew configured", cfg: func(c *ProviderConfig) { c.ClockSkew = 5 * time.Second }, reason: ReasonExpired, token: func(e *env) string {
			return e.rs256(map[string]any{"exp": e.clock.Now().Add(-20 * time.Second).Unix()})
		}},
		{name: "nbf in the future", reason: ReasonNotYetValid, token: func(e *env) string {
			return e.rs256(map[string]any{"nbf": e.clock.Now().Add(time.Hour).Unix()})
		}},
		{name: "nbf within the skew", token: func(e *env) string {
			return e.rs256(map[string]any{"nbf": e.clock.Now().Add(20 * time.Second).Unix()})
		}},
		{name: "iat in the future", reason: ReasonNotYetValid, token: func(e *env) string {
			return e.rs256(map[string]any{"iat": e.clock.Now().Add(time.Hour).Unix()})
		}},
		{name: "missing exp", reason: ReasonMalformed, token: func(e *env) string { return e.rs256(map[string]any{"exp": nil}) }},
		{name: "exp zero", reason: ReasonMalformed, token: func(e *env) string { return e.rs256(map[string]any{"exp": 0}) }},
		{name: "exp not a number", reason: ReasonMalformed, token: func(e *env) string { return e.rs256(map[string]any{"exp": "tomorrow"}) }},
		{name: "fractional exp", token: func(e *env) string {
			return e.rs256(map[string]any{"exp": float64(e.clock.Now().Add(time.Hour).Unix()) + 0.5})
		}},

		// Issuer and audience.
		{name: "wrong issuer", reason: ReasonIssuer, token: func(e *env) string { return e.rs256(map[string]any{"iss": "https://evil.example"}) }},
		{name: "issuer with a trailing slash", reason: ReasonIssuer, token: func(e *env) string { return e.rs256(map[string]any{"iss": e.idp.URL() + "/"}) }},
		{name: "missing issuer", reason: ReasonIssuer, token: func(e *env) string { return e.rs256(map[string]any{"iss": nil}) }},
		{name: "wrong audience", reason: ReasonAudience, token: func(e *env) string { return e.rs256(map[string]any{"aud": "other"}) }},
		{name: "missing audience", reason: ReasonAudience, token: func(e *env) string { return e.rs256(map[string]any{"aud": nil}) }},
		{name: "aud array containing an accepted one", token: func(e *env) string {
			return e.rs256(map[string]any{"aud": []string{"other", "kafka"}})
		}},
		{name: "aud array without an accepted one", reason: ReasonAudience, token: func(e *env) string {
			return e.rs256(map[string]any{"aud": []string{"other", "more"}})
		}},
		{name: "second accepted audience", cfg: func(c *ProviderConfig) { c.Audiences = []string{"kafka", "kafka-eu"} },
			token: func(e *env) string { return e.rs256(map[string]any{"aud": "kafka-eu"}) }},
		{name: "aud of the wrong type", reason: ReasonMalformed, token: func(e *env) string { return e.rs256(map[string]any{"aud": 42}) }},

		// Size and shape.
		{name: "oversized", reason: ReasonTooLarge, token: func(e *env) string {
			return e.rs256(map[string]any{"padding": strings.Repeat("x", 16<<10)})
		}},
		{name: "oversized garbage", reason: ReasonTooLarge, token: func(*env) string { return strings.Repeat("a", 16<<10+1) }},
		{name: "size limit configured", cfg: func(c *ProviderConfig) { c.MaxTokenBytes = 100 }, reason: ReasonTooLarge,
			token: func(e *env) string { return e.rs256(nil) }},
		{name: "empty", reason: ReasonMalformed, token: func(*env) string { return "" }},
		{name: "one part", reason: ReasonMalformed, token: func(*env) string { return "abc" }},
		{name: "two parts", reason: ReasonMalformed, token: func(*env) string { return "abc.def" }},
		{name: "four parts", reason: ReasonMalformed, token: func(e *env) string { return e.rs256(nil) + ".abc" }},
		{name: "bad base64 in the header", reason: ReasonMalformed, token: func(*env) string { return "e!!.e30.c2ln" }},
		{name: "impossible base64 length", reason: ReasonMalformed, token: func(*env) string { return "eyJhbGciOiJSUzI1NiJ9x.e30.c2ln" }},
		{name: "bad base64 in the payload", reason: ReasonMalformed, token: func(e *env) string {
			parts := strings.Split(e.rs256(nil), ".")
			return parts[0] + ".Zm9vY.x" + parts[2]
		}},
		{name: "header not JSON", reason: ReasonMalformed, token: func(*env) string { return b64([]byte("RS256")) + ".e30.c2ln" }},
		{name: "header without alg", reason: ReasonMalformed, token: func(e *env) string { return unsigned(map[string]any{"kid": "rsa-1"}, e.claims(nil), "c2ln") }},
		{name: "signed payload not JSON", reason: ReasonMalformed, token: func(*env) string {
			return sign(t, jose.RS256, km.rsa, "rsa-1", []byte("not json"))
		}},
		{name: "signed payload a JSON array", reason: ReasonMalformed, token: func(*env) string {
			return sign(t, jose.RS256, km.rsa, "rsa-1", []byte("[1,2]"))
		}},
		{name: "signed payload null", reason: ReasonMalformed, token: func(*env) string {
			return sign(t, jose.RS256, km.rsa, "rsa-1", []byte("null"))
		}},
		{name: "whitespace", reason: ReasonMalformed, token: func(e *env) string { return " " + e.rs256(nil) }},
		{name: "line break", reason: ReasonMalformed, token: func(e *env) string { tok := e.rs256(nil); return tok[:10] + "\n" + tok[10:] }},
		{name: "JWS JSON serialization", reason: ReasonMalformed, token: func(e *env) string {
			return `{"payload":"e30","protected":"eyJhbGciOiJSUzI1NiJ9","signature":"c2ln"}`
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var mutate []func(*ProviderConfig)
			if tc.cfg != nil {
				mutate = append(mutate, tc.cfg)
			}
			e := newEnv(t, mutate...)
			raw := tc.token(e)
			tok, err := e.p.Verify(context.Background(), raw)
			if got := reasonOf(t, err); got != tc.reason {
				t.Fatalf("reason %q (%v); want %q", got, err, tc.reason)
			}
			if err != nil {
				t.Log(err)
				if tok != nil {
					t.Errorf("a token came with the error")
				}
				if strings.Contains(err.Error(), raw) && raw != "" {
					t.Errorf("the error quotes the token")
				}
				return
			}
			if tok.Subject != "payments-app" || tok.Issuer != e.idp.URL() || tok.KeyID == "" {
				t.Errorf("token %+v", tok)
			}
			if tok.Expiry.Unix() != int64(tok.Claims["exp"].(float64)) {
				t.Errorf("expiry %s; claim %v", tok.Expiry, tok.Claims["exp"])
			}
			if g, ok := tok.Claims["groups"].([]any); !ok || len(g) != 1 || g[0] != "payments" {
				t.Errorf("groups claim %#v", tok.Claims["groups"])
			}
			for _, entry := range e.logs.All() {
				if strings.Contains(entry.Message, raw) || strings.Contains(toString(entry.ContextMap()), raw) {
					t.Errorf("the token was logged: %s", entry.Message)
				}
			}
		})
	}
}

func TestVerifyReportsKeyID(t *testing.T) {
	e := newEnv(t)
	for _, tc := range []struct {
		name, token, kid string
	}{
		{"kid in the header", e.rs256(nil), "rsa-1"},
		{"no kid: the key that verified", sign(t, jose.EdDSA, testKeys().ed, "", e.claims(nil)), "ed-1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tok, err := e.p.Verify(context.Background(), tc.token)
			if err != nil {
				t.Fatal(err)
			}
			if tok.KeyID != tc.kid {
				t.Errorf("KeyID %q; want %q", tok.KeyID, tc.kid)
			}
		})
	}
}

func TestName(t *testing.T) {
	if got := newEnv(t).p.Name(); got != "corp" {
		t.Errorf("Name() = %q", got)
	}
}

func TestErrorFormatting(t *testing.T) {
	for _, tc := range []struct {
		err  *Error
		want string
	}{
		{&Error{Reason: ReasonExpired}, "oauth: token refused: expired"},
		{refuse(ReasonIssuer, "iss %q", "x"), `oauth: token refused: wrong_issuer: iss "x"`},
	} {
		if got := tc.err.Error(); got != tc.want {
			t.Errorf("Error() = %q; want %q", got, tc.want)
		}
		if ReasonOf(tc.err) != tc.err.Reason {
			t.Errorf("ReasonOf(%v) = %q", tc.err, ReasonOf(tc.err))
		}
	}
	if clip(strings.Repeat("k", 1000)) == strings.Repeat("k", 1000) {
		t.Error("clip does not shorten long strings")
	}
}
