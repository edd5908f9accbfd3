package proxy

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"runtime"
	"testing"

	"github.com/twmb/franz-go/pkg/kmsg"
)

func TestReadFrame(t *testing.T) {
	tests := []struct {
		name    string
		in      []byte
		max     int
		want    []byte
		wantErr error
	}{
		{name: "empty frame", in: []byte{0, 0, 0, 0}, max: 10, want: []byte{}},
		{name: "payload", in: []byte{0, 0, 0, 3, 'a', 'b', 'c'}, max: 10, want: []byte("abc")},
		{name: "exactly the limit", in: []byte{0, 0, 0, 2, 1, 2}, max: 2, want: []byte{1, 2}},
		{name: "over the limit", in: []byte{0, 0, 0, 3, 1, 2, 3}, max: 2, wantErr: ErrFrameTooLarge},
		{name: "negative size", in: []byte{0xff, 0xff, 0xff, 0xfe}, max: 10, wantErr: ErrFrameTooLarge},
		{name: "huge size is refused without allocating", in: []byte{0x7f, 0xff, 0xff, 0xff}, max: 100 << 20, wantErr: ErrFrameTooLarge},
		{name: "truncated payload", in: []byte{0, 0, 0, 5, 1, 2}, max: 10, wantErr: io.ErrUnexpectedEOF},
		{name: "truncated size", in: []byte{0, 0}, max: 10, wantErr: io.ErrUnexpectedEOF},
		{name: "clean end", in: nil, max: 10, wantErr: io.EOF},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := readFrame(bufio.NewReader(bytes.NewReader(tt.in)), tt.max, nil)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("err = %v, want %v", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(f.payload(), tt.want) {
				t.Fatalf("payload %v, want %v", f.payload(), tt.want)
			}
			if !bytes.Equal(f.buf, tt.in) {
				t.Fatal("frame buffer must hold the original bytes, size prefix included")
			}
		})
	}
}

func TestParseRequestHeader(t *testing.T) {
	encode := func(req kmsg.Request, clientID *string, corr int32) []byte {
		var opts []kmsg.RequestFormatterOpt
		if clientID != nil {
			opts = append(opts, kmsg.FormatterClientID(*clientID))
		}
		return kmsg.NewRequestFormatter(opts...).AppendRequest(nil, req, corr)[4:]
	}
	id := "my-client"
	metaV4 := kmsg.NewPtrMetadataRequest()
	metaV4.Version = 4
	metaV12 := kmsg.NewPtrMetadataRequest()
	metaV12.Version = 12
	tests := []struct {
		name     string
		payload  []byte
		flexible bool
		wantKey  int16
		wantVer  int16
		wantCorr int32
		wantID   string
		wantErr  bool
	}{
		{name: "header v1", payload: encode(metaV4, &id, 5), wantKey: 3, wantVer: 4, wantCorr: 5, wantID: id},
		{name: "header v2 with tags", payload: encode(metaV12, &id, 6), flexible: true, wantKey: 3, wantVer: 12, wantCorr: 6, wantID: id},
		{name: "null client id", payload: encode(metaV4, nil, 7), wantKey: 3, wantVer: 4, wantCorr: 7},
		{name: "too short", payload: []byte{0, 3, 0}, wantErr: true},
		{name: "client id past the end", payload: []byte{0, 3, 0, 4, 0, 0, 0, 1, 0, 9, 'a'}, wantErr: true},
		{name: "bad client id length", payload: []byte{0, 3, 0, 4, 0, 0, 0, 1, 0xff, 0xf0}, wantErr: true},
		{name: "truncated tags", payload: []byte{0, 3, 0, 12, 0, 0, 0, 1, 0xff, 0xff, 2, 1}, flexible: true, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, err := parseRequestHeader(tt.payload, tt.flexible)
			if tt.wantErr {
				if err == nil {
					t.Fatalf("want error, got %+v", h)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if h.Key != tt.wantKey || h.Version != tt.wantVer || h.CorrelationID != tt.wantCorr || string(h.ClientID) != tt.wantID {
				t.Fatalf("got %+v", h)
			}
			// The body that follows must decode.
			req := kmsg.RequestForKey(h.Key)
			req.SetVersion(h.Version)
			if err := req.ReadFrom(tt.payload[h.BodyOffset:]); err != nil {
				t.Fatalf("body at offset %d does not decode: %v", h.BodyOffset, err)
			}
		})
	}
}

// FuzzRequestDecode feeds arbitrary bytes through the frame reader and the
// request decoder the proxy runs on every client frame. It must never
// panic, and must either reject the input or decode a header that lies
// inside it.
func FuzzRequestDecode(f *testing.F) {
	fmtr := kmsg.NewRequestFormatter(kmsg.FormatterClientID("fuzz"))
	apis := testAPIs(f)
	for _, spec := range apis.byKey {
		if spec == nil {
			continue
		}
		for _, v := range []int16{0, spec.flexibleFrom, spec.reviewed} {
			if v > spec.reviewed {
				continue
			}
			req := spec.newRequest()
			req.SetVersion(v)
			f.Add(fmtr.AppendRequest(nil, req, 1))
		}
	}
	f.Add([]byte{0, 0, 0, 0})
	f.Add([]byte{0x7f, 0xff, 0xff, 0xff})
	f.Add([]byte{0, 0, 0, 10, 0x27, 0x10, 0, 0, 0, 0, 0, 7, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, in []byte) {
		fr, err := readFrame(bufio.NewReader(bytes.NewReader(in)), 1<<20, nil)
		if err != nil {
			return
		}
		p := fr.payload()
		key, version, _, err := peekRequestHeader(p)
		if err != nil {
			return
		}
		spec := apis.lookup(key)
		if spec == nil || version < 0 || version > spec.reviewed {
			return
		}
		h, err := parseRequestHeader(p, spec.flexible(version))
		if err != nil {
			return
		}
		if h.BodyOffset < minRequestHeader || h.BodyOffset > len(p) {
			t.Fatalf("body offset %d outside payload of %d", h.BodyOffset, len(p))
		}
		req := spec.newRequest()
		req.SetVersion(version)
		_ = req.ReadFrom(p[h.BodyOffset:])
		// Response headers are decoded from untrusted upstream bytes too.
		_, _ = responseHeaderLen(p, true)
	})
}

func TestReadFrameMemoryFollowsBytesReceived(t *testing.T) {
	// A client declares a 100 MiB frame and sends ten bytes of it.
	in := append([]byte{0x06, 0x40, 0x00, 0x00}, make([]byte, 10)...)
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	_, err := readFrame(bufio.NewReader(bytes.NewReader(in)), 100<<20, nil)
	runtime.ReadMemStats(&after)
	if !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("err = %v, want unexpected EOF", err)
	}
	if got := after.TotalAlloc - before.TotalAlloc; got > 2*eagerFrame {
		t.Fatalf("allocated %d bytes for 10 bytes received", got)
	}
}

func TestReadFrameLargerThanEagerAllocation(t *testing.T) {
	payload := make([]byte, 20*eagerFrame+123)
	for i := range payload {
		payload[i] = byte(i)
	}
	in := binary.BigEndian.AppendUint32(nil, uint32(len(payload)))
	in = append(in, payload...)
	f, err := readFrame(bufio.NewReader(bytes.NewReader(in)), 30*eagerFrame, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(f.buf, in) {
		t.Fatal("frame bytes differ")
	}
}
