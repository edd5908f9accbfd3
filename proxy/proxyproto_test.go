package proxy

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/pires/go-proxyproto"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/kafka-auth-proxy/kafka-auth-proxy/authz"
)

// The addresses of the PROXY protocol tests: the load balancer is the
// test itself, on 127.0.0.1 (or 127.0.0.2, an untrusted one); the
// clients it speaks for are in TEST-NET-1.
const (
	lbAddr      = "127.0.0.1"
	otherAddr   = "127.0.0.2"
	clientHost  = "192.0.2.7"
	clientHost2 = "192.0.2.8"
)

// behindLB makes the main listener take the PROXY protocol from trusted.
func behindLB(trusted ...string) func(*testSetup) {
	return func(s *testSetup) {
		l := &s.proxy.Listeners[0]
		l.ProxyProtocol = true
		for _, t := range trusted {
			l.TrustedProxies = append(l.TrustedProxies, netip.MustParsePrefix(t))
		}
	}
}

// proxyHeader is a PROXY header of version 1 or 2 naming client (host:port)
// as the source of a connection to the proxy at dst.
func proxyHeader(t testing.TB, version byte, client, dst string) []byte {
	t.Helper()
	src, err := net.ResolveTCPAddr("tcp", client)
	if err != nil {
		t.Fatal(err)
	}
	d, err := net.ResolveTCPAddr("tcp", dst)
	if err != nil {
		t.Fatal(err)
	}
	b, err := proxyproto.HeaderProxyFromAddrs(version, src, d).Format()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// dialFrom connects to addr from the local address from (an IP on
// loopback) and writes prefix first.
func dialFrom(t testing.TB, from, addr string, prefix []byte) *rawConn {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}, Timeout: 5 * time.Second}
	nc, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	if len(prefix) > 0 {
		if _, err := nc.Write(prefix); err != nil {
			t.Fatal(err)
		}
	}
	return &rawConn{t: t, nc: nc, br: bufio.NewReader(nc)}
}

// loginVia logs in with key over c; false when the login is refused.
func loginVia(t *testing.T, c *rawConn, key apiKey) bool {
	t.Helper()
	if resp := c.handshake(1, "PLAIN"); resp.ErrorCode != 0 {
		t.Fatalf("handshake: %v", kerr.ErrorForCode(resp.ErrorCode))
	}
	resp, ok := c.authenticate(2, plainMsg(key))
	return ok && resp.ErrorCode == 0
}

// expectRefused checks that the proxy closes c without answering a
// request, and that nothing it sent reached upstream.
func expectRefused(t *testing.T, p *testProxy, c *rawConn) {
	t.Helper()
	req := kmsg.NewPtrApiVersionsRequest()
	req.Version = 3
	req.ClientSoftwareName, req.ClientSoftwareVersion = "raw", "1"
	if c.send(req, kmsg.NewPtrApiVersionsResponse()) {
		t.Fatal("the proxy answered a connection it should have refused")
	}
	if n := counterValue(p.srv.metrics.upstreamOpened); n != 0 {
		t.Errorf("%v upstream connections opened for client traffic, want 0", n)
	}
}

// expectClosedUnasked checks that the proxy closes c, to which the test
// sends nothing more, within 5 s.
func expectClosedUnasked(t *testing.T, c *rawConn) {
	t.Helper()
	_ = c.nc.SetReadDeadline(time.Now().Add(5 * time.Second))
	if n, err := c.nc.Read(make([]byte, 1)); n > 0 || !errors.Is(err, io.EOF) {
		t.Fatalf("read %d bytes, %v; want the connection closed", n, err)
	}
}

func counterValue(c prometheus.Counter) float64 {
	var m dto.Metric
	if err := c.Write(&m); err != nil {
		return -1
	}
	return m.GetCounter().GetValue()
}

func rejected(p *testProxy, reason string) float64 {
	return counterValue(p.srv.metrics.requestsRejected.WithLabelValues(reason))
}

// auditEvent is the part of an audit event these tests read.
type auditEvent struct {
	Type string `json:"type"`
	Data struct {
		Principal string `json:"principal"`
		Source    string `json:"source_address"`
		Result    string `json:"result"`
		Reason    string `json:"reason"`
		Resource  string `json:"resource_name"`
		Granted   bool   `json:"granted"`
	} `json:"data"`
}

func readAuditEvents(t *testing.T, path string) []auditEvent {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []auditEvent
	for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		var ev auditEvent
		if err := json.Unmarshal([]byte(line), &ev); err != nil {
			t.Fatalf("audit line %q: %v", line, err)
		}
		out = append(out, ev)
	}
	return out
}

