//go:build integration

package clients_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
	"github.com/twmb/franz-go/pkg/sasl/oauth"

	"github.com/kafka-auth-proxy/kafka-auth-proxy/integration/clients"
	"github.com/kafka-auth-proxy/kafka-auth-proxy/integration/harness"
	"github.com/kafka-auth-proxy/kafka-auth-proxy/integration/oidc"
)

// The runners are checked against a real broker whose SASL_PLAINTEXT
// listener takes PLAIN (the harness user) and OAUTHBEARER, validating tokens
// itself (OAuthBearerValidatorCallbackHandler: signature from the OIDC
// provider's JWKS, issuer, audience "kafka") and expiring OAUTHBEARER
// sessions after 3 s (connections.max.reauth.ms), so that the clients
// re-authenticate. Both start once, on first use, and stop in TestMain.
// Where a real broker cannot show what a client did (the SASL extensions it
// sent, a dropped connection, a stall), a kfake cluster stands in.

// oauthReauthMs is the broker's OAUTHBEARER session lifetime.
const oauthReauthMs = 3000

var (
	envOnce  sync.Once
	envErr   error
	provider *oidc.Provider
	cluster  *harness.Cluster
)

func TestMain(m *testing.M) {
	code := m.Run()
	if cluster != nil {
		if err := cluster.Stop(); err != nil {
			fmt.Fprintln(os.Stderr, "stop kafka:", err)
		}
	}
	if provider != nil {
		if err := provider.Stop(); err != nil {
			fmt.Fprintln(os.Stderr, "stop oidc provider:", err)
		}
	}
	os.Exit(code)
}

// idp returns the shared OIDC provider.
func idp(t *testing.T) *oidc.Provider {
	t.Helper()
	env(t, false)
	return provider
}

// oauthKafka returns the shared OIDC provider and the broker that trusts it.
func oauthKafka(t *testing.T) (*oidc.Provider, *harness.Cluster) {
	t.Helper()
	env(t, true)
	return provider, cluster
}

var envMu sync.Mutex

func env(t *testing.T, withKafka bool) {
	t.Helper()
	envMu.Lock()
	defer envMu.Unlock()
	if provider == nil {
		begin := time.Now()
		p, err := oidc.Start(context.Background(), oidc.Options{})
		if err != nil {
			t.Fatalf("start the OIDC provider: %v", err)
		}
		provider = p
		t.Logf("OIDC provider %s ready in %v", p.Issuer, time.Since(begin).Round(time.Millisecond))
	}
	if !withKafka {
		return
	}
	envOnce.Do(func() {
		begin := time.Now()
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		defer cancel()
		cluster, envErr = harness.Start(ctx, harness.Options{
			Brokers: 1,
			SASL:    true,
			Config: map[string]string{
				"sasl.enabled.mechanisms":                                                     "OAUTHBEARER,PLAIN",
				"listener.name.sasl_plaintext.sasl.enabled.mechanisms":                        "OAUTHBEARER,PLAIN",
				"listener.name.sasl_plaintext.oauthbearer.sasl.jaas.config":                   "org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule required;",
				"listener.name.sasl_plaintext.oauthbearer.sasl.server.callback.handler.class": "org.apache.kafka.common.security.oauthbearer.OAuthBearerValidatorCallbackHandler",
				"listener.name.sasl_plaintext.oauthbearer.connections.max.reauth.ms":          strconv.Itoa(oauthReauthMs),
				"sasl.oauthbearer.jwks.endpoint.url":                                          provider.JWKSURI,
				"sasl.oauthbearer.expected.audience":                                          provider.Audience,
				"sasl.oauthbearer.expected.issuer":                                            provider.Issuer,
			},
			JVMOptions: []string{"-D" + clients.JavaAllowedURLsProperty + "=" + provider.JWKSURI},
		})
		if envErr == nil {
			t.Logf("kafka with OAUTHBEARER validation ready in %v", time.Since(begin).Round(time.Millisecond))
		}
	})
	if envErr != nil {
		t.Fatalf("start kafka: %v", envErr)
	}
}

