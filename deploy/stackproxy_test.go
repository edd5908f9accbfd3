package deploy

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl"
	"github.com/twmb/franz-go/pkg/sasl/oauth"
	"github.com/twmb/franz-go/pkg/sasl/plain"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"

	"github.com/kafka-auth-proxy/kafka-auth-proxy/audit"
	"github.com/kafka-auth-proxy/kafka-auth-proxy/cmd/kafka-auth-proxy/assemble"
	"github.com/kafka-auth-proxy/kafka-auth-proxy/proxy"
)

// stackProxy is the proxy of the stack, run in-process the way `serve`
// runs it, with deploy/proxy/config.yaml, in front of kfake instead of the
// kafka service.
type stackProxy struct {
	bootstrap string
	metrics   string   // URL of /metrics
	idp       *testIDP // nil when a real identity provider signs the tokens
}

// startStackProxy starts the stack's proxy with a local identity provider
// standing in for Keycloak; see startStackProxyFor.
func startStackProxy(t *testing.T) *stackProxy {
	t.Helper()
	idp := newTestIDP(t)
	p := startStackProxyFor(t, Issuer, idp.srv.URL+"/certs")
	p.idp = idp
	return p
}

// startStackProxyFor starts the stack's proxy, trusting tokens of issuer
// signed by the keys at jwksURI. Only what ties the configuration to the
// containers changes: the listener's and the upstream's addresses, the
// state file, the audit output and the identity provider's addresses.
// Everything the tests check (keys, pools, audiences, role bindings,
// cluster id) is the file's.
func startStackProxyFor(t *testing.T, issuer, jwksURI string) *stackProxy {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)

	fake, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(1, ResourcePrefix+"orders", "orders"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(fake.Close)

	cfg := loadProxyConfig(t)
	cfg.Listener.Address = "127.0.0.1:0"
	cfg.Listener.AdvertisedHost = "127.0.0.1"
	cfg.Listener.BrokerPortBase = freePort(t)
	cfg.Upstream.Bootstrap = fake.ListenAddrs()
	cfg.APIKeys.StateFile = filepath.Join(t.TempDir(), "state.json")
	cfg.Audit.Output = ""
	cfg.Metrics.Address = "" // served below on a free port
	cfg.OIDC.Providers[0].Issuer = issuer
	cfg.OIDC.Providers[0].JWKSURI = jwksURI
	if problems := cfg.Validate(); len(problems) > 0 {
		t.Fatalf("the edited configuration: %v", problems)
	}
	if err := cfg.Normalize(); err != nil {
		t.Fatal(err)
	}

	log := zaptest.NewLogger(t, zaptest.Level(zap.WarnLevel))
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	srv, err := proxy.NewServer(assemble.Proxy(cfg), log, reg)
	if err != nil {
		t.Fatal(err)
	}
	sink, err := audit.Open(cfg.Audit.Output)
	if err != nil {
		t.Fatal(err)
	}
	sec, err := assemble.Secure(ctx, cfg, srv, reg, sink, log)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cancel() // the store's watch and the authenticator's goroutines end with ctx
		sec.Wait()
	})
	if err := srv.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if cfg.Authentication.ClusterID == "" {
		if err := sec.Started(); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() {
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	})
	hs := httptest.NewServer(promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	t.Cleanup(hs.Close)
	return &stackProxy{bootstrap: srv.BootstrapAddr(), metrics: hs.URL + "/metrics"}
}

// freePort returns a port that was free a moment ago.
func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// The logins of the stack: the demo API key, a token, and a wrong secret.
func (p *stackProxy) apiKey() sasl.Mechanism {
	return plain.Auth{User: APIKey, Pass: APISecret}.AsMechanism()
}

func bearer(token string) sasl.Mechanism {
	return oauth.Auth{Token: token}.AsMechanism()
}

func (p *stackProxy) wrongSecret() sasl.Mechanism {
	return plain.Auth{User: APIKey, Pass: strings.ToUpper(APISecret)}.AsMechanism()
}

func (p *stackProxy) client(t *testing.T, mech sasl.Mechanism) *kgo.Client {
	t.Helper()
	cl, err := kgo.NewClient(
		kgo.SeedBrokers(p.bootstrap),
		kgo.SASL(mech),
		kgo.RecordRetries(2),
		kgo.RequestRetries(2),
		kgo.RetryTimeout(5*time.Second),
		kgo.RecordDeliveryTimeout(10*time.Second),
	)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	return cl
}

