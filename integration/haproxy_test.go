//go:build integration

package integration

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pires/go-proxyproto"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/kafka-auth-proxy/kafka-auth-proxy/authn"
	"github.com/kafka-auth-proxy/kafka-auth-proxy/config"
)

// The loopback addresses of the HAProxy test. The proxy listens on
// 127.0.0.1 and trusts only that address, which is where HAProxy
// connects to it from; HAProxy serves the same ports on haproxyHost,
// which the proxy advertises, so that every connection of a client,
// bootstrap and broker, goes through HAProxy. Clients bind their own
// addresses, which only the PROXY header carries to the proxy.
const (
	haproxyHost   = "127.0.0.10"
	allowedClient = "127.0.0.2" // may write the topic
	deniedClient  = "127.0.0.3" // a DENY ACL for its host
	guesser       = "127.0.0.4" // fails its logins until throttled
	untrusted     = "127.0.0.5" // connects to the proxy directly
)

// startHAProxy runs Debian's haproxy in front of the proxy: for each port,
// a TCP listener on haproxyHost whose server is the proxy's port on
// 127.0.0.1, with send-proxy-v2.
func startHAProxy(t *testing.T, ports ...int) {
	t.Helper()
	bin, err := exec.LookPath("haproxy")
	if err != nil {
		t.Fatal("haproxy is not installed: run make prereqs (Debian's haproxy package)")
	}
	var cfg strings.Builder
	cfg.WriteString("global\n    maxconn 256\n\ndefaults\n    mode tcp\n    timeout connect 5s\n    timeout client 60s\n    timeout server 60s\n")
	for _, p := range ports {
		fmt.Fprintf(&cfg, "\nlisten kafka-%d\n    bind %s:%d\n    server proxy 127.0.0.1:%d send-proxy-v2\n", p, haproxyHost, p, p)
	}
	path := filepath.Join(t.TempDir(), "haproxy.cfg")
	if err := os.WriteFile(path, []byte(cfg.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-db", "-f", path)
	out := &lockedLog{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill() // the process this test started, by its pid
		<-exited
		if t.Failed() {
			t.Logf("haproxy output:\n%s", out)
		}
	})
	deadline := time.Now().Add(10 * time.Second)
	for _, p := range ports {
		for {
			nc, err := net.DialTimeout("tcp", net.JoinHostPort(haproxyHost, strconv.Itoa(p)), time.Second)
			if err == nil {
				nc.Close()
				break
			}
			select {
			case err := <-exited:
				exited <- err
				t.Fatalf("haproxy exited: %v\n%s", err, out)
			default:
			}
			if time.Now().After(deadline) {
				t.Fatalf("haproxy does not listen on %s:%d: %v\n%s", haproxyHost, p, err, out)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
}

// lockedLog collects a process's output.
type lockedLog struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// dialerFrom connects from the loopback address ip.
func dialerFrom(ip string) *net.Dialer {
	return &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}, Timeout: 5 * time.Second}
}

// loginFrom logs in with PLAIN over a new connection from ip to addr and
// returns the SaslAuthenticate error code.
func loginFrom(t *testing.T, ip, addr, user, pass string) int16 {
	t.Helper()
	nc, err := dialerFrom(ip).Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	hs := kmsg.NewPtrSASLHandshakeRequest()
	hs.Version, hs.Mechanism = 1, "PLAIN"
	auth := kmsg.NewPtrSASLAuthenticateRequest()
	auth.Version, auth.SASLAuthBytes = 1, []byte("\x00"+user+"\x00"+pass)
	var code int16
	for i, req := range []kmsg.Request{hs, auth} {
		body, err := rawRequest(nc, int32(i), req)
		if err != nil {
			t.Fatalf("login from %s: %v", ip, err)
		}
		if code = int16(binary.BigEndian.Uint16(body[4:6])); code != 0 {
			break
		}
	}
	return code
}

// A client behind HAProxy (send-proxy-v2) is seen by its own address: host
// ACLs match it, the audit log records it, and its failed logins throttle
// it, not HAProxy that every client shares. A PROXY header sent straight
// to the proxy from an address that is not a trusted proxy is refused.
func TestHAProxyClientsAreSeenByTheirOwnAddress(t *testing.T) {
	topic := topicName(t)
	// The proxy's ports, free on 127.0.0.1 and so, with nothing on the
	// wildcard address, on haproxyHost: bootstrap on boot, broker N on
	// boot+1+N.
	boot := freePortBase(t, 10)
	ap := startAuthProxy(t, single.Bootstrap, func(cfg *config.Config) {
		cfg.Listener.Address = "127.0.0.1:" + strconv.Itoa(boot)
		cfg.Listener.BrokerPortBase = boot + 1
		cfg.Listener.AdvertisedHost = haproxyHost
		cfg.Listener.ProxyProtocol = true
		cfg.Listener.TrustedProxies = []string{"127.0.0.1/32"}
		cfg.Authentication.MaxFailuresPerSource = 3
		cfg.Authorization.ACLs = []config.ACL{{Principal: "User:*", Host: deniedClient, ResourceType: "topic",
			Name: topic, Operation: "write", Permission: "deny"}}
	})
	// single's broker is node 1.
	startHAProxy(t, boot, boot+2)
	viaHAProxy := net.JoinHostPort(haproxyHost, strconv.Itoa(boot))
	createTopicDirect(t, topic)
	id, secret := ap.createKey(t, ap.createAccount(t))

	produceFrom := func(ip string) error {
		cl, err := kgo.NewClient(kgo.SeedBrokers(viaHAProxy), kgo.Dialer(dialerFrom(ip).DialContext),
			plainLogin(id, secret), kgo.DefaultProduceTopic(topic), kgo.RecordRetries(2))
		if err != nil {
			t.Fatal(err)
		}
		defer cl.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		return cl.ProduceSync(ctx, kgo.StringRecord("from "+ip)).FirstErr()
	}

	t.Run("host ACLs", func(t *testing.T) {
		if err := produceFrom(allowedClient); err != nil {
			t.Errorf("client %s: %v", allowedClient, err)
		}
		if err := produceFrom(deniedClient); !errors.Is(err, kerr.TopicAuthorizationFailed) {
			t.Errorf("client %s, denied by its host: %v, want TOPIC_AUTHORIZATION_FAILED", deniedClient, err)
		}
	})

	t.Run("audit", func(t *testing.T) {
		from := map[string]bool{}
		for _, ev := range readAudit(t, ap.auditFile) {
			if ev.Data.Result == "success" && ev.Data.APIKey == id {
				host, _, _ := net.SplitHostPort(ev.Data.Source)
				from[host] = true
			}
		}
		if !from[allowedClient] || !from[deniedClient] || len(from) != 2 {
			t.Errorf("logins audited from %v, want %s and %s", from, allowedClient, deniedClient)
		}
	})

	t.Run("throttle", func(t *testing.T) {
		for i := range 3 {
			if code := loginFrom(t, guesser, viaHAProxy, id, "wrong-"+strconv.Itoa(i)); code == 0 {
				t.Fatal("a wrong secret logged in")
			}
		}
		if code := loginFrom(t, guesser, viaHAProxy, id, secret); code == 0 {
			t.Errorf("client %s logged in past max_failures_per_source", guesser)
		}
		if code := loginFrom(t, allowedClient, viaHAProxy, id, secret); code != 0 {
			t.Errorf("client %s behind the same HAProxy was refused: error %d", allowedClient, code)
		}
		var throttled []string
		for _, ev := range readAudit(t, ap.auditFile) {
			if ev.Data.Reason == authn.ReasonThrottled {
				throttled = append(throttled, ev.Data.Source)
			}
		}
		if len(throttled) != 1 || !strings.HasPrefix(throttled[0], guesser+":") {
			t.Errorf("throttled logins from %v, want one from %s", throttled, guesser)
		}
	})

	t.Run("untrusted header", func(t *testing.T) {
		direct := net.JoinHostPort("127.0.0.1", strconv.Itoa(boot))
		nc, err := dialerFrom(untrusted).Dial("tcp", direct)
		if err != nil {
			t.Fatal(err)
		}
		defer nc.Close()
		header := proxyproto.HeaderProxyFromAddrs(2, &net.TCPAddr{IP: net.ParseIP(allowedClient), Port: 40000}, nc.RemoteAddr())
		if _, err := header.WriteTo(nc); err != nil {
			t.Fatal(err)
		}
		req := kmsg.NewPtrApiVersionsRequest()
		req.Version = 3
		req.ClientSoftwareName, req.ClientSoftwareVersion = "raw", "1"
		if _, err := rawRequest(nc, 0, req); err == nil {
			t.Fatal("a PROXY header from an untrusted address was answered")
		}
		if n := counter(t, ap.reg, "kafka_auth_proxy_requests_rejected_total", "reason", "proxy_protocol_untrusted"); n != 1 {
			t.Errorf("requests_rejected_total{reason=proxy_protocol_untrusted} = %v, want 1", n)
		}
	})
}