// newTopic creates a topic with 3 partitions through the PLAINTEXT
// listener, named after the test.
func newTopic(t *testing.T, c *harness.Cluster) string {
	t.Helper()
	topic := strings.NewReplacer("/", "-", "_", "-").Replace(t.Name()) + "-" + strconv.FormatInt(time.Now().UnixNano()%1e9, 36)
	cl, err := kgo.NewClient(kgo.SeedBrokers(c.Bootstrap...))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	resp, err := kadm.NewClient(cl).CreateTopic(ctx, 3, 1, nil, topic)
	if err == nil {
		err = resp.Err
	}
	if err != nil {
		t.Fatalf("create topic %s: %v", topic, err)
	}
	return topic
}

// claims decodes the payload of a JWT without verifying it.
func claims(t *testing.T, jwt string) map[string]any {
	t.Helper()
	parts := strings.Split(jwt, ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWT: %.40q", jwt)
	}
	raw, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatalf("JWT payload: %v", err)
	}
	var c map[string]any
	if err := json.Unmarshal(raw, &c); err != nil {
		t.Fatalf("JWT payload: %v", err)
	}
	return c
}

func wantOK(t *testing.T, what, out string, err error, count int) map[string]string {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	f := clients.SummaryFields(out)
	if f == nil || f["produced"] != strconv.Itoa(count) || f["consumed"] != strconv.Itoa(count) {
		t.Fatalf("%s: want OK produced=%d consumed=%d, output:\n%s", what, count, count, out)
	}
	return f
}

func lastLine(s string) string {
	s = strings.TrimSpace(s)
	return s[strings.LastIndexByte(s, '\n')+1:]
}