// A trusted load balancer's header, v1 or v2, names the client: its
// address is the one host ACLs match, and the one the audit log holds for
// the login and for the authorization decisions.
func TestProxyProtocolHeaderNamesTheClient(t *testing.T) {
	for _, version := range []byte{1, 2} {
		t.Run(fmt.Sprintf("v%d", version), func(t *testing.T) {
			p := newAuthzTestProxy(t, behindLB(lbAddr+"/32"), func(s *testSetup) {
				// sa-app may write payments only from clientHost.
				s.policy.ACLs = append(s.policy.ACLs, authz.ACL{Principal: "User:sa-app", Host: clientHost,
					ResourceType: authz.ResourceTopic, Name: "payments", Pattern: authz.PatternLiteral,
					Operation: authz.OpWrite, Permission: authz.PermissionAllow})
			})
			addr := p.srv.BootstrapAddr()
			for _, tc := range []struct {
				client string
				want   int16
			}{
				{clientHost + ":40001", 0},
				{clientHost2 + ":40002", kerr.TopicAuthorizationFailed.Code},
			} {
				c := dialFrom(t, lbAddr, addr, proxyHeader(t, version, tc.client, addr))
				if !loginVia(t, c, p.app) {
					t.Fatalf("%s: login refused", tc.client)
				}
				if got := produceCodes(roundTrip[*kmsg.ProduceResponse](t, c, produceRequest(-1, "payments")))["payments"]; got != tc.want {
					t.Errorf("client %s: produce to payments: error %d, want %d", tc.client, got, tc.want)
				}
			}
			var logins, denials []string
			for _, ev := range readAuditEvents(t, p.auditFile) {
				switch {
				case ev.Type == "io.kafka-auth-proxy/authentication" && ev.Data.Result == "success":
					logins = append(logins, ev.Data.Source)
				case ev.Type == "io.kafka-auth-proxy/authorization" && ev.Data.Resource == "payments" && !ev.Data.Granted:
					denials = append(denials, ev.Data.Source)
				}
			}
			if want := []string{clientHost + ":40001", clientHost2 + ":40002"}; !equalStrings(logins, want) {
				t.Errorf("logins audited from %v, want %v", logins, want)
			}
			if want := []string{clientHost2 + ":40002"}; !equalStrings(denials, want) {
				t.Errorf("denials audited from %v, want %v", denials, want)
			}
		})
	}
}

func equalStrings(a, b []string) bool {
	return strings.Join(a, ",") == strings.Join(b, ",")
}

// The per-address login throttle counts the header's client, not the
// load balancer that all clients share.
func TestProxyProtocolThrottlesTheClientNotTheBalancer(t *testing.T) {
	p, key := newAuthTestProxy(t, func(s *testSetup) {
		behindLB(lbAddr + "/32")(s)
		s.authn.Limits.PerSource = 2
	})
	addr := p.srv.BootstrapAddr()
	wrong := apiKey{key.id, "not-the-secret"}
	for i := range 2 {
		c := dialFrom(t, lbAddr, addr, proxyHeader(t, 2, clientHost+":40010", addr))
		if loginVia(t, c, wrong) {
			t.Fatalf("login %d with a wrong secret succeeded", i)
		}
	}
	c := dialFrom(t, lbAddr, addr, proxyHeader(t, 2, clientHost+":40011", addr))
	if loginVia(t, c, key) {
		t.Error("the throttled client logged in")
	}
	c = dialFrom(t, lbAddr, addr, proxyHeader(t, 2, clientHost2+":40012", addr))
	if !loginVia(t, c, key) {
		t.Error("another client behind the same balancer was throttled")
	}
	// A v2 LOCAL header (a health check) keeps the balancer's address,
	// which has no failures.
	local, err := (&proxyproto.Header{Version: 2, Command: proxyproto.LOCAL, TransportProtocol: proxyproto.UNSPEC}).Format()
	if err != nil {
		t.Fatal(err)
	}
	c = dialFrom(t, lbAddr, addr, local)
	if !loginVia(t, c, key) {
		t.Error("a LOCAL connection from the balancer was refused")
	}
}

