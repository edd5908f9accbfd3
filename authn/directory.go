package authn

import (
	"fmt"
	"sync"
	"time"

	"github.com/kafka-auth-proxy/kafka-auth-proxy/authn/apikey"
	"github.com/kafka-auth-proxy/kafka-auth-proxy/authn/oauth"
	"github.com/kafka-auth-proxy/kafka-auth-proxy/authn/pool"
)

// directory is one immutable snapshot of every credential a login is checked
// against. The Authenticator swaps whole snapshots, so a login sees either
// the old or the new credentials, never a mix.
type directory struct {
	keys       map[string]*keyEntry // by key id
	accounts   map[string]bool
	providers  map[string]*oauth.Provider // by issuer
	pools      *pool.Set
	mechanisms map[string][]string // enabled on each listener, by name

	// poolHits remembers which pool verified tokens landed in, so that the
	// many connections of one client with one token evaluate no CEL.
	poolHits poolMemo

	// Settings that take effect with the snapshot.
	clusterID   string // configured; "" means the upstream's
	maxLifetime time.Duration
	delay       time.Duration
}

// keyEntry is one API key as the login path needs it.
type keyEntry struct {
	id      string
	account string
	cluster string
	hash    apikey.Hash
}

// buildKeys indexes the keys and accounts. Problems with individual keys
// are returned as warnings and the key is skipped, so one bad entry never
// locks everybody out.
func buildKeys(cfg Config) (keys map[string]*keyEntry, accounts map[string]bool, warnings []error) {
	keys = map[string]*keyEntry{}
	accounts = map[string]bool{}
	for _, a := range cfg.Accounts {
		accounts[a] = true
	}
	for _, k := range cfg.Keys {
		if !apikey.ValidKeyID(k.ID) {
			warnings = append(warnings, fmt.Errorf("key %q: invalid key id; skipped", k.ID))
			continue
		}
		h, err := apikey.ParseHash(k.SecretHash)
		if err != nil {
			warnings = append(warnings, fmt.Errorf("key %s: %w; skipped", k.ID, err))
			continue
		}
		keys[k.ID] = &keyEntry{id: k.ID, account: k.Account, cluster: k.Cluster, hash: h}
	}
	return keys, accounts, warnings
}

// stillValid reports whether an authenticated identity's credential is
// still in d: its key and account for PLAIN, its pool for OAUTHBEARER.
func (d *directory) stillValid(id *Identity) bool {
	switch id.Mechanism {
	case MechanismPlain:
		k, ok := d.keys[id.APIKey]
		return ok && k.account == id.Account && d.accounts[id.Account]
	case MechanismOAuthBearer:
		p, ok := d.pools.Get(id.Pool)
		return ok && p.Provider == id.Provider
	}
	return false
}

// maxPoolHits bounds the pool memo; when full it starts over.
const maxPoolHits = 4096

// poolMemo maps a verified token (the provider's cached *oauth.Token, so
// equal tokens share a key) and the requested pool to the pool it matched.
// It belongs to one directory, so a change of pools starts a new one.
type poolMemo struct {
	mu sync.Mutex
	m  map[poolKey]poolHit
}

type poolKey struct {
	tok       *oauth.Token
	requested string
}

type poolHit struct {
	pool     *pool.Pool
	identity string
}

func (pm *poolMemo) get(k poolKey) (poolHit, bool) {
	pm.mu.Lock()
	defer pm.mu.Unlock()
	h, ok := pm.m[k]
	return h, ok
}

func (pm *poolMemo) put(k poolKey, h poolHit) {
	pm.mu.Lock()
	defer pm.mu.Unlock()
	if pm.m == nil || len(pm.m) >= maxPoolHits {
		pm.m = make(map[poolKey]poolHit)
	}
	pm.m[k] = h
}

// selectPool is pools.Select, remembered per token.
func (d *directory) selectPool(provider string, requested string, tok *oauth.Token) (*pool.Pool, string, error) {
	k := poolKey{tok, requested}
	if h, ok := d.poolHits.get(k); ok {
		return h.pool, h.identity, nil
	}
	p, identity, err := d.pools.Select(provider, requested, tok.Claims)
	if err == nil {
		d.poolHits.put(k, poolHit{p, identity})
	}
	return p, identity, err
}
