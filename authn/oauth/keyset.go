package oauth

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	jose "github.com/go-jose/go-jose/v4"
	"go.uber.org/zap"
)

// fetchTimeout bounds one key fetch (discovery included) even if the HTTP
// client has no timeout of its own.
const fetchTimeout = 30 * time.Second

// errCooldown is returned by refresh when an on-demand fetch is not allowed
// yet.
var errCooldown = errors.New("JWKS refresh not due yet")

// keySet holds an identity provider's signing keys and verifies JWS
// signatures with them. It implements oidc.KeySet.
//
// Unlike oidc.RemoteKeySet it never fetches more than once per
// minInterval on behalf of tokens (an unknown kid must not let anyone make
// the proxy hammer the identity provider), concurrent callers share one
// in-flight fetch, and a failed fetch keeps the keys fetched before.
type keySet struct {
	name        string
	issuer      string
	jwksURI     string // configured; "" means discover
	client      *http.Client
	algs        []string
	joseAlgs    []jose.SignatureAlgorithm // algs, for go-jose
	minInterval time.Duration
	now         func() time.Time
	log         *zap.Logger
	metrics     *Metrics
	// onRemoved is told the key ids a refresh dropped.
	onRemoved func(kids map[string]bool)

	snap atomic.Pointer[keySnapshot] // nil until the first successful fetch

	mu         sync.Mutex
	inflight   *fetchCall
	lastFetch  time.Time // start of the latest fetch, for the cooldown
	lastErr    error     // outcome of the latest fetch
	discovered string    // jwks_uri found by discovery
}

var _ oidc.KeySet = (*keySet)(nil)

// keySnapshot is one fetched JWKS, never modified once published.
type keySnapshot struct {
	set   jose.JSONWebKeySet
	byKID map[string][]int // indexes into set.Keys
}

func newSnapshot(set jose.JSONWebKeySet) *keySnapshot {
	s := &keySnapshot{set: set, byKID: make(map[string][]int, len(set.Keys))}
	for i, k := range set.Keys {
		s.byKID[k.KeyID] = append(s.byKID[k.KeyID], i)
	}
	return s
}

// fetchCall is one fetch that concurrent callers wait for together.
type fetchCall struct {
	done chan struct{}
	err  error // set before done is closed
}

// verifyState carries a token through oidc.IDTokenVerifier.Verify to the
// key set and back. The verifier flattens the key set's error into a
// string, so the key set leaves its *Error (and what it learnt) here.
type verifyState struct {
	raw string
	jws *jose.JSONWebSignature

	checked bool   // VerifySignature ran
	err     *Error // why it refused the token
	payload []byte // the verified payload
	kid     string // id of the key that verified it
}

type verifyStateKey struct{}

// VerifySignature implements oidc.KeySet: it verifies the compact JWS jwt
// with the published key its kid names (or, without a kid, any published
// key that fits its alg) and returns the payload.
func (k *keySet) VerifySignature(ctx context.Context, jwt string) ([]byte, error) {
	st, _ := ctx.Value(verifyStateKey{}).(*verifyState)
	var jws *jose.JSONWebSignature
	if st != nil && st.raw == jwt {
		jws = st.jws
	} else {
		var err error
		if jws, err = jose.ParseSignedCompact(jwt, k.joseAlgs); err != nil {
			return nil, refuse(ReasonMalformed, "not a compact JWS: %w", err)
		}
	}
	payload, kid, e := k.verify(ctx, jws)
	if st != nil {
		st.checked, st.err, st.payload, st.kid = true, e, payload, kid
	}
	if e != nil {
		return nil, e
	}
	return payload, nil
}

