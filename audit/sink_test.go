package audit

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"
)

var success = AuthenticationEvent{Principal: "User:sa-abc123", Mechanism: "PLAIN", APIKey: "ABCDEFGHIJ012345", Success: true}

func TestDisabledSink(t *testing.T) {
	s, err := Open("")
	if err != nil || s != nil {
		t.Fatalf(`Open("") = %v, %v; want the nil (disabled) sink`, s, err)
	}
	s.Authentication(success) // no panic, no output
	if n := s.WriteErrors(); n != 0 {
		t.Errorf("WriteErrors = %d", n)
	}
	if err := s.Close(); err != nil {
		t.Errorf("Close = %v", err)
	}
}

func TestFileSinkAppends(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.log")
	for range 2 {
		s, err := Open(path)
		if err != nil {
			t.Fatal(err)
		}
		s.Authentication(success)
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(decodeLines(t, data)); n != 2 {
		t.Errorf("%d events after two opens, want 2 (appended)", n)
	}
	if fi, _ := os.Stat(path); fi.Mode() != 0o600 {
		t.Errorf("audit log mode %v, want 0600", fi.Mode())
	}
}

func TestOpenError(t *testing.T) {
	path := filepath.Join(t.TempDir(), "missing", "audit.log")
	if _, err := Open(path); err == nil || !strings.Contains(err.Error(), path) {
		t.Fatalf("Open(%s) = %v, want an error naming the path", path, err)
	}
}

// TestConcurrentWriters: events written at once come out as whole lines.
func TestConcurrentWriters(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.log")
	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	const writers, each = 16, 200
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for i := range each {
				e := success
				e.Identity = fmt.Sprintf("writer-%d-event-%d-%s", w, i, strings.Repeat("x", 500))
				s.Authentication(e)
			}
		})
	}
	wg.Wait()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(path)
	events := decodeLines(t, data)
	ids := map[any]bool{}
	for _, ev := range events {
		ids[ev["id"]] = true
	}
	if len(events) != writers*each || len(ids) != writers*each {
		t.Errorf("%d events with %d ids, want %d each", len(events), len(ids), writers*each)
	}
}

// failingWriter fails every Write while fail is set, after writing half.
type failingWriter struct {
	bytes.Buffer
	fail bool
}

func (w *failingWriter) Write(p []byte) (int, error) {
	if w.fail {
		n, _ := w.Buffer.Write(p[:len(p)/2])
		return n, errors.New("disk full")
	}
	return w.Buffer.Write(p)
}

func TestWriteErrors(t *testing.T) {
	core, logs := observer.New(zap.ErrorLevel)
	w := &failingWriter{fail: true}
	s := New(w, WithLogger(zap.New(core)))

	s.Authentication(success) // must not panic or return anything
	s.Authentication(success)
	if n := s.WriteErrors(); n != 2 {
		t.Errorf("WriteErrors = %d, want 2", n)
	}
	if n := logs.Len(); n != 1 {
		t.Errorf("%d errors logged, want 1 for the first failure only", n)
	}

	// Once the output recovers, the torn line is ended and the next event
	// is a whole line.
	w.fail = false
	s.Authentication(success)
	lines := strings.Split(strings.TrimSuffix(w.String(), "\n"), "\n")
	if got := lines[len(lines)-1]; !strings.HasPrefix(got, `{"specversion":"1.0"`) {
		t.Errorf("line after recovery = %q, want a whole event", got)
	}
	decodeLines(t, []byte(lines[len(lines)-1]+"\n"))
}

func TestClose(t *testing.T) {
	var out bytes.Buffer
	s := New(&out)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Errorf("second Close = %v", err)
	}
	s.Authentication(success)
	if out.Len() != 0 || s.WriteErrors() != 1 {
		t.Errorf("after Close: wrote %q, WriteErrors %d; want nothing written and 1 error", out.String(), s.WriteErrors())
	}
}

func BenchmarkAuthenticationEvent(b *testing.B) {
	e := AuthenticationEvent{Principal: "User:sa-abc123", Mechanism: "PLAIN", APIKey: "ABCDEFGHIJ012345",
		Source: "10.0.0.1:50000", Listener: "external", Success: true}
	run := func(b *testing.B, s *Sink) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				s.Authentication(e)
			}
		})
	}
	b.Run("encode", func(b *testing.B) { run(b, New(discard{})) })
	b.Run("file", func(b *testing.B) {
		s, err := Open(filepath.Join(b.TempDir(), "audit.log"))
		if err != nil {
			b.Fatal(err)
		}
		defer s.Close()
		run(b, s)
	})
	b.Run("disabled", func(b *testing.B) { run(b, nil) })
}

// discard is io.Discard without its ReaderFrom, like a real file.
type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }
