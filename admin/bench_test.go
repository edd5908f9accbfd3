package admin_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/kafka-auth-proxy/kafka-auth-proxy/admin"
	"github.com/kafka-auth-proxy/kafka-auth-proxy/audit"
	"github.com/kafka-auth-proxy/kafka-auth-proxy/authn"
	"github.com/kafka-auth-proxy/kafka-auth-proxy/store"
)

// Latency of the role binding routes over a store that already holds
// benchBindings bindings. Each benchmark times every request it makes and
// reports the median and the 99th percentile beside ns/op (the mean):
//
//	go test -run '^$' -bench . -benchtime 200x ./admin/
//
// The server is a real HTTP server on loopback (httptest) with a
// keep-alive client, an audit sink that discards its events and a
// Prometheus registry, so a figure is what a caller of the API sees. The
// caller is authenticated by benchAuth, which does no work: the
// benchmarks measure the API and the store, not API key hashing.

// benchBindings is the number of role bindings in the store before the
// benchmarks start.
const benchBindings = 10_000

// The scope of the benchmark servers, the same as the tests'.
const (
	benchOrg     = "org-1"
	benchEnv     = "env-a"
	benchCluster = "lkc-1"
	benchOrgCRN  = "crn://kafka-auth-proxy/organization=" + benchOrg
)

// benchTopicCRN is the CRN of a topic of benchCluster.
func benchTopicCRN(topic string) string {
	return benchOrgCRN + "/environment=" + benchEnv + "/cloud-cluster=" + benchCluster +
		"/kafka=" + benchCluster + "/topic=" + topic
}

// benchAdminAccount is the service account every request authenticates
// as; it holds OrganizationAdmin on the organization.
const benchAdminAccount = "sa-benchadm"

// benchAuth authenticates every request as benchAdminAccount.
type benchAuth struct{}

func (benchAuth) AuthenticateHTTP(context.Context, string, string) (*authn.Identity, error) {
	return &authn.Identity{Principal: store.Principal(benchAdminAccount), Mechanism: "PLAIN",
		APIKey: "BENCHADMINKEY000", Account: benchAdminAccount}, nil
}

// benchPrincipals is the number of service accounts the seeded bindings
// are spread over; each gets benchBindings/benchPrincipals topic bindings.
const benchPrincipals = 100

// benchServer is an admin server over a store seeded with the
// administrator, benchPrincipals service accounts and benchBindings role
// bindings.
type benchServer struct {
	st     store.Store
	url    string
	client *http.Client
}

// benchStart seeds st and serves the API over it until the benchmark ends.
func benchStart(b *testing.B, st store.Store) *benchServer {
	b.Helper()
	cmds := []store.Command{
		store.Create(&store.ServiceAccount{Metadata: store.Meta{ID: benchAdminAccount}, DisplayName: "bench admin"}),
		store.Create(&store.RoleBinding{Metadata: store.Meta{ID: "rb-benchadm"}, Principal: store.Principal(benchAdminAccount),
			RoleName: "OrganizationAdmin", CRNPattern: benchOrgCRN}),
	}
	for p := range benchPrincipals {
		id := fmt.Sprintf("sa-bench%03d", p)
		cmds = append(cmds, store.Create(&store.ServiceAccount{Metadata: store.Meta{ID: id}, DisplayName: id}))
	}
	// Random ids, as the API makes them, so that the ids of the bindings
	// are spread as in a real store.
	ids := map[string]bool{"rb-benchadm": true}
	for i := 0; len(ids) <= benchBindings; i++ {
		id, err := store.NewID(store.RoleBindingPrefix)
		if err != nil {
			b.Fatal(err)
		}
		if ids[id] {
			continue
		}
		ids[id] = true
		p := len(ids) % benchPrincipals
		cmds = append(cmds, store.Create(&store.RoleBinding{Metadata: store.Meta{ID: id},
			Principal: store.Principal(fmt.Sprintf("sa-bench%03d", p)), RoleName: "DeveloperRead",
			CRNPattern: benchTopicCRN(fmt.Sprintf("topic-%05d", len(ids)))}))
	}
	snap, err := st.Apply(context.Background(), cmds...)
	if err != nil {
		b.Fatalf("seeding the store: %v", err)
	}
	if n := len(snap.RoleBindings()); n != benchBindings+1 {
		b.Fatalf("the store holds %d bindings, want %d", n, benchBindings+1)
	}
	srv, err := admin.New(admin.Options{
		Store:         st,
		Scope:         admin.Scope{Organization: benchOrg, Environment: benchEnv, Cluster: func() string { return benchCluster }},
		Authenticator: benchAuth{},
		Audit:         audit.New(io.Discard),
		Registerer:    prometheus.NewRegistry(),
	})
	if err != nil {
		b.Fatal(err)
	}
	ts := httptest.NewServer(srv.Handler())
	b.Cleanup(ts.Close)
	return &benchServer{st: st, url: ts.URL, client: ts.Client()}
}

// benchStores are the backends the write benchmarks run on.
var benchStores = []struct {
	name string
	open func(b *testing.B) store.Store
}{
	{"memory", func(*testing.B) store.Store { return store.NewMemory() }},
	{"file", func(b *testing.B) store.Store {
		f, err := store.OpenFile(filepath.Join(b.TempDir(), "state.json"))
		if err != nil {
			b.Fatal(err)
		}
		return f
	}},
}

// do makes one request and returns its status and body.
func (s *benchServer) do(b *testing.B, method, target string, body []byte) (int, []byte) {
	req, err := http.NewRequest(method, target, bytes.NewReader(body))
	if err != nil {
		b.Fatal(err)
	}
	req.Header.Set("Authorization", "Basic YmVuY2g6YmVuY2g=")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := s.client.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	data, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		b.Fatal(err)
	}
	return resp.StatusCode, data
}