// demoTraffic is what a user of the stack does: with the demo API key and
// with token, produce, create a topic and commit a group offset, inside
// the demo prefix and outside it; and one failed login. It fails the test
// when an outcome differs from what the role bindings say.
func (p *stackProxy) demoTraffic(t *testing.T, token sasl.Mechanism) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for _, login := range []struct {
		name string
		mech sasl.Mechanism
	}{
		{"API key (PLAIN)", p.apiKey()},
		{"token (OAUTHBEARER)", token},
	} {
		cl := p.client(t, login.mech)
		adm := kadm.NewClient(cl)
		for _, tc := range []struct {
			what    string
			do      func() error
			allowed bool
		}{
			{"produce to " + ResourcePrefix + "orders", func() error { return produce(ctx, cl, ResourcePrefix+"orders") }, true},
			{"produce to orders", func() error { return produce(ctx, cl, "orders") }, false},
			{"create topic " + ResourcePrefix + login.mech.Name(), func() error { return createTopic(ctx, adm, ResourcePrefix+strings.ToLower(login.mech.Name())) }, true},
			{"create topic " + strings.ToLower(login.mech.Name()), func() error { return createTopic(ctx, adm, strings.ToLower(login.mech.Name())) }, false},
			{"commit an offset of group " + ResourcePrefix + "readers", func() error { return commit(ctx, adm, ResourcePrefix+"readers") }, true},
			{"commit an offset of group readers", func() error { return commit(ctx, adm, "readers") }, false},
		} {
			err := tc.do()
			switch {
			case tc.allowed && err != nil:
				t.Errorf("%s: %s: %v", login.name, tc.what, err)
			case !tc.allowed && !isAuthorizationError(err):
				t.Errorf("%s: %s: got %v, want an authorization error", login.name, tc.what, err)
			}
		}
	}
	if err := p.client(t, p.wrongSecret()).Ping(ctx); err == nil {
		t.Error("a wrong secret logged in")
	}
}

func produce(ctx context.Context, cl *kgo.Client, topic string) error {
	return cl.ProduceSync(ctx, &kgo.Record{Topic: topic, Value: []byte("hello")}).FirstErr()
}

func createTopic(ctx context.Context, adm *kadm.Client, topic string) error {
	r, err := adm.CreateTopic(ctx, 1, 1, nil, topic)
	if err != nil {
		return err
	}
	return r.Err
}

func commit(ctx context.Context, adm *kadm.Client, group string) error {
	var os kadm.Offsets
	os.Add(kadm.Offset{Topic: ResourcePrefix + "orders", Partition: 0, At: 0, LeaderEpoch: -1})
	r, err := adm.CommitOffsets(ctx, group, os)
	if err != nil {
		return err
	}
	return r.Error()
}

func isAuthorizationError(err error) bool {
	return errors.Is(err, kerr.TopicAuthorizationFailed) || errors.Is(err, kerr.GroupAuthorizationFailed) ||
		errors.Is(err, kerr.ClusterAuthorizationFailed) || errors.Is(err, kerr.TransactionalIDAuthorizationFailed)
}

// scrape returns the proxy's /metrics in the text format.
func (p *stackProxy) scrape(t *testing.T) string {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, p.metrics, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Accept", string(expfmt.NewFormat(expfmt.TypeTextPlain)))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s %v", p.metrics, resp.Status, err)
	}
	return string(b)
}

func parseExposition(t *testing.T, text string) map[string]*dto.MetricFamily {
	t.Helper()
	parser := expfmt.NewTextParser(model.UTF8Validation)
	mfs, err := parser.TextToMetricFamilies(strings.NewReader(text))
	if err != nil {
		t.Fatalf("parsing /metrics: %v", err)
	}
	return mfs
}

// The demo credentials log in, and the role bindings let both principals
// use the demo- prefix and nothing else.
func TestDemoCredentialsOnTheStacksProxy(t *testing.T) {
	p := startStackProxy(t)
	p.demoTraffic(t, bearer(p.idp.token(t)))
	mfs := parseExposition(t, p.scrape(t))
	logins := map[string]float64{}
	for _, m := range mfs["kafka_auth_proxy_authentications_total"].GetMetric() {
		key := ""
		for _, l := range m.GetLabel() {
			key += l.GetName() + "=" + l.GetValue() + " "
		}
		logins[strings.TrimSpace(key)] += m.GetCounter().GetValue()
	}
	for _, want := range []string{
		"mechanism=PLAIN outcome=success reason=",
		"mechanism=OAUTHBEARER outcome=success reason=",
		"mechanism=PLAIN outcome=failure reason=bad_secret",
	} {
		if logins[want] == 0 {
			t.Errorf("no login counted as %s; counted %v", want, logins)
		}
	}
}

// testIDP stands in for Keycloak: it publishes a key set and signs tokens
// with the claims the realm gives the demo client's tokens.
type testIDP struct {
	srv    *httptest.Server
	signer jose.Signer
}

func newTestIDP(t *testing.T) *testIDP {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: jose.JSONWebKey{Key: key, KeyID: "demo"}},
		(&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		t.Fatal(err)
	}
	set := jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &key.PublicKey, KeyID: "demo", Algorithm: "RS256", Use: "sig"}}}
	mux := http.NewServeMux()
	mux.HandleFunc("/certs", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(set)
	})
	p := &testIDP{srv: httptest.NewServer(mux), signer: signer}
	t.Cleanup(p.srv.Close)
	return p
}

// token returns an access token shaped like the ones the realm issues to
// the demo client for the client-credentials grant.
func (p *testIDP) token(t *testing.T) string {
	t.Helper()
	now := time.Now()
	claims := map[string]any{
		"iss": Issuer, "aud": Audience, "azp": ClientID, "typ": "Bearer",
		"sub": "bb5ac26b-438d-4dc4-a2b8-ed6e4799a72d", "preferred_username": "service-account-" + ClientID,
		"groups": []string{Group}, "scope": "email profile",
		"iat": now.Unix(), "exp": now.Add(5 * time.Minute).Unix(),
	}
	tok, err := jwt.Signed(p.signer).Claims(claims).Serialize()
	if err != nil {
		t.Fatal(err)
	}
	return tok
}
