package authn

import (
	"sync"
	"time"
)

// maxThrottleEntries bounds the memory of the failure counters: when full,
// expired windows are swept, and if none has expired the oldest half goes.
const maxThrottleEntries = 100_000

// throttle counts failed logins per source address and per credential
// (API key id or identity pool) in fixed windows, and refuses further
// attempts once a count reaches its limit, until the window ends.
type throttle struct {
	window    time.Duration
	perSource int
	perKey    int

	mu      sync.Mutex
	entries map[string]*failureWindow
}

type failureWindow struct {
	start time.Time
	n     int
}

func newThrottle() *throttle {
	return &throttle{window: time.Minute, perSource: 1, perKey: 1, entries: map[string]*failureWindow{}}
}

// configure sets the window and limits; counts so far are kept.
func (t *throttle) configure(window time.Duration, perSource, perKey int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.window, t.perSource, t.perKey = window, perSource, perKey
}

func sourceKey(addr string) string { return "src:" + addr }
func credKey(id string) string     { return "key:" + id }

// blocked reports whether source or credential (either may be empty) has
// used up its failures in the current window.
func (t *throttle) blocked(now time.Time, source, credential string) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.over(now, sourceKey(source), t.perSource, source != "") ||
		t.over(now, credKey(credential), t.perKey, credential != "")
}

func (t *throttle) over(now time.Time, key string, limit int, use bool) bool {
	if !use {
		return false
	}
	w := t.entries[key]
	return w != nil && now.Sub(w.start) < t.window && w.n >= limit
}

// fail records one failure against source and credential.
func (t *throttle) fail(now time.Time, source, credential string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if source != "" {
		t.add(now, sourceKey(source))
	}
	if credential != "" {
		t.add(now, credKey(credential))
	}
}

func (t *throttle) add(now time.Time, key string) {
	w := t.entries[key]
	if w == nil || now.Sub(w.start) >= t.window {
		if w == nil && len(t.entries) >= maxThrottleEntries {
			t.sweep(now)
		}
		t.entries[key] = &failureWindow{start: now, n: 1}
		return
	}
	w.n++
}

// sweep drops ended windows, and when none has ended, the older half.
func (t *throttle) sweep(now time.Time) {
	for k, w := range t.entries {
		if now.Sub(w.start) >= t.window {
			delete(t.entries, k)
		}
	}
	if len(t.entries) < maxThrottleEntries {
		return
	}
	cut := now.Add(-t.window / 2)
	for k, w := range t.entries {
		if w.start.Before(cut) {
			delete(t.entries, k)
		}
	}
	for k := range t.entries { // a flood of distinct sources: forget half
		if len(t.entries) < maxThrottleEntries/2 {
			break
		}
		delete(t.entries, k)
	}
}