// verify returns the payload of jws and the kid of the key that verified
// it.
func (k *keySet) verify(ctx context.Context, jws *jose.JSONWebSignature) ([]byte, string, *Error) {
	if len(jws.Signatures) != 1 {
		return nil, "", refuse(ReasonMalformed, "JWS has %d signatures; want 1", len(jws.Signatures))
	}
	h := jws.Signatures[0].Header
	alg, kid := h.Algorithm, h.KeyID
	if !slices.Contains(k.algs, alg) {
		return nil, "", refuse(ReasonAlgorithm, "alg %q is not allowed", clip(alg))
	}
	snap, e := k.current(ctx)
	if e != nil {
		return nil, "", e
	}
	if kid == "" {
		return verifyAny(snap, jws, alg)
	}
	idx := snap.byKID[kid]
	if len(idx) == 0 {
		if snap, e = k.refreshForUnknown(ctx, kid); e != nil {
			return nil, "", e
		}
		idx = snap.byKID[kid]
	}
	fits := false
	for _, i := range idx {
		key := &snap.set.Keys[i]
		if !keyFits(key, alg) {
			continue
		}
		fits = true
		if payload, err := jws.Verify(key.Key); err == nil {
			return payload, kid, nil
		}
	}
	if !fits {
		return nil, "", refuse(ReasonAlgorithm, "alg %s does not fit the published key %q", alg, clip(kid))
	}
	return nil, "", refuse(ReasonSignature, "signature does not verify with key %q", clip(kid))
}

// verifyAny verifies a token without a kid with each key that fits its alg.
func verifyAny(snap *keySnapshot, jws *jose.JSONWebSignature, alg string) ([]byte, string, *Error) {
	tried := 0
	for i := range snap.set.Keys {
		key := &snap.set.Keys[i]
		if !keyFits(key, alg) {
			continue
		}
		tried++
		if payload, err := jws.Verify(key.Key); err == nil {
			return payload, key.KeyID, nil
		}
	}
	if tried == 0 {
		return nil, "", refuse(ReasonUnknownKey, "token has no kid and no published key fits alg %s", alg)
	}
	return nil, "", refuse(ReasonSignature, "token has no kid and its signature verifies with none of the %d published keys for alg %s", tried, alg)
}

// keyFits reports whether key may verify signatures made with alg.
func keyFits(key *jose.JSONWebKey, alg string) bool {
	if key.Use != "" && key.Use != "sig" {
		return false
	}
	if key.Algorithm != "" && key.Algorithm != alg {
		return false
	}
	switch pub := key.Key.(type) {
	case *rsa.PublicKey:
		return strings.HasPrefix(alg, "RS") || strings.HasPrefix(alg, "PS")
	case *ecdsa.PublicKey:
		switch alg {
		case "ES256":
			return pub.Curve == elliptic.P256()
		case "ES384":
			return pub.Curve == elliptic.P384()
		case "ES512":
			return pub.Curve == elliptic.P521()
		}
	case ed25519.PublicKey:
		return alg == "EdDSA"
	}
	return false
}

// current returns the keys, fetching them first if there are none yet.
func (k *keySet) current(ctx context.Context) (*keySnapshot, *Error) {
	if s := k.snap.Load(); s != nil {
		return s, nil
	}
	err := k.refresh(ctx, false)
	if s := k.snap.Load(); s != nil {
		return s, nil
	}
	if errors.Is(err, errCooldown) {
		k.mu.Lock()
		err = k.lastErr
		k.mu.Unlock()
		if err == nil { // the only fetch is still running, for another caller
			err = errCooldown
		}
		return nil, refuse(ReasonKeysUnavailable, "no signing keys fetched yet; last attempt: %w", err)
	}
	return nil, refuse(ReasonKeysUnavailable, "no signing keys fetched yet: %w", err)
}

// refreshForUnknown refreshes the keys because a token names kid, which is
// not among them, and returns the new keys.
func (k *keySet) refreshForUnknown(ctx context.Context, kid string) (*keySnapshot, *Error) {
	err := k.refresh(ctx, false)
	switch {
	case errors.Is(err, errCooldown):
		return nil, refuse(ReasonUnknownKey, "key %q is not published (keys were fetched less than %s ago)", clip(kid), k.minInterval)
	case err != nil:
		return nil, refuse(ReasonKeysUnavailable, "key %q is not among the cached keys, which could not be refreshed: %w", clip(kid), err)
	}
	s := k.snap.Load()
	if len(s.byKID[kid]) == 0 {
		return nil, refuse(ReasonUnknownKey, "key %q is not published", clip(kid))
	}
	return s, nil
}

