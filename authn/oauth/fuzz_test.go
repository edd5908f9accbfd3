package oauth

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

// FuzzVerify feeds arbitrary strings to Verify: it must not panic, and
// must refuse them with an *Error.
func FuzzVerify(f *testing.F) {
	e := newEnv(f)
	e.p.now = time.Now
	claims := claimsAt(e, time.Now())
	good := e.rs256(claims)
	parts := strings.Split(good, ".")
	for _, seed := range []string{
		"", ".", "..", "a.b.c", "e30.e30.e30", "eyJhbGciOiJub25lIn0.e30.",
		parts[0] + "." + parts[1] + ".AAAA", // bad signature
		parts[0] + "." + parts[1] + ".",     // no signature
		parts[0] + ".e30." + parts[2],       // swapped payload
		sign(f, jose.RS256, testKeys().stranger, "rsa-1", claims),
		sign(f, jose.RS256, testKeys().stranger, "unknown", claims),
		unsigned(map[string]any{"alg": "RS256", "kid": "rsa-1", "crit": []string{"exp"}}, claims, parts[2]),
		unsigned(map[string]any{"alg": "ES256", "kid": "ec-1"}, claims, strings.Repeat("A", 86)),
		`{"payload":"e30","signatures":[]}`,
	} {
		f.Add(seed)
	}
	ctx := context.Background()
	f.Fuzz(func(t *testing.T, raw string) {
		if raw == good {
			t.Skip()
		}
		tok, err := e.p.Verify(ctx, raw)
		var oe *Error
		if err == nil || tok != nil || !errors.As(err, &oe) || oe.Reason == "" {
			t.Fatalf("Verify(%q) = %v, %v; want an *Error", raw, tok, err)
		}
	})
}
