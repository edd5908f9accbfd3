package oauth

import (
	"context"
	"crypto/sha256"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

func TestCachedToken(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name    string
		exp     time.Duration // token lifetime from now
		advance time.Duration
		reason  Reason
		same    bool // the cached *Token is returned
	}{
		{name: "hit", exp: time.Hour, advance: time.Minute, same: true},
		{name: "hit just before exp", exp: time.Minute, advance: time.Minute - time.Second, same: true},
		{name: "past exp, even within the clock skew", exp: time.Minute, advance: time.Minute + time.Second, reason: ReasonExpired},
		{name: "at exp", exp: time.Minute, advance: time.Minute, reason: ReasonExpired},
		{name: "verified a refresh interval ago: verified again", exp: 3 * time.Hour, advance: DefaultJWKSRefresh, same: false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			raw := e.rs256(map[string]any{"exp": e.clock.Now().Add(tc.exp).Unix()})
			first, err := e.p.Verify(ctx, raw)
			if err != nil {
				t.Fatal(err)
			}
			e.clock.Advance(tc.advance)
			tok, err := e.p.Verify(ctx, raw)
			if got := reasonOf(t, err); got != tc.reason {
				t.Fatalf("reason %q (%v); want %q", got, err, tc.reason)
			}
			if err != nil {
				if e.p.cache.len() != 0 {
					t.Error("the expired token stayed cached")
				}
				return
			}
			if tok.Subject != "payments-app" {
				t.Errorf("subject %q", tok.Subject)
			}
			if (tok == first) != tc.same {
				t.Errorf("cached token returned: %v; want %v", tok == first, tc.same)
			}
		})
	}
}

func TestTokenPastExpWithinSkewIsNotCached(t *testing.T) {
	e := newEnv(t)
	raw := e.rs256(map[string]any{"exp": e.clock.Now().Add(-10 * time.Second).Unix()})
	if _, err := e.p.Verify(context.Background(), raw); err != nil {
		t.Fatal(err)
	}
	if n := e.p.cache.len(); n != 0 {
		t.Errorf("%d cached tokens; want none", n)
	}
}

func TestCachedTokensOfRemovedKeyDropped(t *testing.T) {
	km := testKeys()
	e := newEnv(t)
	ctx := context.Background()
	raw := e.rs256(nil)
	if _, err := e.p.Verify(ctx, raw); err != nil {
		t.Fatal(err)
	}
	ec := sign(t, jose.ES256, km.ec, "ec-1", e.claims(nil))
	if _, err := e.p.Verify(ctx, ec); err != nil {
		t.Fatal(err)
	}
	// The provider withdraws rsa-1; the next refresh notices.
	e.idp.publish(publicJWK(km.ec, "ec-1", "ES256"), publicJWK(km.rsa2, "rsa-2", "RS256"))
	if err := e.p.keys.refresh(ctx, true); err != nil {
		t.Fatal(err)
	}
	if _, err := e.p.Verify(ctx, raw); reasonOf(t, err) != ReasonUnknownKey {
		t.Fatalf("token of the removed key: %v; want %s", err, ReasonUnknownKey)
	}
	if _, err := e.p.Verify(ctx, ec); err != nil {
		t.Fatalf("token of a kept key: %v", err)
	}
	if n := e.p.cache.len(); n != 1 {
		t.Errorf("%d cached tokens; want 1", n)
	}
}

func TestCacheBounded(t *testing.T) {
	for _, size := range []int{1, 5, 200} {
		e := newEnv(t, func(c *ProviderConfig) { c.CacheSize = size })
		for i := range size + 20 {
			if _, err := e.p.Verify(context.Background(), e.rs256(map[string]any{"jti": i})); err != nil {
				t.Fatal(err)
			}
		}
		// One shard fills exactly; with several, the tokens spread unevenly.
		n := e.p.cache.len()
		if n > size || len(e.p.cache.shards) == 1 && n != size {
			t.Errorf("cache size %d: %d cached tokens", size, n)
		}
	}
}

func TestCacheShards(t *testing.T) {
	for _, tc := range []struct {
		size, shards int
	}{
		{1, 1}, {127, 1}, {128, 2}, {1000, 8}, {DefaultCacheSize, 16}, {1 << 20, 16},
	} {
		c := newTokenCache(tc.size, time.Hour)
		total := 0
		for i := range c.shards {
			total += c.shards[i].limit
		}
		if len(c.shards) != tc.shards || total != tc.size {
			t.Errorf("size %d: %d shards holding %d; want %d holding %d", tc.size, len(c.shards), total, tc.shards, tc.size)
		}
	}
}

func TestCacheEvictsExpiredFirst(t *testing.T) {
	c := newTokenCache(2, time.Hour)
	now := time.Unix(1_900_000_000, 0)
	key := func(s string) *tokenKey { k := tokenKey(sha256.Sum256([]byte(s))); return &k }
	short := &Token{Subject: "short", Expiry: now.Add(time.Minute)}
	long := &Token{Subject: "long", Expiry: now.Add(time.Hour)}
	c.add(key("short"), short, now)
	c.add(key("long"), long, now)
	later := now.Add(2 * time.Minute)
	c.add(key("new"), &Token{Subject: "new", Expiry: later.Add(time.Hour)}, later)
	if tok, st := c.lookup(key("long"), later); st != cacheHit || tok != long {
		t.Errorf("the live entry was evicted instead of the expired one")
	}
	if _, st := c.lookup(key("new"), later); st != cacheHit {
		t.Errorf("the new entry is missing")
	}
}
