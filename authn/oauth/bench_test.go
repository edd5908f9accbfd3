package oauth

import (
	"context"
	"testing"
	"time"
)

func BenchmarkVerifyCached(b *testing.B) {
	e := newEnv(b)
	e.p.now = time.Now
	ctx := context.Background()
	raw := e.rs256(claimsAt(e, time.Now()))
	if _, err := e.p.Verify(ctx, raw); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := e.p.Verify(ctx, raw); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkVerifyUncached is the full path of an RS256 token that is not
// cached: shape checks, signature, claims, and the cache insert.
func BenchmarkVerifyUncached(b *testing.B) {
	// A one-entry cache and more tokens than that: every Verify misses.
	e := newEnv(b, func(c *ProviderConfig) { c.CacheSize = 1 })
	e.p.now = time.Now
	ctx := context.Background()
	tokens := make([]string, 16)
	for i := range tokens {
		c := claimsAt(e, time.Now())
		c["jti"] = i
		tokens[i] = e.rs256(c)
	}
	if _, err := e.p.Verify(ctx, tokens[0]); err != nil { // fetches the keys
		b.Fatal(err)
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if _, err := e.p.Verify(ctx, tokens[i%len(tokens)]); err != nil {
			b.Fatal(err)
		}
		i++
	}
}