// Behind a listener that takes the PROXY protocol, a connection from an
// address that is not a trusted proxy is a plain client: one that sends a
// header is refused, and nothing it sends is forwarded; one that does not
// is served.
func TestProxyProtocolFromAnUntrustedAddressIsRefused(t *testing.T) {
	p, key := newAuthTestProxy(t, behindLB(otherAddr+"/32"))
	addr := p.srv.BootstrapAddr()
	for _, version := range []byte{1, 2} {
		expectRefused(t, p, dialFrom(t, lbAddr, addr, proxyHeader(t, version, clientHost+":40020", addr)))
	}
	// So is an invalid one: it starts with the signature.
	v2 := proxyHeader(t, 2, clientHost+":40021", addr)
	expectRefused(t, p, dialFrom(t, lbAddr, addr, v2[:14]))
	if n := rejected(p, reasonProxyUntrusted); n != 3 {
		t.Errorf("requests_rejected_total{reason=%q} = %v, want 3", reasonProxyUntrusted, n)
	}
	c := dialFrom(t, lbAddr, addr, nil)
	if !loginVia(t, c, key) || !c.metadata() {
		t.Error("a plain client from an untrusted address was not served")
	}
}

// A trusted proxy must send a header; an invalid, oversized or
// incomplete one closes the connection.
func TestProxyProtocolFromATrustedProxyMustBeValid(t *testing.T) {
	p, _ := newAuthTestProxy(t, func(s *testSetup) {
		behindLB(lbAddr + "/32")(s)
		s.proxy.AuthTimeout = 500 * time.Millisecond
	})
	addr := p.srv.BootstrapAddr()
	expectRefused(t, p, dialFrom(t, lbAddr, addr, nil)) // a Kafka request, no header
	v2 := proxyHeader(t, 2, clientHost+":40030", addr)
	oversized := append(bytes.Clone(v2[:14]), 0xff, 0xff) // a length of 65535
	oversized = append(oversized, make([]byte, 5000)...)
	unixV2 := append(bytes.Clone(v2[:12]), 0x21, 0x31, 0, 216) // PROXY over AF_UNIX
	unixV2 = append(unixV2, make([]byte, 216)...)
	for name, header := range map[string][]byte{
		"v1 with a bad address": []byte("PROXY TCP4 192.0.2.300 127.0.0.1 40030 9092\r\n"),
		"v1 without CRLF":       []byte("PROXY TCP4 " + strings.Repeat("1", 200)),
		"v2 over 4 KiB":         oversized,
		"v2 with a bad version": append(bytes.Clone(v2[:12]), 0x31, 0x11, 0, 12),
		"v2 naming a unix peer": unixV2,
	} {
		t.Run(name, func(t *testing.T) {
			expectRefused(t, p, dialFrom(t, lbAddr, addr, header))
		})
	}
	// A header that stops short is waited for up to the authentication
	// timeout.
	expectClosedUnasked(t, dialFrom(t, lbAddr, addr, v2[:18]))
	if n := rejected(p, reasonProxyMissing); n != 2 { // no header; the incomplete one
		t.Errorf("requests_rejected_total{reason=%q} = %v, want 2", reasonProxyMissing, n)
	}
	if n := rejected(p, reasonProxyMalformed); n != 5 {
		t.Errorf("requests_rejected_total{reason=%q} = %v, want 5", reasonProxyMalformed, n)
	}
}

// Without proxy_protocol, a header is not looked for: it is a Kafka frame
// like any other, and too large a one.
func TestWithoutProxyProtocolAHeaderIsNotParsed(t *testing.T) {
	p, _ := newAuthTestProxy(t, nil)
	addr := p.srv.BootstrapAddr()
	expectRefused(t, p, dialFrom(t, lbAddr, addr, proxyHeader(t, 1, clientHost+":40040", addr)))
	expectRefused(t, p, dialFrom(t, lbAddr, addr, proxyHeader(t, 2, clientHost+":40041", addr)))
	if n := rejected(p, reasonFrameTooLarge); n != 2 {
		t.Errorf("requests_rejected_total{reason=%q} = %v, want 2", reasonFrameTooLarge, n)
	}
	for _, r := range []string{reasonProxyUntrusted, reasonProxyMissing, reasonProxyMalformed} {
		if n := rejected(p, r); n != 0 {
			t.Errorf("requests_rejected_total{reason=%q} = %v, want 0", r, n)
		}
	}
}

// On a TLS listener the header comes before the handshake.
func TestProxyProtocolUnderTLS(t *testing.T) {
	certFile, keyFile, pool := writeCert(t)
	p, key := newAuthTestProxy(t, func(s *testSetup) {
		behindLB(lbAddr + "/32")(s)
		s.proxy.Listeners[0].TLS = &ServerTLS{CertFile: certFile, KeyFile: keyFile}
	})
	addr := p.srv.BootstrapAddr()
	raw := dialFrom(t, lbAddr, addr, proxyHeader(t, 2, clientHost+":40050", addr))
	tc := tls.Client(raw.nc, &tls.Config{RootCAs: pool, ServerName: "127.0.0.1"})
	c := &rawConn{t: t, nc: tc, br: bufio.NewReader(tc)}
	if !loginVia(t, c, key) || !c.metadata() {
		t.Fatal("a TLS client behind the balancer was not served")
	}
	p.srv.mu.RLock()
	var got []string
	for conn := range p.srv.conns {
		got = append(got, conn.nc.RemoteAddr().String())
	}
	p.srv.mu.RUnlock()
	if !equalStrings(got, []string{clientHost + ":40050"}) {
		t.Errorf("connections from %v, want the header's client", got)
	}
}

