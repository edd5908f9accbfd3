package authn

import (
	"sync"
	"time"
)

// The throttle bounds what failed logins cost, without letting anyone who
// is not the client lock the client out.
//
//   - Per client address: past Limits.PerSource failures in a window, the
//     address's further logins are refused unchecked until the window
//     ends. Only its own failures count against an address.
//   - Per credential (API key id, identity pool, token subject): failures
//     are counted, and a credential past Limits.PerCredential is reported
//     under attack, but its logins are never refused for it. A key id is
//     not a secret (it is the SASL username, in client configurations and
//     logs), so refusing a key after failures from anywhere let anyone who
//     knew it cut its application off; its 384-bit secret is not what an
//     attacker can guess.
//   - Across the proxy: failed token verifications, the costly kind of
//     check, fill a bucket of Limits.PerSecond a second. While it is full,
//     a token the proxy has not verified before is checked only for an
//     address that logged in successfully in the last trustFor; others are
//     refused unchecked, so that a flood from many addresses cannot take
//     the CPU. API keys (a salted hash to compare) and tokens already
//     verified (a cache lookup) cost little, and are always checked.

// maxThrottleEntries bounds each of the throttle's maps: when one is full,
// ended entries are swept, and if none has ended the oldest half goes.
const maxThrottleEntries = 100_000

// trustFor is how long a client address that logged in stays trusted for
// costly checks while the proxy is over its failure ceiling.
const trustFor = time.Hour

type throttle struct {
	mu      sync.Mutex
	limits  Limits
	sources windows              // failed logins by client address
	creds   windows              // failed logins by credential
	trusted map[string]time.Time // client addresses by last successful login
	ceiling bucket               // failed token verifications
}

// windows counts failures per key in fixed windows.
type windows map[string]*failureWindow

type failureWindow struct {
	start time.Time
	n     int
}

func newThrottle() *throttle {
	return &throttle{sources: windows{}, creds: windows{}, trusted: map[string]time.Time{}}
}

// configure sets the limits; counts so far are kept.
func (t *throttle) configure(l Limits) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.limits = l
	t.ceiling.configure(float64(l.PerSecond))
}

// sourceBlocked reports whether the client address has used up its
// failures in the current window.
func (t *throttle) sourceBlocked(now time.Time, source string) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	w := t.sources[source]
	return w != nil && now.Sub(w.start) < t.limits.Window && w.n >= t.limits.PerSource
}

// mayVerify reports whether a costly check (a token not verified before)
// may be made for the client address: always under the failure ceiling,
// and over it only for an address that logged in recently.
func (t *throttle) mayVerify(now time.Time, source string) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if !t.ceiling.empty(now) {
		return true
	}
	at, ok := t.trusted[source]
	return ok && now.Sub(at) < trustFor
}

// failed records one failed login from source against credentials (any
// may be empty). verified says the failure cost a token verification. It
// returns the credentials that have just reached their limit, to report.
func (t *throttle) failed(now time.Time, source string, verified bool, credentials ...string) (underAttack []string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if source != "" {
		t.sources.add(now, source, t.limits.Window)
	}
	for _, c := range credentials {
		if c != "" && t.creds.add(now, c, t.limits.Window) == t.limits.PerCredential {
			underAttack = append(underAttack, c)
		}
	}
	if verified {
		t.ceiling.take(now)
	}
	return underAttack
}

// succeeded records a successful login from source.
func (t *throttle) succeeded(now time.Time, source string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if _, ok := t.trusted[source]; !ok && len(t.trusted) >= maxThrottleEntries {
		for k, at := range t.trusted {
			if now.Sub(at) >= trustFor || len(t.trusted) >= maxThrottleEntries {
				delete(t.trusted, k)
			}
			if len(t.trusted) < maxThrottleEntries/2 {
				break
			}
		}
	}
	t.trusted[source] = now
}

// add counts one failure for key and returns its count in the window.
func (ws windows) add(now time.Time, key string, window time.Duration) int {
	w := ws[key]
	if w == nil || now.Sub(w.start) >= window {
		if w == nil && len(ws) >= maxThrottleEntries {
			ws.sweep(now, window)
		}
		ws[key] = &failureWindow{start: now, n: 1}
		return 1
	}
	w.n++
	return w.n
}

// sweep drops ended windows, and when none has ended, the older half.
func (ws windows) sweep(now time.Time, window time.Duration) {
	for k, w := range ws {
		if now.Sub(w.start) >= window {
			delete(ws, k)
		}
	}
	if len(ws) < maxThrottleEntries {
		return
	}
	cut := now.Add(-window / 2)
	for k, w := range ws {
		if w.start.Before(cut) {
			delete(ws, k)
		}
	}
	for k := range ws { // a flood of distinct keys: forget half
		if len(ws) < maxThrottleEntries/2 {
			break
		}
		delete(ws, k)
	}
}

// bucket is a token bucket that fills at rate a second up to rate; a rate
// of 0 is never empty.
type bucket struct {
	rate, level float64
	at          time.Time
}

func (b *bucket) configure(rate float64) {
	b.rate = rate
	b.level = min(b.level, rate)
}

func (b *bucket) refill(now time.Time) {
	if b.at.IsZero() {
		b.level, b.at = b.rate, now
		return
	}
	b.level = min(b.rate, b.level+now.Sub(b.at).Seconds()*b.rate)
	b.at = now
}

// take uses one unit, if there is one.
func (b *bucket) take(now time.Time) {
	if b.rate == 0 {
		return
	}
	b.refill(now)
	b.level = max(0, b.level-1)
}

// empty reports whether no unit is left.
func (b *bucket) empty(now time.Time) bool {
	if b.rate == 0 {
		return false
	}
	b.refill(now)
	return b.level < 1
}