// benchLatencies collects the durations of timed operations.
type benchLatencies []time.Duration

// report adds the median and 99th percentile, in milliseconds, to the
// benchmark's results as <prefix>p50-ms and <prefix>p99-ms.
func (l benchLatencies) report(b *testing.B, prefix string) {
	if len(l) == 0 {
		return
	}
	s := slices.Clone(l)
	slices.Sort(s)
	ms := func(q float64) float64 {
		i := int(q*float64(len(s))+0.5) - 1
		i = min(max(i, 0), len(s)-1)
		return float64(s[i]) / float64(time.Millisecond)
	}
	b.ReportMetric(ms(0.50), prefix+"p50-ms")
	b.ReportMetric(ms(0.99), prefix+"p99-ms")
}

// BenchmarkAdminCreateRoleBinding is POST /iam/v2/role-bindings with
// benchBindings bindings in the store: one new DeveloperRead binding per
// op, on the memory store and on the file store, which rewrites (and
// syncs) its JSON file on every write.
func BenchmarkAdminCreateRoleBinding(b *testing.B) {
	for _, bs := range benchStores {
		b.Run(bs.name, func(b *testing.B) {
			s := benchStart(b, bs.open(b))
			bodies := make([][]byte, b.N)
			for i := range bodies {
				body, err := json.Marshal(admin.RoleBindingCreate{Principal: store.Principal(fmt.Sprintf("sa-bench%03d", i%benchPrincipals)),
					RoleName: "DeveloperWrite", CRNPattern: benchTopicCRN(fmt.Sprintf("new-%d-%d", b.N, i))})
				if err != nil {
					b.Fatal(err)
				}
				bodies[i] = body
			}
			lat := make(benchLatencies, 0, b.N)
			b.ReportAllocs()
			b.ResetTimer()
			for i := range b.N {
				start := time.Now()
				code, data := s.do(b, "POST", s.url+"/iam/v2/role-bindings", bodies[i])
				lat = append(lat, time.Since(start))
				if code != http.StatusCreated {
					b.Fatalf("create: %d %s", code, data)
				}
			}
			b.StopTimer()
			lat.report(b, "")
		})
	}
}

// benchMaxWalks is the most walks of the whole list BenchmarkAdminListRoleBindings/all
// makes.
const benchMaxWalks = 20

// benchList is the part of a list answer the benchmarks read.
type benchList struct {
	Metadata struct {
		Next      string `json:"next"`
		TotalSize int    `json:"total_size"`
	} `json:"metadata"`
	Data []json.RawMessage `json:"data"`
}

func (s *benchServer) list(b *testing.B, target string) benchList {
	code, data := s.do(b, "GET", target, nil)
	if code != http.StatusOK {
		b.Fatalf("GET %s: %d %s", target, code, data)
	}
	var l benchList
	if err := json.Unmarshal(data, &l); err != nil {
		b.Fatal(err)
	}
	return l
}

// BenchmarkAdminListRoleBindings is GET /iam/v2/role-bindings over
// benchBindings bindings (and the administrator's): "page" is the first
// page of 100, one request per op; "all" is the whole list, following
// metadata.next from the first page to the last (101 requests per op),
// and reports the latency of the whole walk (p50-ms, p99-ms) and of its
// pages (page-p50-ms, page-p99-ms). Reads come from the store's
// in-memory snapshot whatever the backend, so only the memory store is
// measured.
//
// Every page costs as much as the whole list (listRoleBindings converts
// and checks every binding, then pageOf slices out the page), so a walk
// is about 100 times a page: seconds. "all" skips itself above
// benchMaxWalks walks, as under -benchtime 200x; run it alone with
//
//	go test -run '^$' -bench 'ListRoleBindings/all' -benchtime 10x ./admin/
func BenchmarkAdminListRoleBindings(b *testing.B) {
	first := "/iam/v2/role-bindings?page_size=100"
	b.Run("page", func(b *testing.B) {
		s := benchStart(b, store.NewMemory())
		lat := make(benchLatencies, 0, b.N)
		b.ReportAllocs()
		b.ResetTimer()
		for range b.N {
			start := time.Now()
			l := s.list(b, s.url+first)
			lat = append(lat, time.Since(start))
			if len(l.Data) != 100 || l.Metadata.Next == "" {
				b.Fatalf("first page: %d bindings, next %q", len(l.Data), l.Metadata.Next)
			}
		}
		b.StopTimer()
		lat.report(b, "")
	})
	b.Run("all", func(b *testing.B) {
		if b.N > benchMaxWalks {
			b.Skipf("%d walks of %d bindings would take minutes (one is ~100 pages, each as dear as the whole list); run with -benchtime %dx or less",
				b.N, benchBindings, benchMaxWalks)
		}
		s := benchStart(b, store.NewMemory())
		walks := make(benchLatencies, 0, b.N)
		var pages benchLatencies
		b.ReportAllocs()
		b.ResetTimer()
		for range b.N {
			start := time.Now()
			seen := 0
			for next := s.url + first; next != ""; {
				t := time.Now()
				l := s.list(b, next)
				pages = append(pages, time.Since(t))
				seen += len(l.Data)
				next = l.Metadata.Next
			}
			walks = append(walks, time.Since(start))
			if seen != benchBindings+1 {
				b.Fatalf("the walk saw %d bindings, want %d", seen, benchBindings+1)
			}
		}
		b.StopTimer()
		walks.report(b, "")
		pages.report(b, "page-")
	})
}
