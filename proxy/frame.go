package proxy

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/twmb/franz-go/pkg/kbin"
)

// ErrFrameTooLarge is returned when a frame's declared size exceeds the limit.
// The limit is checked before any allocation for the frame body.
var ErrFrameTooLarge = errors.New("frame too large")

// errMalformed marks bytes that do not decode as the Kafka protocol.
var errMalformed = errors.New("malformed frame")

// frame is one size-prefixed Kafka message. buf holds the 4-byte length
// followed by the payload, so an unchanged frame is forwarded with a single
// write of buf.
type frame struct {
	buf []byte
}

// payload returns the frame without its length prefix.
func (f *frame) payload() []byte { return f.buf[4:] }

// eagerFrame is the largest frame whose buffer is allocated in full as soon
// as its size is read. Larger frames grow their buffer, frameGrowth times at
// a step, as their bytes arrive, so that a peer declaring a large frame and
// sending little of it costs little memory, while a multi-megabyte produce
// request is copied at most once on the way.
const (
	eagerFrame  = 1 << 20
	frameGrowth = 8
)

// readFrame reads one frame from r into dst's backing array (grown when
// needed). A declared size that is negative or above maxSize is an error,
// and nothing is allocated for it.
func readFrame(r *bufio.Reader, maxSize int, dst []byte) (frame, error) {
	var sizeBuf [4]byte
	if _, err := io.ReadFull(r, sizeBuf[:]); err != nil {
		return frame{}, err
	}
	return readFrameBody(r, sizeBuf, maxSize, dst)
}

// readFrameBody reads the rest of a frame whose size prefix, sizeBuf, was
// read already; otherwise as readFrame. A dst too small for the frame goes
// back to its pool.
func readFrameBody(r *bufio.Reader, sizeBuf [4]byte, maxSize int, dst []byte) (frame, error) {
	size := int32(binary.BigEndian.Uint32(sizeBuf[:]))
	if size < 0 || int64(size) > int64(maxSize) {
		return frame{}, fmt.Errorf("%w: %d bytes declared, limit %d", ErrFrameTooLarge, size, maxSize)
	}
	n := 4 + int(size)
	want := min(n, eagerFrame)
	if cap(dst) < want {
		putBuffer(dst)
		dst = getBuffer(want)
	}
	dst = dst[:want]
	copy(dst, sizeBuf[:])
	have := 4
	for {
		if _, err := io.ReadFull(r, dst[have:]); err != nil {
			if errors.Is(err, io.EOF) {
				err = io.ErrUnexpectedEOF
			}
			return frame{}, err
		}
		if len(dst) == n {
			return frame{buf: dst}, nil
		}
		have = len(dst)
		grown := getBuffer(min(n, frameGrowth*have))
		copy(grown, dst)
		putBuffer(dst)
		dst = grown
	}
}

// requestHeader is the decoded header of a client request.
type requestHeader struct {
	Key           int16
	Version       int16
	CorrelationID int32
	// ClientID aliases the frame; copy it to keep it.
	ClientID []byte
	// BodyOffset is where the body starts within the payload.
	BodyOffset int
}

// minRequestHeader is api key, api version and correlation id.
const minRequestHeader = 8

// peekRequestHeader reads the fixed part of a request header (key, version,
// correlation id), which every version of every API shares. It is enough to
// answer or reject a request whose version the proxy cannot decode.
func peekRequestHeader(p []byte) (key, version int16, correlationID int32, err error) {
	if len(p) < minRequestHeader {
		return 0, 0, 0, fmt.Errorf("%w: request of %d bytes is shorter than a header", errMalformed, len(p))
	}
	return int16(binary.BigEndian.Uint16(p)), int16(binary.BigEndian.Uint16(p[2:])), int32(binary.BigEndian.Uint32(p[4:])), nil
}

// parseRequestHeader decodes a request header v1 (or v2 when flexible: with a
// tagged-field section). The caller decides flexibility from the API table.
func parseRequestHeader(p []byte, flexible bool) (requestHeader, error) {
	key, version, corr, err := peekRequestHeader(p)
	if err != nil {
		return requestHeader{}, err
	}
	h := requestHeader{Key: key, Version: version, CorrelationID: corr}
	r := kbin.Reader{Src: p[minRequestHeader:]}
	// The client id is a nullable non-compact string even in header v2.
	if n := r.Int16(); n >= 0 {
		h.ClientID = r.Span(int(n))
	} else if n < -1 {
		return requestHeader{}, fmt.Errorf("%w: client id length %d", errMalformed, n)
	}
	if flexible {
		skipTags(&r)
	}
	if !r.Ok() {
		return requestHeader{}, fmt.Errorf("%w: truncated request header", errMalformed)
	}
	h.BodyOffset = len(p) - len(r.Src)
	return h, nil
}

// skipTags skips a tagged-field section.
func skipTags(r *kbin.Reader) {
	for n := r.Uvarint(); n > 0 && r.Ok(); n-- {
		r.Uvarint()              // tag
		r.Span(int(r.Uvarint())) // value
	}
}

// responseHeaderLen returns the length of a response header: the correlation
// id, plus a tagged-field section when the response is flexible (header v1).
func responseHeaderLen(p []byte, flexible bool) (int, error) {
	if len(p) < 4 {
		return 0, fmt.Errorf("%w: response of %d bytes is shorter than a header", errMalformed, len(p))
	}
	if !flexible {
		return 4, nil
	}
	r := kbin.Reader{Src: p[4:]}
	skipTags(&r)
	if !r.Ok() {
		return 0, fmt.Errorf("%w: truncated response header", errMalformed)
	}
	return len(p) - len(r.Src), nil
}

// appendResponseFrame appends a complete response frame: size, correlation
// id, an empty tagged-field section when flexHeader, and body.
func appendResponseFrame(dst []byte, correlationID int32, flexHeader bool, body []byte) []byte {
	size := 4 + len(body)
	if flexHeader {
		size++
	}
	dst = kbin.AppendInt32(dst, int32(size))
	dst = kbin.AppendInt32(dst, correlationID)
	if flexHeader {
		dst = append(dst, 0)
	}
	return append(dst, body...)
}