// FuzzProxyHeader feeds arbitrary first bytes to the header reader of a
// trusted and an untrusted connection: it never panics, it consumes
// nothing of what is not a header, and it only accepts a header from a
// trusted proxy.
func FuzzProxyHeader(f *testing.F) {
	f.Add([]byte("PROXY TCP4 192.0.2.7 127.0.0.1 40001 9092\r\n\x00\x00\x00\x10"))
	f.Add([]byte("PROXY TCP6 2001:db8::1 ::1 40001 9092\r\n"))
	f.Add([]byte("PROXY UNKNOWN\r\n"))
	f.Add(append([]byte("\r\n\r\n\x00\r\nQUIT\n\x21\x11\x00\x0c"), 192, 0, 2, 7, 127, 0, 0, 1, 0x9c, 0x41, 0x23, 0x84))
	f.Add([]byte("\r\n\r\n\x00\r\nQUIT\n\x20\x00\x00\x00"))
	f.Add([]byte{0, 0, 0, 20, 0, 18, 0, 3})
	f.Add([]byte("P"))
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, trusted := range []bool{true, false} {
			client, server := net.Pipe()
			go func() {
				_, _ = client.Write(data)
				client.Close()
			}()
			pc := &proxiedConn{Conn: server, trusted: trusted}
			err := pc.readHeader(time.Second)
			rest, _ := io.ReadAll(pc)
			server.Close()
			var he *headerError
			switch {
			case err == nil && !trusted:
				if !bytes.Equal(rest, data) {
					t.Fatalf("untrusted: %q consumed from %q", data[:len(data)-len(rest)], data)
				}
			case err == nil:
				if !bytes.HasPrefix(data, []byte("PROXY ")) && !bytes.HasPrefix(data, []byte("\r\n\r\n\x00\r\nQUIT\n")) {
					t.Fatalf("trusted: %q accepted as a header", data)
				}
				if !bytes.HasSuffix(data, rest) {
					t.Fatalf("trusted: %q left after the header of %q", rest, data)
				}
			case errors.Is(err, errPeerGone):
				if len(data) != 0 {
					t.Fatalf("%q: reported as sending nothing", data)
				}
			case !errors.As(err, &he):
				t.Fatalf("%q: %v is not a refusal", data, err)
			}
		}
	})
}

// Clients behind a balancer produce and consume as others do, large
// records (which the relay copies socket to socket) included.
func TestProxyProtocolClientsProduceAndConsume(t *testing.T) {
	fake, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(1, "orders"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(fake.Close)
	p := startProxy(t, fake.ListenAddrs(), behindLB(lbAddr+"/32"), fake)
	// Each connection, bootstrap and broker, starts with a header, as
	// through a balancer.
	viaLB := kgo.Dialer(func(ctx context.Context, network, host string) (net.Conn, error) {
		nc, err := (&net.Dialer{}).DialContext(ctx, network, host)
		if err != nil {
			return nil, err
		}
		if _, err := nc.Write(proxyHeader(t, 2, clientHost+":40060", host)); err != nil {
			nc.Close()
			return nil, err
		}
		return nc, nil
	})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	big := bytes.Repeat([]byte("x"), 1<<20)
	prod := p.client(t, viaLB, kgo.DefaultProduceTopic("orders"), kgo.ProducerBatchMaxBytes(2<<20))
	if err := prod.ProduceSync(ctx, &kgo.Record{Value: big}, kgo.StringRecord("small")).FirstErr(); err != nil {
		t.Fatal(err)
	}
	cons := p.client(t, viaLB, kgo.ConsumeTopics("orders"), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	var got [][]byte
	for len(got) < 2 {
		fs := cons.PollFetches(ctx)
		if err := ctx.Err(); err != nil {
			t.Fatalf("got %d of 2 records: %v", len(got), err)
		}
		fs.EachError(func(_ string, _ int32, err error) { t.Fatal(err) })
		fs.EachRecord(func(r *kgo.Record) { got = append(got, r.Value) })
	}
	if !bytes.Equal(got[0], big) || string(got[1]) != "small" {
		t.Errorf("consumed %d and %q bytes, want the records produced", len(got[0]), got[1])
	}
}
