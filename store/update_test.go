package store

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"sync"
	"testing"
	"time"
)

func addKey(id string) func(*State) error {
	return func(st *State) error {
		st.Keys = append(st.Keys, Key{ID: id, Account: "sa-abc123", Created: t0})
		return nil
	}
}

func keyIDs(t *testing.T, path string) []string {
	t.Helper()
	st, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, k := range st.Keys {
		ids = append(ids, k.ID)
	}
	slices.Sort(ids)
	return ids
}

func TestUpdateCreatesDirectoryAndPrivateFile(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "a", "b")
	path := filepath.Join(dir, "state.json")
	if err := Update(context.Background(), path, func(st *State) error {
		*st = *testState
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	got, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, testState) {
		t.Errorf("after Update, Load = %+v, want %+v", got, testState)
	}
	for p, want := range map[string]os.FileMode{dir: 0o700 | os.ModeDir, path: 0o600} {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode() != want {
			t.Errorf("mode of %s = %v, want %v", p, fi.Mode(), want)
		}
	}
}

func TestUpdateErrorWritesNothing(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.json")
	ctx := context.Background()
	if err := Update(ctx, path, addKey("KEEP")); err != nil {
		t.Fatal(err)
	}
	before, _ := os.ReadFile(path)
	errNo := errors.New("no such account")
	err := Update(ctx, path, func(st *State) error {
		st.Keys = nil
		return errNo
	})
	if err != errNo {
		t.Errorf("Update = %v, want f's error unchanged", err)
	}
	after, _ := os.ReadFile(path)
	if string(after) != string(before) {
		t.Errorf("the file changed although f failed:\n%s", after)
	}
}

func TestUpdateRefusesCorruptFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.json")
	writeTestFile(t, path, "{")
	called := false
	err := Update(context.Background(), path, func(*State) error { called = true; return nil })
	if err == nil || called {
		t.Fatalf("Update on a corrupt file: err %v, f called %v; want an error and f not called", err, called)
	}
	if data, _ := os.ReadFile(path); string(data) != "{" {
		t.Errorf("the corrupt file was overwritten with %q", data)
	}
}

// TestUpdateConcurrent: the lock serializes writers, so no update is lost.
func TestUpdateConcurrent(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.json")
	var wg sync.WaitGroup
	var want []string
	errs := make(chan error, 8)
	for i := range 8 {
		id := fmt.Sprintf("KEY%d", i)
		want = append(want, id)
		wg.Go(func() {
			errs <- Update(context.Background(), path, func(st *State) error {
				time.Sleep(time.Millisecond) // widen the window for a lost update
				return addKey(id)(st)
			})
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	if got := keyIDs(t, path); !slices.Equal(got, want) {
		t.Errorf("keys after 8 concurrent updates = %v, want %v", got, want)
	}
}

func TestUpdateWaitsForLockUntilContextDone(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.json")
	unlock, err := lock(context.Background(), path+".lock")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	err = Update(ctx, path, addKey("X"))
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Update while locked = %v, want context.DeadlineExceeded", err)
	}

	// Once released, a waiting Update proceeds.
	done := make(chan error)
	go func() { done <- Update(context.Background(), path, addKey("Y")) }()
	time.Sleep(20 * time.Millisecond)
	unlock()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if got := keyIDs(t, path); !slices.Equal(got, []string{"Y"}) {
		t.Errorf("keys = %v, want [Y]", got)
	}
}

// TestLeftoverTempFile: a writer that crashed before its rename leaves a
// temporary file; readers ignore it and the next writer removes it.
func TestLeftoverTempFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "state.json")
	ctx := context.Background()
	if err := Update(ctx, path, addKey("OLD")); err != nil {
		t.Fatal(err)
	}
	leftover := filepath.Join(dir, ".state.json.tmp-123456")
	writeTestFile(t, leftover, `{"version": 1, "keys": [{"id": "HALF`)

	if got := keyIDs(t, path); !slices.Equal(got, []string{"OLD"}) {
		t.Errorf("Load with a leftover temp file = %v, want [OLD]", got)
	}
	if err := Update(ctx, path, addKey("NEW")); err != nil {
		t.Fatal(err)
	}
	if got := keyIDs(t, path); !slices.Equal(got, []string{"NEW", "OLD"}) {
		t.Errorf("keys = %v, want [NEW OLD]", got)
	}
	if _, err := os.Stat(leftover); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("leftover temp file still there (%v)", err)
	}
	entries, _ := os.ReadDir(dir)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if want := []string{"state.json", "state.json.lock"}; !slices.Equal(names, want) {
		t.Errorf("directory holds %v, want %v", names, want)
	}
}
