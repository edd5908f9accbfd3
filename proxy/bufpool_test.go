package proxy

import (
	"bufio"
	"bytes"
	"io"
	"net"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// A connReader holds a pooled reader only while bytes are buffered in it:
// the head of a message is read with none, the rest through one, which
// goes back once the message is consumed.
func TestConnReaderHoldsABufferOnlyWhileBytesAreBuffered(t *testing.T) {
	two := append([]byte("\x00\x00\x00\x03abc"), "\x00\x00\x00\x02de"...)
	r := connReader{src: bytes.NewReader(two)}
	var head [4]byte
	if err := r.readHead(head[:]); err != nil || string(head[:]) != "\x00\x00\x00\x03" {
		t.Fatalf("readHead = %q, %v", head, err)
	}
	body := make([]byte, 3)
	if _, err := io.ReadFull(r.reader(), body); err != nil || string(body) != "abc" {
		t.Fatalf("body = %q, %v", body, err)
	}
	// The second message was read along with the first body: it stays
	// buffered, and so does the reader.
	r.release()
	if r.br == nil || r.buffered() != 6 {
		t.Fatalf("with 6 bytes buffered the reader was given back (buffered %d)", r.buffered())
	}
	if err := r.readHead(head[:]); err != nil || string(head[:]) != "\x00\x00\x00\x02" {
		t.Fatalf("second readHead = %q, %v", head, err)
	}
	if _, err := io.ReadFull(r.reader(), body[:2]); err != nil || string(body[:2]) != "de" {
		t.Fatalf("second body = %q, %v", body[:2], err)
	}
	r.release()
	if r.br != nil {
		t.Fatal("an emptied reader was kept")
	}
	if err := r.readHead(head[:]); err != io.EOF || r.br != nil {
		t.Fatalf("readHead at the end = %v, reader held %v", err, r.br != nil)
	}
}

// A connWriter holds a pooled writer from a write to the next flush, and
// keeps a failed one so that later writes fail too.
func TestConnWriterHoldsABufferUntilItIsFlushed(t *testing.T) {
	var out bytes.Buffer
	w := connWriter{dst: &out}
	if _, err := w.Write([]byte("abc")); err != nil || w.bw == nil || w.buffered() != 3 || out.Len() != 0 {
		t.Fatalf("after a small write: err %v, held %v, buffered %d, written %d", err, w.bw != nil, w.buffered(), out.Len())
	}
	if err := w.flush(); err != nil || w.bw != nil || out.String() != "abc" {
		t.Fatalf("after flush: err %v, held %v, written %q", err, w.bw != nil, out.String())
	}

	broken := connWriter{dst: failingWriter{}}
	_, _ = broken.Write([]byte("abc"))
	if err := broken.flush(); err == nil || broken.bw == nil {
		t.Fatalf("a failed flush: err %v, writer kept %v", err, broken.bw != nil)
	}
	if _, err := broken.Write(bytes.Repeat([]byte("x"), 2*ioBufferSize)); err == nil {
		t.Fatal("a write after a failed flush succeeded")
	}
}

type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, io.ErrClosedPipe }

// Once a connection's requests are answered its writing goroutine ends,
// having given back the client writer and the upstream reader: an idle
// connection is its reading goroutine alone.
func TestAnIdleConnectionRunsOnlyItsReader(t *testing.T) {
	p := newTestProxy(t, 1)
	conn, err := net.Dial("tcp", p.srv.BootstrapAddr())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(5 * time.Second))
	// Metadata is forwarded (an upstream connection is opened), ApiVersions
	// answered by the proxy.
	format := kmsg.NewRequestFormatter()
	apiVersions := kmsg.NewPtrApiVersionsRequest()
	apiVersions.Version = 3
	apiVersions.ClientSoftwareName, apiVersions.ClientSoftwareVersion = "idle", "1"
	frames := append(format.AppendRequest(nil, kmsg.NewPtrMetadataRequest(), 1), format.AppendRequest(nil, apiVersions, 2)...)
	if _, err := conn.Write(frames); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(conn)
	for range 2 {
		if _, err := readFrame(br, 1<<20, nil); err != nil {
			t.Fatal(err)
		}
	}

	p.srv.mu.Lock()
	var conns []*clientConn
	for c := range p.srv.conns {
		conns = append(conns, c)
	}
	p.srv.mu.Unlock()
	if len(conns) != 1 {
		t.Fatalf("the proxy has %d client connections, want 1", len(conns))
	}
	c := conns[0]
	q := c.inflight
	deadline := time.Now().Add(5 * time.Second)
	q.mu.Lock()
	for q.writing && time.Now().Before(deadline) {
		q.mu.Unlock()
		time.Sleep(time.Millisecond)
		q.mu.Lock()
	}
	writing := q.writing
	q.mu.Unlock()
	// The writer stopped under q.mu, after its last flush and release:
	// what it owned can be read here.
	switch {
	case writing:
		t.Fatal("the writing goroutine still runs with nothing to answer")
	case c.out.bw != nil:
		t.Error("the idle connection holds a client write buffer")
	case c.up == nil:
		t.Error("Metadata opened no upstream connection")
	case c.up.in.br != nil:
		t.Error("the idle connection holds an upstream read buffer")
	}
}