func TestClientCredentialsToken(t *testing.T) {
	p, c := oauthKafka(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	tok, exp, err := clients.ClientCredentialsToken(ctx, p.TokenURL, oidc.PaymentsClientID, oidc.PaymentsClientSecret)
	if err != nil {
		t.Fatal(err)
	}
	if d := time.Until(exp); d < p.TokenTTL-time.Minute || d > p.TokenTTL+time.Second {
		t.Errorf("token expires in %v, want about %v", d, p.TokenTTL)
	}
	cl := claims(t, tok)
	if cl["sub"] != oidc.PaymentsClientID || cl["aud"] != "kafka" || cl["iss"] != p.Issuer {
		t.Errorf("claims %v: want sub %s, aud kafka, iss %s", cl, oidc.PaymentsClientID, p.Issuer)
	}

	_, _, err = clients.ClientCredentialsToken(ctx, p.TokenURL, oidc.PaymentsClientID, "wrong-secret")
	var te *clients.TokenError
	if !errors.As(err, &te) || te.Status != 401 || te.Code != "invalid_client" {
		t.Errorf("wrong secret: err = %v, want a 401 invalid_client TokenError", err)
	}

	// franz-go with the token source logs in to a broker that checks the
	// token, produces and consumes.
	topic := newTopic(t, c)
	mech := clients.OAuthMechanism(p.TokenURL, oidc.PaymentsClientID, oidc.PaymentsClientSecret,
		map[string]string{"logicalCluster": "lkc-1"})
	kc, err := kgo.NewClient(kgo.SeedBrokers(c.SASLBootstrap...), kgo.SASL(mech),
		kgo.DefaultProduceTopic(topic), kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer kc.Close()
	for i := range 5 {
		if err := kc.ProduceSync(ctx, kgo.StringRecord("v"+strconv.Itoa(i))).FirstErr(); err != nil {
			t.Fatalf("franz-go produce over OAUTHBEARER: %v", err)
		}
	}
	got := 0
	for got < 5 {
		fs := kc.PollFetches(ctx)
		if err := fs.Err0(); err != nil {
			t.Fatalf("franz-go consume over OAUTHBEARER: %v", err)
		}
		got += fs.NumRecords()
	}

	// The broker really validates: a token with a broken signature is refused.
	bad := tok[:len(tok)-4] + "AAAA"
	if bad == tok {
		bad = tok[:len(tok)-4] + "BBBB"
	}
	bc, err := kgo.NewClient(kgo.SeedBrokers(c.SASLBootstrap...), kgo.SASL(oauth.Auth{Token: bad}.AsMechanism()),
		kgo.RequestRetries(0))
	if err != nil {
		t.Fatal(err)
	}
	defer bc.Close()
	pctx, pcancel := context.WithTimeout(ctx, 10*time.Second)
	defer pcancel()
	if err := bc.Ping(pctx); err == nil || !errors.Is(err, kerr.SaslAuthenticationFailed) {
		t.Errorf("a token with a broken signature: ping error %v, want SASL_AUTHENTICATION_FAILED", err)
	} else {
		t.Logf("broken signature refused: %v", err)
	}
}

func TestPythonOIDCRoundTripAgainstOAuthKafka(t *testing.T) {
	p, c := oauthKafka(t)
	topic := newTopic(t, c)
	out, err := clients.PythonRoundTrip(context.Background(), clients.PythonOptions{
		Bootstrap: c.SASLBootstrap[0],
		Topic:     topic,
		Count:     50,
		Config: clients.PythonOIDCConfig(p.TokenURL, oidc.PaymentsClientID, oidc.PaymentsClientSecret,
			map[string]string{"logicalCluster": "lkc-1", "identityPoolId": "pool-1"}),
		Timeout: 45 * time.Second,
	})
	wantOK(t, "python OIDC", out, err, 50)
	t.Log(lastLine(out))
}

func TestPythonPlainRoundTrip(t *testing.T) {
	_, c := oauthKafka(t)
	topic := newTopic(t, c)
	out, err := clients.PythonRoundTrip(context.Background(), clients.PythonOptions{
		Bootstrap: c.SASLBootstrap[0],
		Topic:     topic,
		Count:     20,
		Config:    clients.PythonPlainConfig(c.SASLUser, c.SASLPassword),
		Timeout:   45 * time.Second,
	})
	wantOK(t, "python PLAIN", out, err, 20)
	t.Log(lastLine(out))
}

func TestPythonWrongPasswordFailsClearly(t *testing.T) {
	_, c := oauthKafka(t)
	topic := newTopic(t, c)
	begin := time.Now()
	out, err := clients.PythonRoundTrip(context.Background(), clients.PythonOptions{
		Bootstrap: c.SASLBootstrap[0],
		Topic:     topic,
		Count:     1,
		Config:    clients.PythonPlainConfig(c.SASLUser, "wrong-password"),
		Timeout:   30 * time.Second,
	})
	took := time.Since(begin)
	if err == nil {
		t.Fatalf("round trip with a wrong password succeeded:\n%s", out)
	}
	fail := lastLine(out)
	if !strings.HasPrefix(fail, "FAIL: produce: producer: _AUTHENTICATION") || !strings.Contains(fail, "Authentication failed") {
		t.Fatalf("last line %q does not carry librdkafka's SASL error; output:\n%s", fail, out)
	}
	if took > 20*time.Second {
		t.Errorf("the refused login took %v to fail, want well under the 30 s timeout", took)
	}
	t.Logf("failed in %v: %s", took.Round(time.Millisecond), fail)
}

func TestPythonOIDCWrongSecretFailsClearly(t *testing.T) {
	p, c := oauthKafka(t)
	topic := newTopic(t, c)
	begin := time.Now()
	out, err := clients.PythonRoundTrip(context.Background(), clients.PythonOptions{
		Bootstrap: c.SASLBootstrap[0],
		Topic:     topic,
		Count:     1,
		Config:    clients.PythonOIDCConfig(p.TokenURL, oidc.PaymentsClientID, "wrong-secret", nil),
		Timeout:   30 * time.Second,
	})
	took := time.Since(begin)
	if err == nil {
		t.Fatalf("round trip with a wrong client secret succeeded:\n%s", out)
	}
	fail := lastLine(out)
	if !strings.HasPrefix(fail, "FAIL: produce: producer: _AUTHENTICATION") || !strings.Contains(fail, "invalid_client") {
		t.Fatalf("last line %q does not carry librdkafka's token error; output:\n%s", fail, out)
	}
	if took > 20*time.Second {
		t.Errorf("the refused token request took %v to fail", took)
	}
	t.Logf("failed in %v: %s", took.Round(time.Millisecond), fail)
}

func TestJavaOIDCLoginHandlerRoundTrip(t *testing.T) {
	p, c := oauthKafka(t)
	topic := newTopic(t, c)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	props := clients.JavaOAuthProps(p.TokenURL, oidc.PaymentsClientID, oidc.PaymentsClientSecret,
		map[string]string{"logicalCluster": "lkc-1", "identityPoolId": "pool-1"})
	out, err := harness.JavaRoundTrip(ctx, c.SASLBootstrap[0], topic, 50, props)
	wantOK(t, "java OIDC", out, err, 50)
	t.Log(lastLine(out))

	// Without the JVM system property, the client allows the token endpoint
	// named in its properties by itself.
	delete(props, "-D"+clients.JavaAllowedURLsProperty)
	out, err = harness.JavaRoundTrip(ctx, c.SASLBootstrap[0], topic, 5, props)
	wantOK(t, "java OIDC without -D", out, err, 5)
}

func TestJavaPlainRoundTrip(t *testing.T) {
	_, c := oauthKafka(t)
	topic := newTopic(t, c)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	out, err := harness.JavaRoundTrip(ctx, c.SASLBootstrap[0], topic, 20, clients.JavaPlainProps(c.SASLUser, c.SASLPassword))
	wantOK(t, "java PLAIN", out, err, 20)
	t.Log(lastLine(out))
}

func TestJavaOIDCWrongSecretFailsClearly(t *testing.T) {
	p, c := oauthKafka(t)
	topic := newTopic(t, c)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	props := clients.JavaOAuthProps(p.TokenURL, oidc.PaymentsClientID, "wrong-secret", nil)
	out, err := harness.JavaRoundTrip(ctx, c.SASLBootstrap[0], topic, 1, props)
	if err == nil {
		t.Fatalf("round trip with a wrong client secret succeeded:\n%s", out)
	}
	fail := lastLine(out)
	if !strings.HasPrefix(fail, "FAIL: produce: ") || !strings.Contains(fail, "401") {
		t.Fatalf("last line %q does not carry the token endpoint's refusal; output:\n%s", fail, out)
	}
	t.Log(fail)
}

func TestJavaConsumeForKeepsRunning(t *testing.T) {
	p, c := oauthKafka(t)
	topic := newTopic(t, c)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	const d = 8 * time.Second
	props := clients.JavaOAuthProps(p.TokenURL, oidc.AnalyticsClientID, oidc.AnalyticsClientSecret, nil)
	out, err := clients.JavaConsumeFor(ctx, c.SASLBootstrap[0], topic, d, props)
	if err != nil {
		t.Fatal(err)
	}
	f := clients.SummaryFields(out)
	produced, _ := strconv.Atoi(f["produced"])
	if want := int(d/(200*time.Millisecond)) * 2 / 3; produced < want || f["consumed"] != f["produced"] || f["acked"] != f["produced"] {
		t.Errorf("want at least %d records produced, all acknowledged and consumed; output:\n%s", want, out)
	}
	// Each client has a producer or consumer connection or two, each
	// session lasting 3 s: several re-authentications, no closes.
	if r, _ := strconv.Atoi(f["reauthentications"]); r < 2 || f["connection_closes"] != "0" {
		t.Errorf("want >= 2 re-authentications and no connection closed; output:\n%s", out)
	}
	t.Log(lastLine(out))
}

// fakeKafka starts a kfake cluster with topic (3 partitions) and closes it
// with the test.
func fakeKafka(t *testing.T, topic string) *kfake.Cluster {
	t.Helper()
	fc, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(3, topic))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(fc.Close)
	return fc
}

// captureOAuth makes fc accept the OAUTHBEARER handshake and answer every
// SaslAuthenticate with an authentication failure carrying refusal, after
// sending the client's initial response to the returned channel.
func captureOAuth(fc *kfake.Cluster, refusal string) <-chan []byte {
	got := make(chan []byte, 16)
	fc.ControlKey(int16(kmsg.SASLHandshake), func(kreq kmsg.Request) (kmsg.Response, error, bool) {
		fc.KeepControl()
		req := kreq.(*kmsg.SASLHandshakeRequest)
		resp := req.ResponseKind().(*kmsg.SASLHandshakeResponse)
		resp.SupportedMechanisms = []string{"OAUTHBEARER"}
		if req.Mechanism != "OAUTHBEARER" {
			resp.ErrorCode = kerr.UnsupportedSaslMechanism.Code
		}
		return resp, nil, true
	})
	fc.ControlKey(int16(kmsg.SASLAuthenticate), func(kreq kmsg.Request) (kmsg.Response, error, bool) {
		fc.KeepControl()
		req := kreq.(*kmsg.SASLAuthenticateRequest)
		select {
		case got <- bytes.Clone(req.SASLAuthBytes):
		default:
		}
		resp := req.ResponseKind().(*kmsg.SASLAuthenticateResponse)
		resp.ErrorCode = kerr.SaslAuthenticationFailed.Code
		resp.ErrorMessage = &refusal
		return resp, nil, true
	})
	return got
}

// checkInitialResponse checks an OAUTHBEARER client initial response
// (RFC 7628): a JWT of the payments client and the two extensions.
func checkInitialResponse(t *testing.T, first []byte) {
	t.Helper()
	kv := map[string]string{}
	for _, part := range strings.Split(string(first), "\x01")[1:] {
		if k, v, ok := strings.Cut(part, "="); ok {
			kv[k] = v
		}
	}
	jwt, ok := strings.CutPrefix(kv["auth"], "Bearer ")
	if !ok {
		t.Fatalf("initial response %q has no bearer token", first)
	}
	if sub := claims(t, jwt)["sub"]; sub != oidc.PaymentsClientID {
		t.Errorf("token sub %v, want %s", sub, oidc.PaymentsClientID)
	}
	if kv["logicalCluster"] != "lkc-1" || kv["identityPoolId"] != "pool-1" {
		t.Errorf("extensions in the initial response: %v, want logicalCluster=lkc-1 identityPoolId=pool-1", kv)
	}
}

// TestOAuthExtensionsReachTheWire checks, on a fake broker that records the
// SASL exchange, that both clients send the configured SASL extensions with
// a token from the OIDC provider, and that both report the broker's
// refusal message.
func TestOAuthExtensionsReachTheWire(t *testing.T) {
	p := idp(t)
	ext := map[string]string{"logicalCluster": "lkc-1", "identityPoolId": "pool-1"}
	const refusal = "kfake refuses: initial response recorded"

	t.Run("python", func(t *testing.T) {
		fc := fakeKafka(t, "ext-py")
		got := captureOAuth(fc, refusal)
		out, err := clients.PythonRoundTrip(context.Background(), clients.PythonOptions{
			Bootstrap: fc.ListenAddrs()[0],
			Topic:     "ext-py",
			Count:     1,
			Config:    clients.PythonOIDCConfig(p.TokenURL, oidc.PaymentsClientID, oidc.PaymentsClientSecret, ext),
			Timeout:   30 * time.Second,
		})
		if err == nil || !strings.Contains(lastLine(out), refusal) {
			t.Fatalf("want a FAIL line quoting %q; err %v, output:\n%s", refusal, err, out)
		}
		t.Log(lastLine(out))
		checkInitialResponse(t, <-got)
	})
	t.Run("java", func(t *testing.T) {
		fc := fakeKafka(t, "ext-java")
		got := captureOAuth(fc, refusal)
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		defer cancel()
		out, err := harness.JavaRoundTrip(ctx, fc.ListenAddrs()[0], "ext-java", 1,
			clients.JavaOAuthProps(p.TokenURL, oidc.PaymentsClientID, oidc.PaymentsClientSecret, ext))
		if err == nil || !strings.Contains(lastLine(out), refusal) || !strings.Contains(lastLine(out), "SaslAuthenticationException") {
			t.Fatalf("want a FAIL line with SaslAuthenticationException quoting %q; err %v, output:\n%s", refusal, err, out)
		}
		t.Log(lastLine(out))
		checkInitialResponse(t, <-got)
	})
}

// TestJavaConsumeForFailsOnDroppedConnection closes the producer's
// connection at its tenth produce request: the client would reconnect
// silently, so the runner must notice from the client's metrics.
func TestJavaConsumeForFailsOnDroppedConnection(t *testing.T) {
	const topic = "drop"
	fc := fakeKafka(t, topic)
	var produces atomic.Int32
	fc.ControlKey(int16(kmsg.Produce), func(kmsg.Request) (kmsg.Response, error, bool) {
		if produces.Add(1) < 10 {
			return nil, nil, false // kfake answers
		}
		return nil, errors.New("test drops the connection"), true // once: handling drops this control
	})
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	out, err := clients.JavaConsumeFor(ctx, fc.ListenAddrs()[0], topic, 10*time.Second, nil)
	if err == nil {
		t.Fatalf("a dropped connection went unnoticed:\n%s", out)
	}
	if fail := lastLine(out); !strings.Contains(fail, "producer: 1 connection(s) closed") {
		t.Fatalf("last line %q does not report the closed connection; output:\n%s", fail, out)
	}
	t.Log(lastLine(out))
}

// TestJavaConsumeForFailsWhenConsumerStalls stops answering fetches a second
// after the consumer's first commit (so it has made progress): the runner
// must fail about 5 s later, long before the client's own request timeout.
func TestJavaConsumeForFailsWhenConsumerStalls(t *testing.T) {
	const topic = "stall"
	fc := fakeKafka(t, topic)
	var (
		once       sync.Once
		stallMu    sync.Mutex
		stallBegan time.Time
	)
	fc.ControlKey(int16(kmsg.OffsetCommit), func(kmsg.Request) (kmsg.Response, error, bool) {
		once.Do(func() {
			time.AfterFunc(time.Second, func() {
				stallMu.Lock()
				stallBegan = time.Now()
				stallMu.Unlock()
				fc.ControlKey(int16(kmsg.Fetch), func(kmsg.Request) (kmsg.Response, error, bool) {
					fc.KeepControl()
					return nil, nil, true // no answer
				})
			})
		})
		return nil, nil, false // kfake answers
	})
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	out, err := clients.JavaConsumeFor(ctx, fc.ListenAddrs()[0], topic, 30*time.Second, nil)
	if err == nil {
		t.Fatalf("a stalled consumer went unnoticed:\n%s", out)
	}
	if fail := lastLine(out); !strings.Contains(fail, "the consumer made no progress for") {
		t.Fatalf("last line %q does not report the stall; output:\n%s", fail, out)
	}
	stallMu.Lock()
	defer stallMu.Unlock()
	if took := time.Since(stallBegan); stallBegan.IsZero() || took > 12*time.Second {
		t.Errorf("the stall was reported %v after it began, want about 5 s", took)
	}
	t.Log(lastLine(out))
}
