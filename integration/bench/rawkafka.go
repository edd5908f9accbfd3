package main

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

const (
	// rawClientID is the client id of the raw connections' requests.
	rawClientID = "bench-idle"
	// rawMaxResponseBytes bounds a response frame: the raw connections
	// only ask for API versions, a login and the brokers.
	rawMaxResponseBytes = 1 << 20
	// The versions a raw connection uses: those of a current Kafka client
	// for the login.
	rawApiVersionsVersion      = 3
	rawSASLHandshakeVersion    = 1
	rawSASLAuthenticateVersion = 2
	// rawMinMetadataVersion is the first version where an empty topic list
	// means no topics rather than all of them.
	rawMinMetadataVersion = 1
)

// rawConn is a minimal Kafka protocol client on one TCP connection: one
// request at a time, no retries, no goroutines. It costs the bench a socket
// and nothing while idle, where a kgo.Client costs goroutines and buffers,
// so that thousands of them measure the proxy rather than the bench.
type rawConn struct {
	nc     net.Conn
	f      *kmsg.RequestFormatter
	corrID int32
}

// dialRaw connects to addr.
func dialRaw(ctx context.Context, addr string) (*rawConn, error) {
	var d net.Dialer
	nc, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	return &rawConn{nc: nc, f: kmsg.NewRequestFormatter(kmsg.FormatterClientID(rawClientID))}, nil
}

// request sends req and returns its response, decoded at req's version.
// It gives up at ctx's deadline or when ctx ends.
func (c *rawConn) request(ctx context.Context, req kmsg.Request) (kmsg.Response, error) {
	deadline, _ := ctx.Deadline() // the zero time when none: no deadline
	if err := c.nc.SetDeadline(deadline); err != nil {
		return nil, err
	}
	stop := context.AfterFunc(ctx, func() { _ = c.nc.SetDeadline(time.Unix(1, 0)) }) // unblocks the read
	defer stop()
	resp, err := c.roundTrip(req)
	if err != nil {
		return nil, fmt.Errorf("%s v%d: %w", kmsg.NameForKey(req.Key()), req.GetVersion(), causeOr(ctx, err))
	}
	return resp, nil
}

// roundTrip writes req and reads and decodes its response.
func (c *rawConn) roundTrip(req kmsg.Request) (kmsg.Response, error) {
	c.corrID++
	if _, err := c.nc.Write(c.f.AppendRequest(nil, req, c.corrID)); err != nil {
		return nil, fmt.Errorf("write: %w", err)
	}
	frame, err := readFrame(c.nc)
	if err != nil {
		return nil, err
	}
	// ApiVersions responses keep header v0 at every version, so that a
	// client can read one from a broker that does not know its version.
	flexibleHeader := req.IsFlexible() && req.Key() != kmsg.ApiVersions.Int16()
	body, err := responseBody(frame, c.corrID, flexibleHeader)
	if err != nil {
		return nil, err
	}
	resp := req.ResponseKind()
	resp.SetVersion(req.GetVersion())
	if err := resp.ReadFrom(body); err != nil {
		return nil, fmt.Errorf("decode response: %w", err)
	}
	return resp, nil
}

// readFrame reads one size-prefixed response frame and returns what
// follows the size.
func readFrame(r io.Reader) ([]byte, error) {
	var size [4]byte
	if _, err := io.ReadFull(r, size[:]); err != nil {
		return nil, fmt.Errorf("read response size: %w", err)
	}
	n := int32(binary.BigEndian.Uint32(size[:]))
	if n < 4 || n > rawMaxResponseBytes {
		return nil, fmt.Errorf("response size %d out of 4..%d", n, rawMaxResponseBytes)
	}
	frame := make([]byte, n)
	if _, err := io.ReadFull(r, frame); err != nil {
		return nil, fmt.Errorf("read response: %w", err)
	}
	return frame, nil
}

// responseBody checks the response header at the start of frame, the
// correlation id and, in a flexible header (v1), the tagged fields, and
// returns the body after it.
func responseBody(frame []byte, corrID int32, flexibleHeader bool) ([]byte, error) {
	if len(frame) < 4 {
		return nil, errors.New("response shorter than its header")
	}
	if got := int32(binary.BigEndian.Uint32(frame)); got != corrID {
		return nil, fmt.Errorf("response has correlation id %d, want %d", got, corrID)
	}
	body := frame[4:]
	if !flexibleHeader {
		return body, nil
	}
	return skipTags(body)
}