// refresh fetches the keys, or waits for the fetch already running. Unless
// forced, it returns errCooldown without fetching if the latest fetch
// started less than minInterval ago. The fetch itself is not cancelled with
// ctx, as other callers may be waiting for it, except for a forced one,
// which is the periodic refresh bound to Start's context.
func (k *keySet) refresh(ctx context.Context, force bool) error {
	k.mu.Lock()
	c := k.inflight
	if c == nil {
		now := k.now()
		if !force && !k.lastFetch.IsZero() && now.Sub(k.lastFetch) < k.minInterval {
			k.mu.Unlock()
			return errCooldown
		}
		c = &fetchCall{done: make(chan struct{})}
		k.inflight, k.lastFetch = c, now
		parent := ctx
		if !force {
			parent = context.WithoutCancel(ctx)
		}
		go k.runFetch(parent, c)
	}
	k.mu.Unlock()
	select {
	case <-c.done:
		return c.err
	case <-ctx.Done():
		return fmt.Errorf("waiting for the JWKS: %w", ctx.Err())
	}
}

func (k *keySet) runFetch(parent context.Context, c *fetchCall) {
	ctx, cancel := context.WithTimeout(parent, fetchTimeout)
	defer cancel()
	err := k.fetch(ctx)
	switch {
	case err != nil && parent.Err() != nil:
		// Start's context is done: shutting down, not an outage.
		k.log.Debug("JWKS refresh abandoned", zap.Error(err))
	case err != nil:
		k.metrics.refreshed(k.name, err)
		n := 0
		if s := k.snap.Load(); s != nil {
			n = len(s.set.Keys)
		}
		k.log.Warn("cannot refresh the identity provider's signing keys; keeping the cached ones",
			zap.Int("cached_keys", n), zap.Error(err))
	default:
		k.metrics.refreshed(k.name, nil)
	}
	k.mu.Lock()
	k.inflight, k.lastErr = nil, err
	k.mu.Unlock()
	c.err = err
	close(c.done)
}

// fetch reads the JWKS (discovering where it is first, if need be) and
// publishes its usable keys.
func (k *keySet) fetch(ctx context.Context) error {
	uri, err := k.jwksURL(ctx)
	if err != nil {
		return err
	}
	body, err := getDocument(ctx, k.client, uri)
	if err != nil {
		if k.jwksURI == "" {
			// Perhaps the provider moved its keys: discover again next time.
			k.mu.Lock()
			k.discovered = ""
			k.mu.Unlock()
		}
		return fmt.Errorf("fetch JWKS: %w", err)
	}
	set, skipped, err := parseJWKS(body)
	if err != nil {
		return fmt.Errorf("JWKS from %s: %w", uri, err)
	}
	for _, s := range skipped {
		k.log.Warn("JWKS entry refused", zap.String("jwks_uri", uri), zap.Error(s))
	}
	if len(set.Keys) == 0 {
		return fmt.Errorf("JWKS from %s has no usable signing keys", uri)
	}
	next := newSnapshot(set)
	prev := k.snap.Swap(next)
	k.metrics.setKeys(k.name, len(set.Keys))

	added, removed := diffKIDs(prev, next)
	if len(removed) > 0 && k.onRemoved != nil {
		k.onRemoved(removed)
	}
	if prev == nil || len(added) > 0 || len(removed) > 0 {
		k.log.Info("identity provider signing keys loaded", zap.String("jwks_uri", uri),
			zap.Int("keys", len(set.Keys)), zap.Strings("added", sortedKeys(added)), zap.Strings("removed", sortedKeys(removed)))
	} else {
		k.log.Debug("identity provider signing keys refreshed, unchanged", zap.Int("keys", len(set.Keys)))
	}
	return nil
}

// jwksURL returns the configured or discovered JWKS location.
func (k *keySet) jwksURL(ctx context.Context) (string, error) {
	if k.jwksURI != "" {
		return k.jwksURI, nil
	}
	k.mu.Lock()
	u := k.discovered
	k.mu.Unlock()
	if u != "" {
		return u, nil
	}
	u, err := discoverJWKSURI(ctx, k.client, k.issuer)
	if err != nil {
		return "", fmt.Errorf("OIDC discovery: %w", err)
	}
	k.log.Info("discovered the identity provider's jwks_uri", zap.String("jwks_uri", u))
	k.mu.Lock()
	k.discovered = u
	k.mu.Unlock()
	return u, nil
}

