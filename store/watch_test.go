package store

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

const testInterval = 20 * time.Millisecond

// watchEvent is one call of onChange, reduced to what the tests compare.
type watchEvent struct {
	keys []string // nil with err
	err  error
}

// startWatch runs Watch on path until the test ends and returns its calls.
// It fails the test if onChange is ever called concurrently.
func startWatch(t *testing.T, path string) <-chan watchEvent {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	events := make(chan watchEvent, 100)
	var inCall atomic.Bool
	var wg sync.WaitGroup
	wg.Go(func() {
		Watch(ctx, path, testInterval, func(st *State, err error) {
			if !inCall.CompareAndSwap(false, true) {
				t.Error("onChange called concurrently")
			}
			defer inCall.Store(false)
			ev := watchEvent{err: err}
			if st != nil {
				ev.keys = []string{}
				for _, k := range st.Keys {
					ev.keys = append(ev.keys, k.ID)
				}
			}
			events <- ev
		})
	})
	t.Cleanup(func() { cancel(); wg.Wait() })
	return events
}

// next returns the next call of onChange, failing if none comes in time.
// The bound is generous for loaded CI machines; locally a change is seen
// within one or two intervals.
func next(t *testing.T, events <-chan watchEvent) watchEvent {
	t.Helper()
	select {
	case ev := <-events:
		return ev
	case <-time.After(2 * time.Second):
		t.Fatal("no onChange call within 2s")
		return watchEvent{}
	}
}

func expectKeys(t *testing.T, events <-chan watchEvent, want ...string) {
	t.Helper()
	ev := next(t, events)
	if ev.err != nil {
		t.Fatalf("onChange(nil, %v), want keys %v", ev.err, want)
	}
	checkKeys(t, ev, want)
}

// eventuallyKeys is expectKeys for files written in place, which Watch
// may catch half-written: that is reported as an error before the final
// content.
func eventuallyKeys(t *testing.T, events <-chan watchEvent, want ...string) {
	t.Helper()
	ev := next(t, events)
	for ev.err != nil {
		t.Logf("transient onChange(nil, %v)", ev.err)
		ev = next(t, events)
	}
	checkKeys(t, ev, want)
}

func checkKeys(t *testing.T, ev watchEvent, want []string) {
	t.Helper()
	if want == nil {
		want = []string{}
	}
	if !slices.Equal(ev.keys, want) {
		t.Fatalf("onChange with keys %v, want %v", ev.keys, want)
	}
}

// replaceFile replaces path with content atomically, as Update does.
func replaceFile(t *testing.T, path, content string) {
	t.Helper()
	writeTestFile(t, path+".new", content)
	if err := os.Rename(path+".new", path); err != nil {
		t.Fatal(err)
	}
}

func expectQuiet(t *testing.T, events <-chan watchEvent) {
	t.Helper()
	select {
	case ev := <-events:
		t.Fatalf("unexpected onChange call %+v", ev)
	case <-time.After(5 * testInterval):
	}
}

func TestWatchFollowsTheFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.json")
	ctx := context.Background()
	events := startWatch(t, path)

	expectKeys(t, events) // at start: no file is an empty state
	expectQuiet(t, events)

	if err := Update(ctx, path, addKey("A")); err != nil { // appears
		t.Fatal(err)
	}
	expectKeys(t, events, "A")

	if err := Update(ctx, path, addKey("B")); err != nil { // replaced
		t.Fatal(err)
	}
	expectKeys(t, events, "A", "B")
	expectQuiet(t, events)

	if err := os.Remove(path); err != nil { // disappears
		t.Fatal(err)
	}
	expectKeys(t, events)
}

func TestWatchReportsInPlaceEdits(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.json")
	writeTestFile(t, path, `{"keys": [{"id": "A"}]}`)
	events := startWatch(t, path)
	expectKeys(t, events, "A")

	time.Sleep(10 * time.Millisecond)                 // a later modification time
	writeTestFile(t, path, `{"keys": [{"id": "B"}]}`) // same size, same inode
	eventuallyKeys(t, events, "B")
}

// TestWatchCorruptFile: a corrupt file is reported once as an error (the
// caller keeps its state) and the next good version is picked up.
func TestWatchCorruptFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.json")
	writeTestFile(t, path, `{"keys": [{"id": "A"}]}`)
	events := startWatch(t, path)
	expectKeys(t, events, "A")

	replaceFile(t, path, `{"keys": [`)
	ev := next(t, events)
	if ev.keys != nil || ev.err == nil || !strings.Contains(ev.err.Error(), path) {
		t.Fatalf("onChange(%v, %v) for a corrupt file, want (nil, an error naming the file)", ev.keys, ev.err)
	}
	expectQuiet(t, events) // the same error is not repeated

	replaceFile(t, path, `{"keys": [{"id": "C"}]}`)
	expectKeys(t, events, "C")
}

func TestWatchCorruptAtStart(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.json")
	writeTestFile(t, path, `nonsense`)
	events := startWatch(t, path)
	if ev := next(t, events); ev.err == nil {
		t.Fatalf("first onChange(%v, nil) for a corrupt file, want an error", ev.keys)
	}
	expectQuiet(t, events)
}

func TestWatchStopsWithContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		Watch(ctx, filepath.Join(t.TempDir(), "state.json"), testInterval, func(*State, error) {})
		close(done)
	}()
	cancel()
	select {
	case <-done:
	case <-time.After(2 * time.Second):
		t.Fatal("Watch did not return after its context was canceled")
	}
}
