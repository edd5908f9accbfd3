//go:build integration

package integration

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/kafka-auth-proxy/kafka-auth-proxy/authn"
	"github.com/kafka-auth-proxy/kafka-auth-proxy/config"
	"github.com/kafka-auth-proxy/kafka-auth-proxy/integration/clients"
	"github.com/kafka-auth-proxy/kafka-auth-proxy/integration/harness"
	"github.com/kafka-auth-proxy/kafka-auth-proxy/integration/oidc"
)

// Real clients in other languages log in through the proxy both ways.
func TestJavaAndLibrdkafkaClientsLogIn(t *testing.T) {
	ap := startAuthProxy(t, triple.Bootstrap, nil)
	p := sharedIDP(t)
	id, secret := ap.createKey(t, ap.createAccount(t))
	extensions := map[string]string{authn.ExtensionLogicalCluster: ap.cluster, authn.ExtensionIdentityPool: "pool-payments"}
	for _, tc := range []struct {
		name string
		run  func(ctx context.Context, topic string) (string, error)
		pool string // the pool the client must land in; "" for an API key
	}{
		{"java kafka-clients with an API key over PLAIN", func(ctx context.Context, topic string) (string, error) {
			return harness.JavaRoundTrip(ctx, ap.srv.BootstrapAddr(), topic, 100, clients.JavaPlainProps(id, secret))
		}, ""},
		{"java kafka-clients with Kafka's OIDC client-credentials login handler and extensions", func(ctx context.Context, topic string) (string, error) {
			return harness.JavaRoundTrip(ctx, ap.srv.BootstrapAddr(), topic, 100,
				clients.JavaOAuthProps(p.TokenURL, oidc.PaymentsClientID, oidc.PaymentsClientSecret, extensions))
		}, "pool-payments"},
		{"librdkafka with an API key over PLAIN", func(ctx context.Context, topic string) (string, error) {
			return clients.PythonRoundTrip(ctx, clients.PythonOptions{Bootstrap: ap.srv.BootstrapAddr(), Topic: topic, Count: 100,
				Config: clients.PythonPlainConfig(id, secret)})
		}, ""},
		{"librdkafka with sasl.oauthbearer.method=oidc and extensions", func(ctx context.Context, topic string) (string, error) {
			return clients.PythonRoundTrip(ctx, clients.PythonOptions{Bootstrap: ap.srv.BootstrapAddr(), Topic: topic, Count: 100,
				Config: clients.PythonOIDCConfig(p.TokenURL, oidc.AnalyticsClientID, oidc.AnalyticsClientSecret,
					map[string]string{authn.ExtensionLogicalCluster: ap.cluster})})
		}, "pool-analytics"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			topic := createTopic(t, ap.srv, 3, 3, plainLogin(id, secret))
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
			defer cancel()
			out, err := tc.run(ctx, topic)
			if err != nil {
				t.Fatalf("%v\n%s", err, out)
			}
			t.Log(lastLine(out))
			if tc.pool == "" {
				return
			}
			found := false
			for _, e := range readAudit(t, ap.auditFile) {
				found = found || (e.Data.Result == "success" && e.Data.IdentityPool == tc.pool && e.Data.Principal == "User:"+tc.pool)
			}
			if !found {
				t.Errorf("no successful login into %s in the audit log", tc.pool)
			}
		})
	}
}