// run refreshes the keys now and then every interval until ctx is done.
// After a failure it retries sooner: minInterval, doubling up to interval.
func (k *keySet) run(ctx context.Context, interval time.Duration) {
	t := time.NewTimer(0)
	defer t.Stop()
	failures := 0
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		err := k.refresh(ctx, true)
		if ctx.Err() != nil {
			return
		}
		next := interval
		if err != nil {
			failures++
			next = retryDelay(k.minInterval, interval, failures)
		} else {
			failures = 0
		}
		t.Reset(next)
	}
}

// retryDelay is base doubled for each failure after the first, at most limit.
func retryDelay(base, limit time.Duration, failures int) time.Duration {
	d := base
	for i := 1; i < failures && d < limit; i++ {
		d *= 2
	}
	return min(d, limit)
}

// parseJWKS decodes a JWKS document, keeping the public signing keys go-jose
// can use. Entries that are symmetric, private, for encryption, invalid or
// of an unsupported type are left out and returned as skipped; only a
// document that is not a JWKS at all is an error.
func parseJWKS(body []byte) (set jose.JSONWebKeySet, skipped []error, err error) {
	var doc struct {
		Keys []json.RawMessage `json:"keys"`
	}
	if err := json.Unmarshal(body, &doc); err != nil {
		return set, nil, fmt.Errorf("not a JWKS document: %w", err)
	}
	if doc.Keys == nil {
		return set, nil, errors.New(`not a JWKS document: no "keys" array`)
	}
	for i, raw := range doc.Keys {
		var probe struct {
			Kty string `json:"kty"`
			Kid string `json:"kid"`
		}
		_ = json.Unmarshal(raw, &probe)
		skip := func(format string, args ...any) {
			skipped = append(skipped, fmt.Errorf("key %d (kid %q, kty %q): %s", i, clip(probe.Kid), clip(probe.Kty), fmt.Sprintf(format, args...)))
		}
		if probe.Kty == "oct" {
			skip("symmetric keys are refused: a published secret lets anyone issue tokens")
			continue
		}
		var key jose.JSONWebKey
		if err := key.UnmarshalJSON(raw); err != nil {
			skip("%v", err)
			continue
		}
		switch key.Key.(type) {
		case *rsa.PublicKey, *ecdsa.PublicKey, ed25519.PublicKey:
		case *rsa.PrivateKey, *ecdsa.PrivateKey, ed25519.PrivateKey:
			skip("private keys are refused: a published private key lets anyone issue tokens")
			continue
		default:
			skip("unsupported key type %T", key.Key)
			continue
		}
		if key.Use != "" && key.Use != "sig" {
			// An encryption key: providers such as Keycloak publish one
			// beside their signing keys. It is not ours to use, and not
			// worth a warning at every refresh.
			continue
		}
		if !key.Valid() {
			skip("invalid key parameters")
			continue
		}
		set.Keys = append(set.Keys, key)
	}
	return set, skipped, nil
}

// diffKIDs returns the key ids in next but not prev, and the other way
// round.
func diffKIDs(prev, next *keySnapshot) (added, removed map[string]bool) {
	added, removed = map[string]bool{}, map[string]bool{}
	for kid := range next.byKID {
		if prev == nil || prev.byKID[kid] == nil {
			added[kid] = true
		}
	}
	if prev != nil {
		for kid := range prev.byKID {
			if next.byKID[kid] == nil {
				removed[kid] = true
			}
		}
	}
	return added, removed
}

func sortedKeys(m map[string]bool) []string { return slices.Sorted(maps.Keys(m)) }

func joseAlgs(algs []string) []jose.SignatureAlgorithm {
	out := make([]jose.SignatureAlgorithm, len(algs))
	for i, a := range algs {
		out[i] = jose.SignatureAlgorithm(a)
	}
	return out
}
