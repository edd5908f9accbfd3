// Package audit owns the audit log: security events written as CloudEvents
// 1.0 JSON, one event per line, to standard output or a file.
//
// Each event kind is a data type, a CloudEvents type string and one Sink
// method that calls emit, in a file of its own: authentication.go and
// authorization.go.
package audit

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"
)

// Sink writes audit events. It is safe for concurrent use; each event is
// one line, written with a single Write, so lines never interleave.
//
// A nil *Sink is a disabled sink: every method does nothing. Writing is
// synchronous, so that an event is in the log (or counted as lost) when
// the method returns; a stalled output stalls the callers.
type Sink struct {
	source string
	name   string // of the output, for the log
	log    *zap.Logger

	mu     sync.Mutex
	out    io.Writer // nil once closed
	closer io.Closer // nil when the caller owns out
	torn   bool      // the last line was cut short by a failed write

	failed   atomic.Uint64
	reported atomic.Bool
}

// Option configures a Sink.
type Option func(*Sink)

// WithSource sets the CloudEvents source attribute, a URI-reference that
// identifies this proxy instance. The default is
// "//kafka-auth-proxy/<hostname>".
func WithSource(source string) Option { return func(s *Sink) { s.source = source } }

// WithLogger sets where the first write failure is logged; later failures
// are only counted (see WriteErrors).
func WithLogger(log *zap.Logger) Option {
	return func(s *Sink) {
		if log != nil {
			s.log = log
		}
	}
}

// Open returns the sink for an output setting: "" is no audit log (a nil
// Sink), "stdout" is standard output, and anything else is a file path,
// created with mode 0600 if missing and appended to.
func Open(output string, opts ...Option) (*Sink, error) {
	switch output {
	case "":
		return nil, nil
	case "stdout":
		s := New(os.Stdout, opts...)
		s.name = "stdout"
		return s, nil
	}
	f, err := os.OpenFile(output, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("opening audit log: %w", err)
	}
	s := New(f, opts...)
	s.name, s.closer = output, f
	return s, nil
}

// New returns a sink writing to w, which Close leaves open.
func New(w io.Writer, opts ...Option) *Sink {
	s := &Sink{source: defaultSource(), name: "writer", log: zap.NewNop(), out: w}
	for _, o := range opts {
		o(s)
	}
	return s
}

// Close stops the sink and closes its file. Events after Close are lost
// and counted in WriteErrors.
func (s *Sink) Close() error {
	if s == nil {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.out = nil
	if c := s.closer; c != nil {
		s.closer = nil
		return c.Close()
	}
	return nil
}

// WriteErrors returns how many events could not be written.
func (s *Sink) WriteErrors() uint64 {
	if s == nil {
		return 0
	}
	return s.failed.Load()
}

// bufPool holds encoding buffers, so that encoding needs no lock.
var bufPool = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// emit writes one event of type typ. Failures are counted, logged once,
// and never returned: the audit log must not fail the request it records.
func (s *Sink) emit(typ, subject string, t time.Time, data any) {
	if t.IsZero() {
		t = time.Now()
	}
	ev := envelope{
		SpecVersion:     specVersion,
		ID:              newID(),
		Source:          s.source,
		Type:            typ,
		Time:            t.UTC().Format(time.RFC3339Nano),
		DataContentType: "application/json",
		Subject:         subject,
		Data:            data,
	}
	buf := bufPool.Get().(*bytes.Buffer)
	defer bufPool.Put(buf)
	buf.Reset()
	enc := json.NewEncoder(buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(&ev); err != nil { // appends the newline
		s.fail(fmt.Errorf("encoding %s event: %w", typ, err))
		return
	}
	if err := s.write(buf.Bytes()); err != nil {
		s.fail(err)
	}
}

// write writes one line with a single Write.
func (s *Sink) write(line []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.out == nil {
		return errClosed
	}
	if s.torn { // end the cut-short line, so that this one parses
		if _, err := s.out.Write([]byte{'\n'}); err != nil {
			return err
		}
		s.torn = false
	}
	n, err := s.out.Write(line)
	if err != nil {
		s.torn = n > 0 && n < len(line)
	}
	return err
}

var errClosed = errors.New("audit log is closed")

func (s *Sink) fail(err error) {
	s.failed.Add(1)
	if s.log != nil && s.reported.CompareAndSwap(false, true) {
		s.log.Error("cannot write the audit log; further failures are counted but not logged",
			zap.String("output", s.name), zap.Error(err))
	}
}