// Clients in other languages get a clear error for a refused login.
func TestJavaAndLibrdkafkaShowRefusedLogins(t *testing.T) {
	ap := startAuthProxy(t, single.Bootstrap, nil)
	id, _ := ap.createKey(t, ap.createAccount(t))
	p := sharedIDP(t)
	topic := topicName(t)
	for _, tc := range []struct {
		name string
		run  func(ctx context.Context) (string, error)
		want string
	}{
		{"java, wrong secret", func(ctx context.Context) (string, error) {
			return harness.JavaRoundTrip(ctx, ap.srv.BootstrapAddr(), topic, 1, clients.JavaPlainProps(id, strings.Repeat("x", 64)))
		}, "Invalid username or password"},
		{"java, token matching no pool", func(ctx context.Context) (string, error) {
			return harness.JavaRoundTrip(ctx, ap.srv.BootstrapAddr(), topic, 1,
				clients.JavaOAuthProps(p.TokenURL, oidc.NoGroupsClientID, oidc.NoGroupsClientSecret, nil))
		}, "invalid_token"},
		{"librdkafka, wrong secret", func(ctx context.Context) (string, error) {
			return clients.PythonRoundTrip(ctx, clients.PythonOptions{Bootstrap: ap.srv.BootstrapAddr(), Topic: topic, Count: 1,
				Config: clients.PythonPlainConfig(id, strings.Repeat("x", 64)), Timeout: 20 * time.Second})
		}, "Invalid username or password"},
		{"librdkafka, token matching no pool", func(ctx context.Context) (string, error) {
			return clients.PythonRoundTrip(ctx, clients.PythonOptions{Bootstrap: ap.srv.BootstrapAddr(), Topic: topic, Count: 1,
				Config: clients.PythonOIDCConfig(p.TokenURL, oidc.NoGroupsClientID, oidc.NoGroupsClientSecret, nil), Timeout: 20 * time.Second})
		}, "invalid_token"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			conns, bytes := ap.forwarded(t)
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			out, err := tc.run(ctx)
			if err == nil {
				t.Fatalf("login accepted:\n%s", out)
			}
			if !strings.Contains(out, tc.want) {
				t.Errorf("client output does not mention %q:\n%s", tc.want, out)
			}
			if c, b := ap.forwarded(t); c != conns || b != bytes {
				t.Errorf("the refused client caused %v upstream connections and %v forwarded bytes", c-conns, b-bytes)
			}
		})
	}
}

// A Java consumer and producer keep running across several short session
// lifetimes: they re-authenticate on their connections (KIP-368).
func TestJavaClientsReauthenticateAcrossSessionLifetimes(t *testing.T) {
	ap := startAuthProxy(t, single.Bootstrap, func(cfg *config.Config) {
		cfg.Authentication.MaxSessionLifetime = config.Duration(3 * time.Second)
	})
	id, secret := ap.createKey(t, ap.createAccount(t))
	p := sharedIDP(t)
	// On a fresh cluster the first group creates __consumer_offsets, and the
	// Java consumer drops its coordinator connection while that happens,
	// which ConsumeFor would count against the proxy. Use a group first.
	roundTrip(t, ap.srv, createTopic(t, ap.srv, 1, 1, plainLogin(id, secret)), plainLogin(id, secret))
	for _, tc := range []struct {
		name  string
		props map[string]string
	}{
		{"API key", clients.JavaPlainProps(id, secret)},
		{"OIDC token", clients.JavaOAuthProps(p.TokenURL, oidc.PaymentsClientID, oidc.PaymentsClientSecret, nil)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			topic := createTopic(t, ap.srv, 1, 1, plainLogin(id, secret))
			before := reauthentications(t, ap.auditFile)
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			out, err := clients.JavaConsumeFor(ctx, ap.srv.BootstrapAddr(), topic, 14*time.Second, tc.props)
			if err != nil {
				t.Fatalf("%v\n%s", err, out)
			}
			t.Log(lastLine(out))
			if n := reauthentications(t, ap.auditFile) - before; n < 4 {
				t.Errorf("%d re-authentications in 14s of 3s sessions", n)
			}
			if n := counter(t, ap.reg, "kafka_auth_proxy_requests_rejected_total", "reason", "session_expired"); n != 0 {
				t.Errorf("%v requests arrived after their session expired", n)
			}
		})
	}
}

func reauthentications(t testing.TB, auditFile string) int {
	n := 0
	for _, e := range readAudit(t, auditFile) {
		if e.Data.Result == "success" && e.Data.Reauthentication {
			n++
		}
	}
	return n
}
