package proxy

import (
	"bufio"
	"context"
	"net"
	"strconv"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kbin"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
	"github.com/twmb/franz-go/pkg/sasl/plain"

	"github.com/kafka-auth-proxy/kafka-auth-proxy/authn"
	"github.com/kafka-auth-proxy/kafka-auth-proxy/authn/apikey"
	"github.com/kafka-auth-proxy/kafka-auth-proxy/authn/pool"
)

const authTestCluster = "auth-test-cluster"

// apiKey is a key of the authenticated test proxy.
type apiKey struct{ id, secret string }

// newAuthTestProxy runs a proxy with auth: sasl in front of kfake, with one
// API key on account sa-test.
func newAuthTestProxy(t testing.TB, edit func(*testSetup)) (*testProxy, apiKey) {
	t.Helper()
	fake, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(1, "t"), kfake.ClusterID(authTestCluster))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(fake.Close)
	key, declared := makeAPIKey(t, "sa-test")
	p := startProxy(t, fake.ListenAddrs(), func(s *testSetup) {
		s.authn = testAuthn()
		s.authn.Accounts = []string{"sa-test"}
		s.authn.Keys = []authn.Key{declared}
		s.policy.SuperUsers = []string{"User:sa-test"}
		if edit != nil {
			edit(s)
		}
	}, fake)
	return p, key
}

// makeAPIKey makes a key of account, valid for authTestCluster, and its
// declaration for the configuration file.
func makeAPIKey(t testing.TB, account string) (apiKey, authn.Key) {
	t.Helper()
	id, err := apikey.NewKeyID()
	if err != nil {
		t.Fatal(err)
	}
	secret, err := apikey.NewSecret()
	if err != nil {
		t.Fatal(err)
	}
	hash, err := apikey.HashSecret(secret)
	if err != nil {
		t.Fatal(err)
	}
	return apiKey{id, secret}, authn.Key{ID: id, SecretHash: hash, Account: account, Cluster: authTestCluster}
}

// rawConn is a client speaking the protocol by hand.
type rawConn struct {
	t    testing.TB
	nc   net.Conn
	br   *bufio.Reader
	corr int32
}

func dialRaw(t testing.TB, addr string) *rawConn {
	t.Helper()
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	return &rawConn{t: t, nc: nc, br: bufio.NewReader(nc)}
}

// send writes req and returns its response, decoded into resp; false when
// the proxy closed the connection instead.
func (c *rawConn) send(req kmsg.Request, resp kmsg.Response) bool {
	c.t.Helper()
	c.corr++
	frame := kmsg.NewRequestFormatter(kmsg.FormatterClientID("raw")).AppendRequest(nil, req, c.corr)
	return c.exchange(frame, func(payload []byte) {
		hdr := 4
		if req.IsFlexible() && req.Key() != kmsg.ApiVersions.Int16() {
			hdr++
		}
		resp.SetVersion(req.GetVersion())
		if err := resp.ReadFrom(payload[hdr:]); err != nil {
			c.t.Fatalf("%T: %v", resp, err)
		}
	})
}

// sendRaw writes a bare SASL token (after a v0 handshake) and returns the
// token answered.
func (c *rawConn) sendRaw(token []byte) ([]byte, bool) {
	c.t.Helper()
	frame := kbin.AppendInt32(nil, int32(len(token)))
	var out []byte
	ok := c.exchange(append(frame, token...), func(payload []byte) { out = payload })
	return out, ok
}

func (c *rawConn) exchange(frame []byte, decode func([]byte)) bool {
	c.t.Helper()
	_ = c.nc.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.nc.Write(frame); err != nil {
		return false
	}
	f, err := readFrame(c.br, 1<<20, nil)
	if err != nil {
		if ne, ok := err.(net.Error); ok && ne.Timeout() {
			c.t.Fatal("the proxy neither answered nor closed the connection")
		}
		return false
	}
	decode(f.payload())
	return true
}

func (c *rawConn) handshake(version int16, mech string) *kmsg.SASLHandshakeResponse {
	c.t.Helper()
	req := kmsg.NewPtrSASLHandshakeRequest()
	req.Version, req.Mechanism = version, mech
	resp := kmsg.NewPtrSASLHandshakeResponse()
	if !c.send(req, resp) {
		c.t.Fatal("SaslHandshake was not answered")
	}
	return resp
}

