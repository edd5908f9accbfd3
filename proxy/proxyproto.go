package proxy

import (
	"bufio"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"time"

	"github.com/pires/go-proxyproto"
)

// The PROXY protocol (https://www.haproxy.org/download/2.9/doc/proxy-protocol.txt)
// lets a TCP load balancer tell the proxy whom a connection comes from. A
// listener with ProxyProtocol believes it only from its TrustedProxies:
//
//   - a connection from a trusted proxy must start with a valid v1 or v2
//     header, and the client address it carries becomes the connection's
//     RemoteAddr, which the login (and its throttle), host ACLs, the audit
//     log and the logs all read; a v2 LOCAL header (a balancer's health
//     check) and a v1 UNKNOWN one keep the balancer's address;
//   - a connection from anywhere else is a plain client, and one that
//     starts with a header is refused: nothing it sends is forwarded.
//
// The header is read by the connection's own goroutine, before the TLS
// handshake, within the authentication timeout; go-proxyproto parses it
// and bounds its size (107 bytes for v1, 16 + 4096 for v2).

// headerBufSize is the read buffer of a connection while its PROXY header
// is read; bytes read past the header are served from it, then it is
// dropped.
const headerBufSize = 256

// defaultHeaderTimeout bounds the header read when the proxy has no
// authentication timeout (auth: none).
const defaultHeaderTimeout = 10 * time.Second

// proxyListener is the TCP listener of a listener with ProxyProtocol.
// Accept does no I/O: it only notes whether the peer is a trusted proxy.
type proxyListener struct {
	net.Listener
	trusted []netip.Prefix
}

func (l *proxyListener) Accept() (net.Conn, error) {
	nc, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &proxiedConn{Conn: nc, trusted: trustedPeer(l.trusted, nc.RemoteAddr())}, nil
}

// trustedPeer reports whether addr is in one of the networks.
func trustedPeer(networks []netip.Prefix, addr net.Addr) bool {
	ta, ok := addr.(*net.TCPAddr)
	if !ok {
		return false
	}
	ip := ta.AddrPort().Addr().Unmap()
	for _, p := range networks {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

// proxiedConn is a connection accepted by a proxyListener. After
// readHeader, RemoteAddr is the client's address that the header names.
type proxiedConn struct {
	net.Conn
	trusted bool
	// client is the address from the header; nil while none was read,
	// or when the header keeps the peer's (LOCAL).
	client net.Addr
	// br holds bytes read past the header; nil once they are consumed.
	// Only the connection's reading goroutine reads.
	br *bufio.Reader
}

// RemoteAddr is the client's address: the header's, or the peer's.
func (c *proxiedConn) RemoteAddr() net.Addr {
	if c.client != nil {
		return c.client
	}
	return c.Conn.RemoteAddr()
}

// Peer is the address the connection comes from: the load balancer's
// when a header named the client.
func (c *proxiedConn) Peer() net.Addr { return c.Conn.RemoteAddr() }

func (c *proxiedConn) Read(b []byte) (int, error) {
	if c.br != nil {
		if c.br.Buffered() > 0 {
			return c.br.Read(b) // copies from the buffer only
		}
		c.br = nil
	}
	return c.Conn.Read(b)
}

// ReadFrom lets the relay of large responses (io.CopyN from upstream)
// splice in the kernel, as it does on a plain listener's *net.TCPConn.
func (c *proxiedConn) ReadFrom(r io.Reader) (int64, error) {
	if rf, ok := c.Conn.(io.ReaderFrom); ok {
		return rf.ReadFrom(r)
	}
	return io.Copy(struct{ io.Writer }{c.Conn}, r)
}

// headerError is a refused PROXY header; reason labels
// requests_rejected_total.
type headerError struct {
	reason string
	err    error
}

func (e *headerError) Error() string { return e.err.Error() }
func (e *headerError) Unwrap() error { return e.err }

// Reasons a connection is refused for its PROXY header, or for the lack
// of one.
const (
	reasonProxyUntrusted = "proxy_protocol_untrusted" // a header from an address not in trusted_proxies
	reasonProxyMissing   = "proxy_protocol_missing"   // a trusted proxy's connection without one
	reasonProxyMalformed = "proxy_protocol_malformed" // an invalid, oversized or truncated header, or one without a TCP client address
)

// errPeerGone is a connection closed before it sent anything: a
// balancer's TCP health check, say. It is not refused, just over.
var errPeerGone = errors.New("closed before sending anything")

// readHeader reads the connection's PROXY header, within timeout. From a
// trusted proxy, a header is required; from anyone else, none is looked
// for beyond seeing whether the first bytes are one (they are then
// refused), and bytes that are not a header are left for the Kafka
// framing.
func (c *proxiedConn) readHeader(timeout time.Duration) error {
	c.br = bufio.NewReaderSize(c.Conn, headerBufSize)
	if err := c.Conn.SetReadDeadline(time.Now().Add(timeout)); err != nil {
		return err
	}
	h, err := proxyproto.Read(c.br)
	// Best effort: a connection whose deadline cannot be cleared is
	// closed, and its next read says so.
	_ = c.Conn.SetReadDeadline(time.Time{})
	var ne net.Error
	switch {
	case err == nil && !c.trusted:
		return &headerError{reasonProxyUntrusted, fmt.Errorf("a PROXY header from %s, which is not in trusted_proxies", c.Peer())}
	case err == nil:
		client, err := headerClient(h)
		if err != nil {
			return &headerError{reasonProxyMalformed, err}
		}
		c.client = client
		return nil
	case errors.Is(err, proxyproto.ErrNoProxyProtocol) && c.br.Buffered() == 0:
		return errPeerGone
	case errors.As(err, &ne) && ne.Timeout():
		if !c.trusted {
			return nil // a plain client that has not spoken yet
		}
		return &headerError{reasonProxyMissing, fmt.Errorf("no PROXY header from trusted proxy %s within %s", c.Peer(), timeout)}
	case errors.Is(err, proxyproto.ErrNoProxyProtocol):
		if !c.trusted {
			return nil
		}
		return &headerError{reasonProxyMissing, fmt.Errorf("trusted proxy %s sent no PROXY header", c.Peer())}
	case !c.trusted:
		// It began with a signature: refused whatever followed.
		return &headerError{reasonProxyUntrusted, fmt.Errorf("a PROXY header from %s, which is not in trusted_proxies: %w", c.Peer(), err)}
	default:
		return &headerError{reasonProxyMalformed, fmt.Errorf("PROXY header from %s: %w", c.Peer(), err)}
	}
}

// headerClient is the client address a valid header names: nil for LOCAL
// (and v1 UNKNOWN), which keep the peer's. A PROXY header must name a TCP
// client over IPv4 or IPv6: there is no other address to match host ACLs
// against.
func headerClient(h *proxyproto.Header) (net.Addr, error) {
	if h.Command.IsLocal() {
		return nil, nil
	}
	src, _, ok := h.TCPAddrs()
	if !ok || src.IP == nil {
		return nil, fmt.Errorf("PROXY header names no TCP client address (family and protocol %#x)", byte(h.TransportProtocol))
	}
	ap := src.AddrPort()
	// A v4 client in a v6 header is written as the v4 address that host
	// ACLs name.
	return net.TCPAddrFromAddrPort(netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())), nil
}

// proxiedOf is the PROXY protocol layer of a client connection, under its
// TLS if any; nil when its listener does not take the protocol.
func proxiedOf(nc net.Conn) *proxiedConn {
	if tc, ok := nc.(*tls.Conn); ok {
		nc = tc.NetConn()
	}
	pc, _ := nc.(*proxiedConn)
	return pc
}
