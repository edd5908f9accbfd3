package oauth

import (
	"crypto/sha256"
	"sync"
	"time"
	"unsafe"
)

// Cache sharding: enough shards to spread lock traffic, few enough that
// each holds a useful number of entries.
const (
	maxCacheShards     = 16
	minEntriesPerShard = 64
	// evictScan is how many entries an insert into a full shard looks at
	// for an expired or stale one before evicting an arbitrary one.
	evictScan = 8
)

// tokenKey is the SHA-256 of a raw token.
type tokenKey [sha256.Size]byte

// hashToken returns the cache key of raw. It hashes the string's bytes in
// place: []byte(raw) would copy the token to the heap on every look-up, as
// the slice escapes into crypto/sha256. sha256.Sum256 only reads its input,
// so the string's immutable bytes are never written.
func hashToken(raw string) tokenKey {
	return sha256.Sum256(unsafe.Slice(unsafe.StringData(raw), len(raw)))
}

// tokenCache remembers verified tokens by the SHA-256 of the raw token. An
// entry is good until the token's exp (with no clock skew allowance) and
// for at most maxAge after it was verified. It holds at most the configured
// number of entries; when a shard is full, an insert first drops expired or
// stale entries it comes across and otherwise evicts an arbitrary one (Go's
// map iteration order makes that pseudo-random).
type tokenCache struct {
	shards []cacheShard
	mask   int
	maxAge time.Duration
}

type cacheShard struct {
	mu      sync.RWMutex
	entries map[tokenKey]cacheEntry
	limit   int
	_       [24]byte // keeps shards on separate cache lines
}

type cacheEntry struct {
	tok   *Token
	added time.Time
}

// cacheStatus is the outcome of a look-up.
type cacheStatus int

const (
	cacheMiss cacheStatus = iota
	cacheHit
	cacheExpired // the token is known and its exp has passed
)

func newTokenCache(size int, maxAge time.Duration) *tokenCache {
	n := 1
	for n < maxCacheShards && size/(2*n) >= minEntriesPerShard {
		n *= 2
	}
	c := &tokenCache{shards: make([]cacheShard, n), mask: n - 1, maxAge: maxAge}
	for i := range c.shards {
		limit := size / n
		if i < size%n {
			limit++
		}
		c.shards[i].limit = limit
		c.shards[i].entries = make(map[tokenKey]cacheEntry)
	}
	return c
}

func (c *tokenCache) shard(k *tokenKey) *cacheShard {
	// The key is a SHA-256 digest: any byte of it is uniformly distributed.
	return &c.shards[int(k[0])&c.mask]
}

// lookup returns the cached token for k. A token whose exp is not after now
// is reported as cacheExpired (and returned, for its expiry); one verified
// maxAge or longer ago is dropped and reported as a miss, so it is verified
// again against the current keys.
func (c *tokenCache) lookup(k *tokenKey, now time.Time) (*Token, cacheStatus) {
	s := c.shard(k)
	s.mu.RLock()
	e, ok := s.entries[*k]
	s.mu.RUnlock()
	switch {
	case !ok:
		return nil, cacheMiss
	case !now.Before(e.tok.Expiry):
		s.remove(k, e.tok)
		return e.tok, cacheExpired
	case now.Sub(e.added) >= c.maxAge:
		s.remove(k, e.tok)
		return nil, cacheMiss
	}
	return e.tok, cacheHit
}

// add caches tok, verified at now, under k. Tokens that have already
// expired are not cached.
func (c *tokenCache) add(k *tokenKey, tok *Token, now time.Time) {
	if !now.Before(tok.Expiry) {
		return
	}
	s := c.shard(k)
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.entries[*k]; !ok && len(s.entries) >= s.limit {
		s.evict(now, c.maxAge)
	}
	s.entries[*k] = cacheEntry{tok: tok, added: now}
}

// purgeKeys drops the tokens verified with any of the given key ids.
func (c *tokenCache) purgeKeys(kids map[string]bool) {
	for i := range c.shards {
		s := &c.shards[i]
		s.mu.Lock()
		for k, e := range s.entries {
			if kids[e.tok.KeyID] {
				delete(s.entries, k)
			}
		}
		s.mu.Unlock()
	}
}

// len returns the number of cached tokens.
func (c *tokenCache) len() int {
	n := 0
	for i := range c.shards {
		s := &c.shards[i]
		s.mu.RLock()
		n += len(s.entries)
		s.mu.RUnlock()
	}
	return n
}

// remove deletes k if it still maps to tok (it may have been replaced
// since it was read).
func (s *cacheShard) remove(k *tokenKey, tok *Token) {
	s.mu.Lock()
	if e, ok := s.entries[*k]; ok && e.tok == tok {
		delete(s.entries, *k)
	}
	s.mu.Unlock()
}

// evict makes room for one entry. s.mu must be held.
func (s *cacheShard) evict(now time.Time, maxAge time.Duration) {
	var victim tokenKey
	seen, freed := 0, false
	for k, e := range s.entries {
		if !now.Before(e.tok.Expiry) || now.Sub(e.added) >= maxAge {
			delete(s.entries, k)
			freed = true
		} else if seen == 0 {
			victim = k
		}
		if seen++; seen == evictScan {
			break
		}
	}
	if !freed && seen > 0 {
		delete(s.entries, victim)
	}
}