// skipTags returns b after the tagged fields at its start: an unsigned
// varint count, then each field's varint tag, varint size and data.
func skipTags(b []byte) ([]byte, error) {
	count, err := readUvarint(&b)
	if err != nil {
		return nil, fmt.Errorf("tag count: %w", err)
	}
	for i := range count {
		if _, err := readUvarint(&b); err != nil {
			return nil, fmt.Errorf("tag %d of %d: %w", i+1, count, err)
		}
		size, err := readUvarint(&b)
		if err != nil {
			return nil, fmt.Errorf("tag %d of %d size: %w", i+1, count, err)
		}
		if size > uint64(len(b)) {
			return nil, fmt.Errorf("tag %d of %d: %d bytes, only %d left", i+1, count, size, len(b))
		}
		b = b[size:]
	}
	return b, nil
}

// readUvarint reads an unsigned varint from the start of *b and advances
// *b past it.
func readUvarint(b *[]byte) (uint64, error) {
	v, n := binary.Uvarint(*b)
	if n <= 0 {
		return 0, errors.New("bad or truncated varint")
	}
	*b = (*b)[n:]
	return v, nil
}

// apiVersions asks for the versions the server supports (ApiVersions v3)
// and returns the highest version of each API key.
func (c *rawConn) apiVersions(ctx context.Context) (map[int16]int16, error) {
	req := kmsg.NewPtrApiVersionsRequest()
	req.Version = rawApiVersionsVersion
	req.ClientSoftwareName = "kafka-auth-proxy-bench"
	req.ClientSoftwareVersion = "1.0"
	r, err := c.request(ctx, req)
	if err != nil {
		return nil, err
	}
	resp := r.(*kmsg.ApiVersionsResponse)
	if err := kerr.ErrorForCode(resp.ErrorCode); err != nil {
		return nil, fmt.Errorf("ApiVersions: %w", err)
	}
	versions := make(map[int16]int16, len(resp.ApiKeys))
	for _, k := range resp.ApiKeys {
		versions[k.ApiKey] = k.MaxVersion
	}
	return versions, nil
}

// needVersion checks that versions offers key at version v or later.
func needVersion(versions map[int16]int16, key kmsg.Key, v int16) error {
	top, ok := versions[key.Int16()]
	switch {
	case !ok:
		return fmt.Errorf("the server does not offer %s", key.Name())
	case top < v:
		return fmt.Errorf("the server offers %s up to v%d, the bench needs v%d", key.Name(), top, v)
	}
	return nil
}

// loginPlain logs in over SASL/PLAIN with token, the PLAIN message
// (SaslHandshake v1, then SaslAuthenticate v2).
func (c *rawConn) loginPlain(ctx context.Context, token []byte) error {
	hs := kmsg.NewPtrSASLHandshakeRequest()
	hs.Version = rawSASLHandshakeVersion
	hs.Mechanism = "PLAIN"
	r, err := c.request(ctx, hs)
	if err != nil {
		return err
	}
	if err := kerr.ErrorForCode(r.(*kmsg.SASLHandshakeResponse).ErrorCode); err != nil {
		return fmt.Errorf("SASLHandshake PLAIN: %w", err)
	}
	auth := kmsg.NewPtrSASLAuthenticateRequest()
	auth.Version = rawSASLAuthenticateVersion
	auth.SASLAuthBytes = token
	if r, err = c.request(ctx, auth); err != nil {
		return err
	}
	resp := r.(*kmsg.SASLAuthenticateResponse)
	if err := kerr.ErrorForCode(resp.ErrorCode); err != nil {
		msg := ""
		if resp.ErrorMessage != nil {
			msg = ": " + *resp.ErrorMessage
		}
		return fmt.Errorf("SASLAuthenticate: %w%s", err, msg)
	}
	return nil
}

// metadataNoTopics makes a Metadata request at version for no topics: the
// brokers and the cluster only.
func (c *rawConn) metadataNoTopics(ctx context.Context, version int16) error {
	req := kmsg.NewPtrMetadataRequest()
	req.Version = version
	req.Topics = []kmsg.MetadataRequestTopic{}
	r, err := c.request(ctx, req)
	if err != nil {
		return err
	}
	resp := r.(*kmsg.MetadataResponse)
	if err := kerr.ErrorForCode(resp.ErrorCode); err != nil {
		return fmt.Errorf("metadata: %w", err)
	}
	if len(resp.Brokers) == 0 {
		return errors.New("metadata: no brokers in the response")
	}
	return nil
}

// close closes the connection.
func (c *rawConn) close() error { return c.nc.Close() }
