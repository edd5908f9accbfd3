package admin_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"testing"

	"github.com/kafka-auth-proxy/kafka-auth-proxy/admin"
	"github.com/kafka-auth-proxy/kafka-auth-proxy/authn"
)

// sourceRecorder is an authenticator that notes the source of each login
// before passing it on.
type sourceRecorder struct {
	admin.Authenticator
	mu      sync.Mutex
	sources []string
}

func (r *sourceRecorder) AuthenticateHTTP(ctx context.Context, source, authorization string) (*authn.Identity, error) {
	r.mu.Lock()
	r.sources = append(r.sources, source)
	r.mu.Unlock()
	return r.Authenticator.AuthenticateHTTP(ctx, source, authorization)
}

func (r *sourceRecorder) last() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.sources) == 0 {
		return ""
	}
	return r.sources[len(r.sources)-1]
}

// lastAuditSource is the source_address of the last audit event.
func lastAuditSource(t *testing.T, e *testEnv) string {
	t.Helper()
	lines := strings.Split(strings.TrimSpace(e.audit.String()), "\n")
	var ev struct {
		Data struct {
			Source string `json:"source_address"`
		} `json:"data"`
	}
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &ev); err != nil {
		t.Fatalf("audit line %q: %v", lines[len(lines)-1], err)
	}
	return ev.Data.Source
}

// The caller's address, which the login throttle and the audit log see,
// is the peer's unless the peer is a trusted proxy; then it is the
// right-most X-Forwarded-For address that is not a trusted proxy.
func TestXForwardedForIsBelievedOnlyFromTrustedProxies(t *testing.T) {
	const peer = "127.0.0.1" // the test's own address, as the API sees it
	tests := []struct {
		name    string
		trusted []string
		xff     []string // header lines
		want    string   // "" for the peer's host:port
	}{
		{"no trusted proxies: the header is ignored", nil, []string{"203.0.113.9"}, ""},
		{"a peer that is not trusted: ignored", []string{"10.0.0.0/8"}, []string{"203.0.113.9"}, ""},
		{"a trusted peer without a header", []string{peer + "/32"}, nil, ""},
		{"a trusted peer names the caller", []string{peer + "/32"}, []string{"203.0.113.9"}, "203.0.113.9"},
		{"what the caller wrote itself is not believed", []string{peer + "/32"}, []string{"198.51.100.1, 203.0.113.9"}, "203.0.113.9"},
		{"over a chain of trusted proxies", []string{peer + "/32", "10.0.0.0/8"}, []string{"198.51.100.1, 203.0.113.9, 10.1.1.1", "10.2.2.2"}, "203.0.113.9"},
		{"a chain of trusted proxies only: the furthest", []string{peer + "/32", "10.0.0.0/8"}, []string{"10.1.1.1, 10.2.2.2"}, "10.1.1.1"},
		{"with a port, and IPv6", []string{peer + "/32"}, []string{"[2001:db8::7]:5000"}, "2001:db8::7"},
		{"IPv4 with a port", []string{peer + "/32"}, []string{"203.0.113.9:5000"}, "203.0.113.9"},
		{"garbage ends the walk at the proxy that passed it on", []string{peer + "/32", "10.0.0.0/8"}, []string{"203.0.113.9, unknown, 10.1.1.1"}, "10.1.1.1"},
		{"garbage from the trusted peer itself", []string{peer + "/32"}, []string{"not-an-address"}, ""},
		{"an empty header", []string{peer + "/32"}, []string{""}, ""},
		{"empty entries are skipped", []string{peer + "/32"}, []string{"203.0.113.9, ,"}, "203.0.113.9"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rec := &sourceRecorder{}
			e := newEnv(t, func(o *admin.Options) {
				rec.Authenticator = o.Authenticator
				o.Authenticator = rec
				for _, s := range tc.trusted {
					o.TrustedProxies = append(o.TrustedProxies, netip.MustParsePrefix(s))
				}
			})
			req, err := http.NewRequest("GET", e.url+"/iam/v2/service-accounts", nil)
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte("NOSUCHKEY:secret")))
			for _, v := range tc.xff {
				req.Header.Add("X-Forwarded-For", v)
			}
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
			if res.StatusCode != http.StatusUnauthorized {
				t.Fatalf("status %d, want 401", res.StatusCode)
			}
			got := rec.last()
			want := tc.want
			if want == "" {
				host, _, err := net.SplitHostPort(got)
				if err != nil || host != peer {
					t.Fatalf("login from %q, want the peer %s:port", got, peer)
				}
				want = got
			}
			if got != want {
				t.Errorf("login from %q, want %q", got, want)
			}
			if a := lastAuditSource(t, e); a != want {
				t.Errorf("audited from %q, want %q", a, want)
			}
		})
	}
}