func (c *rawConn) authenticate(version int16, msg []byte) (*kmsg.SASLAuthenticateResponse, bool) {
	c.t.Helper()
	req := kmsg.NewPtrSASLAuthenticateRequest()
	req.Version, req.SASLAuthBytes = version, msg
	resp := kmsg.NewPtrSASLAuthenticateResponse()
	return resp, c.send(req, resp)
}

func (c *rawConn) metadata() bool {
	c.t.Helper()
	req := kmsg.NewPtrMetadataRequest()
	req.Version = 12
	return c.send(req, kmsg.NewPtrMetadataResponse())
}

func plainMsg(k apiKey) []byte { return []byte("\x00" + k.id + "\x00" + k.secret) }

func TestAPIKeyLoginThenTrafficFlows(t *testing.T) {
	p, key := newAuthTestProxy(t, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cl := p.client(t, kgo.SASL(plain.Auth{User: key.id, Pass: key.secret}.AsMechanism()), kgo.DefaultProduceTopic("t"))
	if err := cl.ProduceSync(ctx, kgo.StringRecord("hello")).FirstErr(); err != nil {
		t.Fatal(err)
	}
	bad := p.client(t, kgo.SASL(plain.Auth{User: key.id, Pass: "wrong"}.AsMechanism()), kgo.RequestRetries(0))
	if err := bad.Ping(ctx); err == nil {
		t.Fatal("a wrong secret was accepted")
	}
}

func TestOnlyApiVersionsAndSASLBeforeLogin(t *testing.T) {
	p, key := newAuthTestProxy(t, nil)
	c := dialRaw(t, p.srv.BootstrapAddr())
	av := kmsg.NewPtrApiVersionsRequest()
	av.Version = 3
	avResp := kmsg.NewPtrApiVersionsResponse()
	if !c.send(av, avResp) {
		t.Fatal("ApiVersions before login was not answered")
	}
	ranges := map[int16][2]int16{}
	for _, k := range avResp.ApiKeys {
		ranges[k.ApiKey] = [2]int16{k.MinVersion, k.MaxVersion}
	}
	if ranges[kmsg.SASLHandshake.Int16()] != [2]int16{0, 1} || ranges[kmsg.SASLAuthenticate.Int16()] != [2]int16{0, 2} {
		t.Errorf("SASL versions advertised: %v %v", ranges[kmsg.SASLHandshake.Int16()], ranges[kmsg.SASLAuthenticate.Int16()])
	}
	if c.metadata() {
		t.Fatal("Metadata before login was answered")
	}

	c = dialRaw(t, p.srv.BootstrapAddr())
	if hs := c.handshake(1, "PLAIN"); hs.ErrorCode != 0 {
		t.Fatalf("handshake: %v", kerr.ErrorForCode(hs.ErrorCode))
	}
	if c.metadata() {
		t.Fatal("Metadata after the handshake but before SaslAuthenticate was answered")
	}
	c = dialRaw(t, p.srv.BootstrapAddr())
	c.handshake(1, "PLAIN")
	if resp, ok := c.authenticate(2, plainMsg(key)); !ok || resp.ErrorCode != 0 {
		t.Fatalf("login: %v %v", ok, resp)
	}
	if !c.metadata() {
		t.Fatal("Metadata after login was not answered")
	}
}

func TestFailedLoginIsAnsweredGenericallyThenClosed(t *testing.T) {
	p, key := newAuthTestProxy(t, nil)
	c := dialRaw(t, p.srv.BootstrapAddr())
	c.handshake(1, "PLAIN")
	resp, ok := c.authenticate(1, []byte("\x00"+key.id+"\x00not-the-secret"))
	if !ok || resp.ErrorCode != kerr.SaslAuthenticationFailed.Code {
		t.Fatalf("answer %v %+v; want SASL_AUTHENTICATION_FAILED", ok, resp)
	}
	if resp.ErrorMessage == nil || *resp.ErrorMessage != "Authentication failed: Invalid username or password" {
		t.Errorf("error message %v", resp.ErrorMessage)
	}
	if c.metadata() {
		t.Fatal("the connection stayed open after a failed login")
	}
}

func TestUnsupportedMechanismListsTheEnabledOnes(t *testing.T) {
	p, _ := newAuthTestProxy(t, nil)
	c := dialRaw(t, p.srv.BootstrapAddr())
	hs := c.handshake(1, "SCRAM-SHA-512")
	if hs.ErrorCode != kerr.UnsupportedSaslMechanism.Code || len(hs.SupportedMechanisms) != 1 || hs.SupportedMechanisms[0] != "PLAIN" {
		t.Fatalf("answer %+v", hs)
	}
	if c.metadata() {
		t.Fatal("the connection stayed open after an unsupported mechanism")
	}
}

func TestHandshakeV0LogsInWithRawTokens(t *testing.T) {
	p, key := newAuthTestProxy(t, nil)
	c := dialRaw(t, p.srv.BootstrapAddr())
	if hs := c.handshake(0, "PLAIN"); hs.ErrorCode != 0 {
		t.Fatalf("handshake v0: %+v", hs)
	}
	out, ok := c.sendRaw(plainMsg(key))
	if !ok || len(out) != 0 {
		t.Fatalf("raw PLAIN token answered %v %q; want an empty token", ok, out)
	}
	if !c.metadata() {
		t.Fatal("Metadata after a raw login was not answered")
	}

	c = dialRaw(t, p.srv.BootstrapAddr())
	c.handshake(0, "PLAIN")
	if _, ok := c.sendRaw([]byte("\x00" + key.id + "\x00wrong")); ok {
		t.Fatal("a failed raw login was answered; the connection must close")
	}
}

func TestSessionLifetimeIsReportedAndEnforced(t *testing.T) {
	p, key := newAuthTestProxy(t, func(s *testSetup) { s.authn.MaxSessionLifetime = time.Second })
	c := dialRaw(t, p.srv.BootstrapAddr())
	c.handshake(1, "PLAIN")
	resp, ok := c.authenticate(1, plainMsg(key))
	if !ok || resp.ErrorCode != 0 || resp.SessionLifetimeMillis != 1000 {
		t.Fatalf("login: %v %+v; want session_lifetime_ms 1000", ok, resp)
	}
	if !c.metadata() {
		t.Fatal("Metadata within the session lifetime was not answered")
	}
	time.Sleep(1100 * time.Millisecond)
	if c.metadata() {
		t.Fatal("Metadata after the session expired was answered")
	}

	// A client that re-authenticates in time keeps its connection.
	c = dialRaw(t, p.srv.BootstrapAddr())
	c.handshake(1, "PLAIN")
	c.authenticate(1, plainMsg(key))
	for range 3 {
		time.Sleep(600 * time.Millisecond)
		c.handshake(1, "PLAIN")
		if resp, ok := c.authenticate(1, plainMsg(key)); !ok || resp.ErrorCode != 0 {
			t.Fatalf("re-authentication: %v %+v", ok, resp)
		}
		if !c.metadata() {
			t.Fatal("Metadata after re-authentication was not answered")
		}
	}
}

func TestFranzGoReauthenticatesAcrossSessionLifetimes(t *testing.T) {
	p, key := newAuthTestProxy(t, func(s *testSetup) { s.authn.MaxSessionLifetime = time.Second })
	cl := p.client(t, kgo.SASL(plain.Auth{User: key.id, Pass: key.secret}.AsMechanism()), kgo.DefaultProduceTopic("t"))
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for range 10 {
		if err := cl.ProduceSync(ctx, kgo.StringRecord("x")).FirstErr(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(300 * time.Millisecond)
	}
}

func TestLargeFramesAreRefusedBeforeLogin(t *testing.T) {
	p, key := newAuthTestProxy(t, nil)
	// A frame over 512 KiB closes an anonymous connection before its body
	// is read...
	expectClosed(t, p.srv.BootstrapAddr(), kbin.AppendInt32(nil, maxPreAuthFrame+1))
	// ...and is fine once logged in.
	c := dialRaw(t, p.srv.BootstrapAddr())
	c.handshake(1, "PLAIN")
	if resp, ok := c.authenticate(1, plainMsg(key)); !ok || resp.ErrorCode != 0 {
		t.Fatalf("login: %v %+v", ok, resp)
	}
	req := kmsg.NewPtrProduceRequest()
	req.Version, req.Acks, req.TimeoutMillis = 9, 1, 5000
	req.Topics = []kmsg.ProduceRequestTopic{{Topic: "t", Partitions: []kmsg.ProduceRequestTopicPartition{{Partition: 0, Records: make([]byte, maxPreAuthFrame)}}}}
	if !c.send(req, kmsg.NewPtrProduceResponse()) {
		t.Fatal("a large produce request after login closed the connection")
	}
}

func TestConnectionWithoutLoginIsClosedAfterTheTimeout(t *testing.T) {
	p, _ := newAuthTestProxy(t, func(s *testSetup) { s.proxy.AuthTimeout = 200 * time.Millisecond })
	nc, err := net.Dial("tcp", p.srv.BootstrapAddr())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	_ = nc.SetReadDeadline(time.Now().Add(3 * time.Second))
	var b [1]byte
	if _, err := nc.Read(b[:]); err == nil {
		t.Fatal("the proxy sent something")
	} else if ne, ok := err.(net.Error); ok && ne.Timeout() {
		t.Fatal("an idle unauthenticated connection stayed open past the authentication timeout")
	}
}

func TestEachListenerHasItsOwnMechanismsAndAddresses(t *testing.T) {
	externalBase := freePortBase(t, 8)
	p, key := newAuthTestProxy(t, func(s *testSetup) {
		s.authn.Listeners = map[string][]string{"default": {authn.MechanismPlain}, "external": {authn.MechanismOAuthBearer}}
		s.authn.Providers = []authn.Provider{{Name: "idp", Issuer: "http://127.0.0.1:1", JWKSURI: "http://127.0.0.1:1/jwks", Audiences: []string{"kafka"},
			Algorithms: []string{"RS256"}, JWKSRefresh: time.Hour, JWKSMinRefreshInterval: time.Second}}
		s.authn.Pools = []pool.Config{{ID: "pool-all", Provider: "idp", Filter: "true"}}
		s.proxy.Listeners = append(s.proxy.Listeners, Listener{
			Name:           "external",
			Address:        "127.0.0.1:0",
			AdvertisedHost: "localhost",
			BrokerPortBase: externalBase,
		})
	})
	external := p.srv.ListenerAddr("external")
	for _, tc := range []struct {
		addr, mech string
		enabled    []string
	}{
		{p.srv.BootstrapAddr(), authn.MechanismOAuthBearer, []string{authn.MechanismPlain}},
		{external, authn.MechanismPlain, []string{authn.MechanismOAuthBearer}},
	} {
		c := dialRaw(t, tc.addr)
		hs := c.handshake(1, tc.mech)
		if hs.ErrorCode != kerr.UnsupportedSaslMechanism.Code || len(hs.SupportedMechanisms) != 1 || hs.SupportedMechanisms[0] != tc.enabled[0] {
			t.Errorf("%s on %s: %+v; want UNSUPPORTED_SASL_MECHANISM listing %v", tc.mech, tc.addr, hs, tc.enabled)
		}
	}

	// Metadata names the addresses of the listener it was asked on.
	c := dialRaw(t, p.srv.BootstrapAddr())
	c.handshake(1, authn.MechanismPlain)
	if resp, ok := c.authenticate(1, plainMsg(key)); !ok || resp.ErrorCode != 0 {
		t.Fatalf("login: %v %+v", ok, resp)
	}
	req := kmsg.NewPtrMetadataRequest()
	req.Version = 12
	resp := kmsg.NewPtrMetadataResponse()
	if !c.send(req, resp) || len(resp.Brokers) != 1 {
		t.Fatalf("metadata: %+v", resp)
	}
	b := resp.Brokers[0]
	if b.Host != "127.0.0.1" || int(b.Port) != p.srv.cfg.Listeners[0].BrokerPortBase+int(b.NodeID) {
		t.Errorf("main listener advertises %s:%d", b.Host, b.Port)
	}
	// The external listener serves every broker on its own ports too.
	nc, err := net.Dial("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(externalBase+int(b.NodeID))))
	if err != nil {
		t.Fatalf("external listener's broker port: %v", err)
	}
	nc.Close()
	var ext *listener
	for _, l := range p.srv.lns {
		if l.cfg.Name == "external" {
			ext = l
		}
	}
	if host, port := ext.advertise(b.NodeID, "10.0.0.1", 9092); host != "localhost" || int(port) != externalBase+int(b.NodeID) {
		t.Errorf("external listener advertises %s:%d", host, port)
	}
}
