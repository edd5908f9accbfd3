package admin_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/kafka-auth-proxy/kafka-auth-proxy/admin"
	"github.com/kafka-auth-proxy/kafka-auth-proxy/audit"
	"github.com/kafka-auth-proxy/kafka-auth-proxy/authn"
	"github.com/kafka-auth-proxy/kafka-auth-proxy/authn/apikey"
	"github.com/kafka-auth-proxy/kafka-auth-proxy/store"
)

// The scope every test server sits in.
const (
	orgCRN     = "crn://kafka-auth-proxy/organization=org-1"
	envCRN     = orgCRN + "/environment=env-a"
	clusterCRN = envCRN + "/cloud-cluster=lkc-1"
)

// topicCRN is the CRN of a topic of lkc-1; a trailing * makes it a prefix.
func topicCRN(name string) string { return clusterCRN + "/kafka=lkc-1/topic=" + name }

// Roles, as the API spells them.
const (
	OrganizationAdmin = "OrganizationAdmin"
	EnvironmentAdmin  = "EnvironmentAdmin"
	CloudClusterAdmin = "CloudClusterAdmin"
	ResourceOwner     = "ResourceOwner"
	DeveloperRead     = "DeveloperRead"
	DeveloperWrite    = "DeveloperWrite"
	DeveloperManage   = "DeveloperManage"
)

// throttledKey is the Basic user the fake authenticator throttles.
const throttledKey = "THROTTLED0000000"

// apiRoutes is every operation of the API, as a specification: the route
// table must serve exactly these, and the OpenAPI document describe
// exactly these.
var apiRoutes = []struct {
	method, path string
	public       bool
}{
	{"GET", "/healthz", true},
	{"GET", "/readyz", true},
	{"GET", "/openapi.json", true},

	{"GET", "/org/v2/organizations", false},
	{"GET", "/org/v2/environments", false},
	{"GET", "/cmk/v2/clusters", false},
	{"GET", "/org/v2/organizations/{id}", false},
	{"GET", "/org/v2/environments/{id}", false},
	{"GET", "/cmk/v2/clusters/{id}", false},

	{"GET", "/iam/v2/service-accounts", false},
	{"POST", "/iam/v2/service-accounts", false},
	{"GET", "/iam/v2/service-accounts/{id}", false},
	{"PATCH", "/iam/v2/service-accounts/{id}", false},
	{"DELETE", "/iam/v2/service-accounts/{id}", false},

	{"GET", "/iam/v2/users", false},
	{"POST", "/iam/v2/users", false},
	{"GET", "/iam/v2/users/{id}", false},
	{"DELETE", "/iam/v2/users/{id}", false},

	{"GET", "/iam/v2/api-keys", false},
	{"POST", "/iam/v2/api-keys", false},
	{"GET", "/iam/v2/api-keys/{id}", false},
	{"PATCH", "/iam/v2/api-keys/{id}", false},
	{"DELETE", "/iam/v2/api-keys/{id}", false},

	{"GET", "/iam/v2/roles", false},
	{"GET", "/iam/v2/roles/{name}", false},

	{"GET", "/iam/v2/role-bindings", false},
	{"POST", "/iam/v2/role-bindings", false},
	{"GET", "/iam/v2/role-bindings/{id}", false},
	{"DELETE", "/iam/v2/role-bindings/{id}", false},

	{"GET", "/iam/v2/identity-providers", false},
	{"POST", "/iam/v2/identity-providers", false},
	{"GET", "/iam/v2/identity-providers/{id}", false},
	{"PATCH", "/iam/v2/identity-providers/{id}", false},
	{"DELETE", "/iam/v2/identity-providers/{id}", false},

	{"GET", "/iam/v2/identity-providers/{id}/identity-pools", false},
	{"POST", "/iam/v2/identity-providers/{id}/identity-pools", false},
	{"GET", "/iam/v2/identity-providers/{id}/identity-pools/{pool}", false},
	{"PATCH", "/iam/v2/identity-providers/{id}/identity-pools/{pool}", false},
	{"DELETE", "/iam/v2/identity-providers/{id}/identity-pools/{pool}", false},

	{"GET", "/kafka/v3/clusters/{cluster_id}/acls", false},
	{"POST", "/kafka/v3/clusters/{cluster_id}/acls", false},
	{"DELETE", "/kafka/v3/clusters/{cluster_id}/acls", false},
}

// dummyPath fills the parameters of a route path with placeholder
// values; cluster_id is the proxy's cluster.
func dummyPath(path string) string {
	r := strings.NewReplacer("{id}", "x-1", "{name}", "x-1", "{pool}", "x-1", "{cluster_id}", "lkc-1")
	return r.Replace(path)
}

// fakeAuth authenticates a Basic user as a cloud API key of the store
// (checking its secret) and a Bearer token as the id of an identity
// pool of the store, as the proxy's authenticator does; throttledKey is
// throttled.
type fakeAuth struct{ st store.Store }

func (a fakeAuth) AuthenticateHTTP(_ context.Context, _, authorization string) (*authn.Identity, error) {
	scheme, cred, _ := strings.Cut(authorization, " ")
	snap := a.st.Snapshot()
	switch {
	case strings.EqualFold(scheme, "Basic"):
		raw, err := base64.StdEncoding.DecodeString(cred)
		if err != nil {
			return nil, authn.ErrAuthentication
		}
		user, pass, _ := strings.Cut(string(raw), ":")
		if user == throttledKey {
			return nil, authn.ErrThrottled
		}
		k, ok := snap.APIKey(user)
		if !ok || !k.Cloud() {
			return nil, authn.ErrAuthentication
		}
		h, err := apikey.ParseHash(k.SecretHash)
		if err != nil || !h.Verify(pass) {
			return nil, authn.ErrAuthentication
		}
		return &authn.Identity{Principal: store.Principal(k.Owner), Mechanism: "PLAIN", APIKey: k.Metadata.ID, Account: k.Owner}, nil
	case strings.EqualFold(scheme, "Bearer"):
		if p, ok := snap.Pool(cred); ok {
			return &authn.Identity{Principal: store.Principal(p.Metadata.ID), Mechanism: "OAUTHBEARER", Pool: p.Metadata.ID, Provider: p.Provider}, nil
		}
	}
	return nil, authn.ErrAuthentication
}

// lockedBuffer is the audit log of a test server.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// testEnv is an admin server over a memory store, with its audit log and
// metrics.
type testEnv struct {
	t     *testing.T
	st    *store.Memory
	srv   *admin.Server
	url   string
	audit *lockedBuffer
	reg   *prometheus.Registry
	// cluster is what Scope.Cluster returns.
	cluster string
	local   string // URL of LocalHandler, once started
	mu      sync.Mutex
}

// newEnv starts a server; opts adjust its options.
func newEnv(t *testing.T, opts ...func(*admin.Options)) *testEnv {
	t.Helper()
	e := &testEnv{t: t, st: store.NewMemory(), audit: &lockedBuffer{}, reg: prometheus.NewRegistry(), cluster: "lkc-1"}
	o := admin.Options{
		Store: e.st,
		Scope: admin.Scope{Organization: "org-1", Environment: "env-a", Cluster: func() string {
			e.mu.Lock()
			defer e.mu.Unlock()
			return e.cluster
		}},
		Authenticator:       fakeAuth{e.st},
		Audit:               audit.New(e.audit),
		Registerer:          e.reg,
		AllowedProviderURLs: []string{"https://idp.example.com/"},
	}
	for _, f := range opts {
		f(&o)
	}
	srv, err := admin.New(o)
	if err != nil {
		t.Fatalf("admin.New: %v", err)
	}
	e.srv = srv
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(ts.Close)
	e.url = ts.URL
	return e
}

// seed applies commands directly to the store.
func (e *testEnv) seed(cmds ...store.Command) *store.Snapshot {
	e.t.Helper()
	snap, err := e.st.Apply(context.Background(), cmds...)
	if err != nil {
		e.t.Fatalf("seeding the store: %v", err)
	}
	return snap
}

func (e *testEnv) newID(prefix string) string {
	e.t.Helper()
	id, err := store.NewID(prefix)
	if err != nil {
		e.t.Fatal(err)
	}
	return id
}

// serviceAccount creates a service account and returns its id.
func (e *testEnv) serviceAccount(name string) string {
	e.t.Helper()
	id := e.newID(store.ServiceAccountPrefix)
	e.seed(store.Create(&store.ServiceAccount{Metadata: store.Meta{ID: id}, DisplayName: name}))
	return id
}

// user creates a user and returns its id.
func (e *testEnv) user(email string) string {
	e.t.Helper()
	id := e.newID(store.UserAccountPrefix)
	e.seed(store.Create(&store.User{Metadata: store.Meta{ID: id}, Email: email}))
	return id
}

// bind grants role on crn to principal and returns the binding's id.
func (e *testEnv) bind(principal, role, crn string) string {
	e.t.Helper()
	id := e.newID(store.RoleBindingPrefix)
	e.seed(store.Create(&store.RoleBinding{Metadata: store.Meta{ID: id}, Principal: principal, RoleName: role, CRNPattern: crn}))
	return id
}

// key creates an API key of owner on resource (a cluster id or cloud)
// and returns its id and secret.
func (e *testEnv) key(owner, resource string) (id, secret string) {
	e.t.Helper()
	id, err := apikey.NewKeyID()
	if err != nil {
		e.t.Fatal(err)
	}
	secret, err = apikey.NewSecret()
	if err != nil {
		e.t.Fatal(err)
	}
	hash, err := apikey.HashSecret(secret)
	if err != nil {
		e.t.Fatal(err)
	}
	e.seed(store.Create(&store.APIKey{Metadata: store.Meta{ID: id}, SecretHash: hash, Owner: owner, Resource: resource}))
	return id, secret
}

// provider creates an identity provider and returns its id.
func (e *testEnv) provider(name string) string {
	e.t.Helper()
	id := e.newID(store.ProviderPrefix)
	e.seed(store.Create(&store.IdentityProvider{Metadata: store.Meta{ID: id}, DisplayName: name,
		Issuer: "https://idp.example.com/" + name}))
	return id
}

// pool creates an identity pool of provider and returns its id.
func (e *testEnv) pool(provider, name string) string {
	e.t.Helper()
	id := e.newID("pool")
	e.seed(store.Create(&store.IdentityPool{Metadata: store.Meta{ID: id}, Provider: provider, DisplayName: name,
		IdentityClaim: "claims.sub", Filter: `claims.aud == "kafka"`}))
	return id
}

// roleOn is a role on a CRN.
type roleOn struct{ role, crn string }

// caller is an account that calls the API with a cloud key of its own.
type caller struct {
	*client
	id        string // sa-… or u-…
	principal string // User:…
	key       string // the id of the cloud key it logs in with
}

// caller creates a service account holding bindings, with a cloud key
// to call the API with.
func (e *testEnv) caller(name string, bindings ...roleOn) *caller {
	e.t.Helper()
	return e.callerFor(e.serviceAccount(name), bindings...)
}

// userCaller is caller for a user account.
func (e *testEnv) userCaller(email string, bindings ...roleOn) *caller {
	e.t.Helper()
	return e.callerFor(e.user(email), bindings...)
}

func (e *testEnv) callerFor(id string, bindings ...roleOn) *caller {
	e.t.Helper()
	for _, b := range bindings {
		e.bind(store.Principal(id), b.role, b.crn)
	}
	kid, secret := e.key(id, store.ResourceCloud)
	return &caller{client: e.basic(kid, secret), id: id, principal: store.Principal(id), key: kid}
}

// orgAdmin is a caller holding OrganizationAdmin.
func (e *testEnv) orgAdmin(name string) *caller {
	e.t.Helper()
	return e.caller(name, roleOn{OrganizationAdmin, orgCRN})
}

// client sends requests to a server.
type client struct {
	e    *testEnv
	base string
	auth string // the Authorization header; "" sends none
}

// anonymous sends no credentials.
func (e *testEnv) anonymous() *client { return &client{e: e, base: e.url} }

// basic logs in with an API key.
func (e *testEnv) basic(user, pass string) *client {
	return &client{e: e, base: e.url, auth: "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+pass))}
}

// bearer logs in with a token.
func (e *testEnv) bearer(token string) *client {
	return &client{e: e, base: e.url, auth: "Bearer " + token}
}

// localClient calls LocalHandler, as the operator "alice".
func (e *testEnv) localClient() *client {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.local == "" {
		ts := httptest.NewServer(e.srv.LocalHandler("local:alice"))
		e.t.Cleanup(ts.Close)
		e.local = ts.URL
	}
	return &client{e: e, base: e.local}
}

// response is an answer of the API.
type response struct {
	t      *testing.T
	req    string
	status int
	header http.Header
	body   []byte
}

// do sends a request. target is a path (with its query) or an absolute
// URL; body is nil, a string or []byte sent as is, or a value sent as
// JSON; header holds name, value pairs.
func (c *client) do(method, target string, body any, header ...string) *response {
	c.e.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		data, err := json.Marshal(b)
		if err != nil {
			c.e.t.Fatal(err)
		}
		rd = bytes.NewReader(data)
	}
	u := target
	if !strings.HasPrefix(u, "http") {
		u = c.base + target
	}
	req, err := http.NewRequest(method, u, rd)
	if err != nil {
		c.e.t.Fatal(err)
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.auth != "" {
		req.Header.Set("Authorization", c.auth)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		c.e.t.Fatalf("%s %s: %v", method, target, err)
	}
	defer res.Body.Close()
	data, err := io.ReadAll(res.Body)
	if err != nil {
		c.e.t.Fatalf("%s %s: reading the answer: %v", method, target, err)
	}
	return &response{t: c.e.t, req: method + " " + target, status: res.StatusCode, header: res.Header, body: data}
}

func (c *client) get(target string) *response { c.e.t.Helper(); return c.do("GET", target, nil) }
func (c *client) post(target string, body any) *response {
	c.e.t.Helper()
	return c.do("POST", target, body)
}
func (c *client) patch(target string, body any, header ...string) *response {
	c.e.t.Helper()
	return c.do("PATCH", target, body, header...)
}
func (c *client) delete(target string, header ...string) *response {
	c.e.t.Helper()
	return c.do("DELETE", target, nil, header...)
}

// want fails the test unless the answer has status.
func (r *response) want(status int) *response {
	r.t.Helper()
	if r.status != status {
		r.t.Fatalf("%s: status %d, want %d; body %s", r.req, r.status, status, r.body)
	}
	return r
}

// decode decodes the body into v.
func (r *response) decode(v any) {
	r.t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		r.t.Fatalf("%s: body %q: %v", r.req, r.body, err)
	}
}

// obj is the body as a JSON object.
func (r *response) obj() map[string]any {
	r.t.Helper()
	var m map[string]any
	r.decode(&m)
	return m
}

// errors is the errors[] of an error answer; each item's status must be
// the answer's.
func (r *response) errors() []admin.ErrorItem {
	r.t.Helper()
	if ct := r.header.Get("Content-Type"); ct != "application/json" {
		r.t.Fatalf("%s: error answer of type %q, want application/json", r.req, ct)
	}
	var b admin.ErrorBody
	r.decode(&b)
	if len(b.Errors) == 0 {
		r.t.Fatalf("%s: error answer without errors: %s", r.req, r.body)
	}
	for _, it := range b.Errors {
		if it.Status != fmt.Sprint(r.status) || it.Detail == "" {
			r.t.Fatalf("%s: error item %+v of a %d answer", r.req, it, r.status)
		}
	}
	return b.Errors
}

// detail is every error detail of the answer, joined.
func (r *response) detail() string {
	r.t.Helper()
	var parts []string
	for _, it := range r.errors() {
		parts = append(parts, it.Detail)
	}
	return strings.Join(parts, "; ")
}

// pointers are the source pointers (or parameters) of the errors.
func (r *response) pointers() []string {
	r.t.Helper()
	var out []string
	for _, it := range r.errors() {
		switch {
		case it.Source == nil:
			out = append(out, "")
		case it.Source.Parameter != "":
			out = append(out, "?"+it.Source.Parameter)
		default:
			out = append(out, it.Source.Pointer)
		}
	}
	sort.Strings(out)
	return out
}

// list decodes a list answer.
func (r *response) list() listBody {
	r.t.Helper()
	var l listBody
	r.decode(&l)
	return l
}

type listBody struct {
	APIVersion string `json:"api_version"`
	Kind       string `json:"kind"`
	Metadata   struct {
		First     string `json:"first"`
		Next      string `json:"next"`
		TotalSize int    `json:"total_size"`
	} `json:"metadata"`
	Data []map[string]any `json:"data"`
}

// ids are the ids of the listed objects.
func (l listBody) ids() []string {
	var out []string
	for _, o := range l.Data {
		out = append(out, str(o["id"]))
	}
	return out
}

func str(v any) string { s, _ := v.(string); return s }

// field follows a path of keys through nested JSON objects.
func field(m map[string]any, path ...string) any {
	var v any = m
	for _, k := range path {
		o, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = o[k]
	}
	return v
}

// checkObject checks the envelope every IAM object has.
func checkObject(t *testing.T, o map[string]any, kind, idPrefix string) {
	t.Helper()
	if o["api_version"] != "iam/v2" || o["kind"] != kind {
		t.Errorf("api_version %v, kind %v; want iam/v2 %s", o["api_version"], o["kind"], kind)
	}
	id := str(o["id"])
	if !strings.HasPrefix(id, idPrefix) {
		t.Errorf("id %q does not start with %q", id, idPrefix)
	}
	m, _ := o["metadata"].(map[string]any)
	if m == nil {
		t.Fatalf("no metadata in %v", o)
	}
	if !strings.HasSuffix(str(m["self"]), "/"+id) || !strings.HasPrefix(str(m["self"]), "http") {
		t.Errorf("metadata.self %v does not name %s", m["self"], id)
	}
	if !strings.HasPrefix(str(m["resource_name"]), orgCRN+"/") || !strings.HasSuffix(str(m["resource_name"]), "="+id) {
		t.Errorf("metadata.resource_name %v is not the CRN of %s", m["resource_name"], id)
	}
	for _, k := range []string{"created_at", "updated_at"} {
		if _, err := time.Parse(time.RFC3339, str(m[k])); err != nil {
			t.Errorf("metadata.%s %v: %v", k, m[k], err)
		}
	}
	if v, ok := m["version"].(float64); !ok || v < 1 {
		t.Errorf("metadata.version %v, want a number from 1", m["version"])
	}
	if m["source"] != "api" && m["source"] != "config" {
		t.Errorf("metadata.source %v, want api or config", m["source"])
	}
}

// version is metadata.version of an object.
func version(o map[string]any) int {
	v, _ := field(o, "metadata", "version").(float64)
	return int(v)
}

// auditEvent is one line of the audit log.
type auditEvent struct {
	Type    string `json:"type"`
	Subject string `json:"subject"`
	Data    struct {
		Caller  string         `json:"caller"`
		Method  string         `json:"method"`
		Route   string         `json:"route"`
		Action  string         `json:"action"`
		Kind    string         `json:"kind"`
		Object  string         `json:"object"`
		Changed map[string]any `json:"changed"`
		Result  string         `json:"result"`
		Status  int            `json:"status"`
		Detail  string         `json:"detail"`
	} `json:"data"`
}

// events parses the audit log.
func (e *testEnv) events() []auditEvent {
	e.t.Helper()
	var out []auditEvent
	for _, line := range strings.Split(strings.TrimSpace(e.audit.String()), "\n") {
		if line == "" {
			continue
		}
		var ev auditEvent
		if err := json.Unmarshal([]byte(line), &ev); err != nil {
			e.t.Fatalf("audit line %q: %v", line, err)
		}
		out = append(out, ev)
	}
	return out
}

// requests is the value of kafka_auth_proxy_admin_requests_total for a
// route and code ("" for any code).
func (e *testEnv) requests(route, code string) float64 {
	e.t.Helper()
	mfs, err := e.reg.Gather()
	if err != nil {
		e.t.Fatal(err)
	}
	var n float64
	for _, mf := range mfs {
		if mf.GetName() != "kafka_auth_proxy_admin_requests_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			if labels["route"] == route && (code == "" || labels["code"] == code) {
				n += m.GetCounter().GetValue()
			}
		}
	}
	return n
}

// observations is the number of durations observed for a route.
func (e *testEnv) observations(route string) uint64 {
	e.t.Helper()
	mfs, err := e.reg.Gather()
	if err != nil {
		e.t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != "kafka_auth_proxy_admin_request_duration_seconds" {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "route" && l.GetValue() == route {
					return m.GetHistogram().GetSampleCount()
				}
			}
		}
	}
	return 0
}

// createKeyBody is the body that creates an API key of owner on resource.
func createKeyBody(owner, resource string) map[string]any {
	return map[string]any{"spec": map[string]any{"display_name": "k", "owner": map[string]any{"id": owner}, "resource": map[string]any{"id": resource}}}
}

func bindingBody(principal, role, crn string) map[string]any {
	return map[string]any{"principal": principal, "role_name": role, "crn_pattern": crn}
}

func aclBody(principal, topic, operation string) map[string]any {
	return map[string]any{"resource_type": "TOPIC", "resource_name": topic, "pattern_type": "LITERAL",
		"principal": principal, "host": "*", "operation": operation, "permission": "ALLOW"}
}

const aclsPath = "/kafka/v3/clusters/lkc-1/acls"

func q(path string, kv ...string) string {
	v := url.Values{}
	for i := 0; i+1 < len(kv); i += 2 {
		v.Add(kv[i], kv[i+1])
	}
	return path + "?" + v.Encode()
}

// Every route, once, answers its success status with a body of its shape.

func TestEveryRouteAnswersWithItsSuccessStatusAndShape(t *testing.T) {
	type fixture struct {
		e                                      *testEnv
		admin                                  *caller
		sa, user, key, binding, provider, pool string
	}
	setup := func(t *testing.T) *fixture {
		e := newEnv(t)
		f := &fixture{e: e, admin: e.orgAdmin("root")}
		f.sa = e.serviceAccount("payments")
		f.user = e.user("bob@example.com")
		f.key, _ = e.key(f.sa, "lkc-1")
		f.binding = e.bind(store.Principal(f.sa), DeveloperRead, topicCRN("orders"))
		f.provider = e.provider("corp")
		f.pool = e.pool(f.provider, "analytics")
		f.admin.post(aclsPath, aclBody(store.Principal(f.sa), "orders", "READ")).want(201)
		return f
	}
	rows := []struct {
		method, route string
		target        func(f *fixture) string
		body          func(f *fixture) any
		status        int
		kind          string // of the answer; "" for none
	}{
		{"GET", "/healthz", nil, nil, 200, "text"},
		{"GET", "/readyz", nil, nil, 200, "text"},
		{"GET", "/openapi.json", nil, nil, 200, "openapi"},
		{"GET", "/org/v2/organizations", nil, nil, 200, "OrganizationList"},
		{"GET", "/org/v2/environments", nil, nil, 200, "EnvironmentList"},
		{"GET", "/cmk/v2/clusters", nil, nil, 200, "ClusterList"},
		{"GET", "/org/v2/organizations/{id}", func(*fixture) string { return "/org/v2/organizations/org-1" }, nil, 200, "Organization"},
		{"GET", "/org/v2/environments/{id}", func(*fixture) string { return "/org/v2/environments/env-a" }, nil, 200, "Environment"},
		{"GET", "/cmk/v2/clusters/{id}", func(*fixture) string { return "/cmk/v2/clusters/lkc-1" }, nil, 200, "Cluster"},

		{"GET", "/iam/v2/service-accounts", nil, nil, 200, "ServiceAccountList"},
		{"POST", "/iam/v2/service-accounts", nil, func(*fixture) any {
			return map[string]any{"display_name": "orders", "description": "the orders service"}
		}, 201, "ServiceAccount"},
		{"GET", "/iam/v2/service-accounts/{id}", func(f *fixture) string { return "/iam/v2/service-accounts/" + f.sa }, nil, 200, "ServiceAccount"},
		{"PATCH", "/iam/v2/service-accounts/{id}", func(f *fixture) string { return "/iam/v2/service-accounts/" + f.sa },
			func(*fixture) any { return map[string]any{"description": "new"} }, 200, "ServiceAccount"},
		{"DELETE", "/iam/v2/service-accounts/{id}", func(f *fixture) string { return "/iam/v2/service-accounts/" + f.sa }, nil, 204, ""},

		{"GET", "/iam/v2/users", nil, nil, 200, "UserList"},
		{"POST", "/iam/v2/users", nil, func(*fixture) any {
			return map[string]any{"email": "carol@example.com", "full_name": "Carol"}
		}, 201, "User"},
		{"GET", "/iam/v2/users/{id}", func(f *fixture) string { return "/iam/v2/users/" + f.user }, nil, 200, "User"},
		{"DELETE", "/iam/v2/users/{id}", func(f *fixture) string { return "/iam/v2/users/" + f.user }, nil, 204, ""},

		{"GET", "/iam/v2/api-keys", nil, nil, 200, "ApiKeyList"},
		{"POST", "/iam/v2/api-keys", nil, func(f *fixture) any { return createKeyBody(f.sa, "lkc-1") }, 201, "ApiKey"},
		{"GET", "/iam/v2/api-keys/{id}", func(f *fixture) string { return "/iam/v2/api-keys/" + f.key }, nil, 200, "ApiKey"},
		{"PATCH", "/iam/v2/api-keys/{id}", func(f *fixture) string { return "/iam/v2/api-keys/" + f.key },
			func(*fixture) any { return map[string]any{"spec": map[string]any{"display_name": "renamed"}} }, 200, "ApiKey"},
		{"DELETE", "/iam/v2/api-keys/{id}", func(f *fixture) string { return "/iam/v2/api-keys/" + f.key }, nil, 204, ""},

		{"GET", "/iam/v2/roles", nil, nil, 200, "RoleList"},
		{"GET", "/iam/v2/roles/{name}", func(*fixture) string { return "/iam/v2/roles/DeveloperRead" }, nil, 200, "Role"},

		{"GET", "/iam/v2/role-bindings", nil, nil, 200, "RoleBindingList"},
		{"POST", "/iam/v2/role-bindings", nil, func(f *fixture) any {
			return bindingBody(store.Principal(f.sa), DeveloperRead, topicCRN("payments"))
		}, 201, "RoleBinding"},
		{"GET", "/iam/v2/role-bindings/{id}", func(f *fixture) string { return "/iam/v2/role-bindings/" + f.binding }, nil, 200, "RoleBinding"},
		{"DELETE", "/iam/v2/role-bindings/{id}", func(f *fixture) string { return "/iam/v2/role-bindings/" + f.binding }, nil, 204, ""},

		{"GET", "/iam/v2/identity-providers", nil, nil, 200, "IdentityProviderList"},
		{"POST", "/iam/v2/identity-providers", nil, func(*fixture) any {
			return map[string]any{"display_name": "keycloak", "issuer": "https://idp.example.com/realms/kafka", "audiences": []string{"kafka"}}
		}, 201, "IdentityProvider"},
		{"GET", "/iam/v2/identity-providers/{id}", func(f *fixture) string { return "/iam/v2/identity-providers/" + f.provider }, nil, 200, "IdentityProvider"},
		{"PATCH", "/iam/v2/identity-providers/{id}", func(f *fixture) string { return "/iam/v2/identity-providers/" + f.provider },
			func(*fixture) any { return map[string]any{"description": "corporate SSO"} }, 200, "IdentityProvider"},
		{"DELETE", "/iam/v2/identity-providers/{id}", func(f *fixture) string { return "/iam/v2/identity-providers/" + f.provider }, nil, 204, ""},

		{"GET", "/iam/v2/identity-providers/{id}/identity-pools", func(f *fixture) string {
			return "/iam/v2/identity-providers/" + f.provider + "/identity-pools"
		}, nil, 200, "IdentityPoolList"},
		{"POST", "/iam/v2/identity-providers/{id}/identity-pools", func(f *fixture) string {
			return "/iam/v2/identity-providers/" + f.provider + "/identity-pools"
		}, func(*fixture) any { return map[string]any{"display_name": "ci", "filter": `"ci" in claims.groups`} }, 201, "IdentityPool"},
		{"GET", "/iam/v2/identity-providers/{id}/identity-pools/{pool}", func(f *fixture) string {
			return "/iam/v2/identity-providers/" + f.provider + "/identity-pools/" + f.pool
		}, nil, 200, "IdentityPool"},
		{"PATCH", "/iam/v2/identity-providers/{id}/identity-pools/{pool}", func(f *fixture) string {
			return "/iam/v2/identity-providers/" + f.provider + "/identity-pools/" + f.pool
		}, func(*fixture) any { return map[string]any{"identity_claim": "claims.email"} }, 200, "IdentityPool"},
		{"DELETE", "/iam/v2/identity-providers/{id}/identity-pools/{pool}", func(f *fixture) string {
			return "/iam/v2/identity-providers/" + f.provider + "/identity-pools/" + f.pool
		}, nil, 204, ""},

		{"GET", "/kafka/v3/clusters/{cluster_id}/acls", nil, nil, 200, "KafkaAclList"},
		{"POST", "/kafka/v3/clusters/{cluster_id}/acls", nil, func(f *fixture) any {
			return aclBody(store.Principal(f.sa), "payments", "WRITE")
		}, 201, "KafkaAcl"},
		{"DELETE", "/kafka/v3/clusters/{cluster_id}/acls", func(*fixture) string {
			return q(aclsPath, "resource_type", "TOPIC", "resource_name", "orders")
		}, nil, 200, "KafkaAclList"},
	}

	covered := map[string]bool{}
	for _, row := range rows {
		covered[row.method+" "+row.route] = true
	}
	for _, rt := range apiRoutes {
		if !covered[rt.method+" "+rt.path] {
			t.Errorf("route %s %s has no row", rt.method, rt.path)
		}
	}

	for _, row := range rows {
		t.Run(row.method+" "+row.route, func(t *testing.T) {
			f := setup(t)
			target := dummyPath(row.route)
			if row.target != nil {
				target = row.target(f)
			}
			var body any
			if row.body != nil {
				body = row.body(f)
			}
			r := f.admin.do(row.method, target, body).want(row.status)
			switch {
			case row.kind == "":
				if len(r.body) != 0 {
					t.Errorf("a %d answer with a body: %s", r.status, r.body)
				}
			case row.kind == "text":
				if string(r.body) != "ok\n" {
					t.Errorf("body %q, want ok", r.body)
				}
			case row.kind == "openapi":
				if !strings.HasPrefix(r.header.Get("Content-Type"), "application/json") || r.obj()["openapi"] == nil {
					t.Errorf("not an OpenAPI document: %s", r.header.Get("Content-Type"))
				}
			case strings.HasSuffix(row.kind, "List"):
				if ct := r.header.Get("Content-Type"); ct != "application/json" {
					t.Errorf("Content-Type %q", ct)
				}
				m := r.obj()
				if m["kind"] != row.kind {
					t.Errorf("kind %v, want %s", m["kind"], row.kind)
				}
				if _, ok := m["data"].([]any); !ok {
					t.Errorf("data is %T, want a list: %s", m["data"], r.body)
				}
				if row.kind != "KafkaAclList" {
					l := r.list()
					if l.Metadata.First == "" || l.Metadata.TotalSize != len(l.Data) {
						t.Errorf("list metadata %+v for %d objects", l.Metadata, len(l.Data))
					}
				}
			default:
				m := r.obj()
				if m["kind"] != row.kind {
					t.Errorf("kind %v, want %s: %s", m["kind"], row.kind, r.body)
				}
			}
		})
	}
}

// Authentication.

func TestOnlyHealthReadinessAndTheDocumentAnswerWithoutCredentials(t *testing.T) {
	e := newEnv(t)
	for _, rt := range apiRoutes {
		t.Run(rt.method+" "+rt.path, func(t *testing.T) {
			for name, c := range map[string]*client{
				"no credentials":   e.anonymous(),
				"an unknown key":   e.basic("AAAAAAAAAAAAAAAA", "secret"),
				"an unknown token": e.bearer("not-a-token"),
			} {
				r := c.do(rt.method, dummyPath(rt.path), nil)
				if rt.public {
					r.want(200)
					continue
				}
				if r.status != 401 {
					t.Fatalf("%s: status %d, want 401: %s", name, r.status, r.body)
				}
				if h := r.header.Get("WWW-Authenticate"); !strings.Contains(h, "Basic") || !strings.Contains(h, "Bearer") {
					t.Errorf("%s: WWW-Authenticate %q, want Basic and Bearer challenges", name, h)
				}
				r.errors()
			}
		})
	}
}

func TestAThrottledCallerIsAnsweredWith429(t *testing.T) {
	e := newEnv(t)
	r := e.basic(throttledKey, "x").get("/iam/v2/service-accounts").want(429)
	if !strings.Contains(r.detail(), "try again later") {
		t.Errorf("detail %q", r.detail())
	}
	if r.header.Get("WWW-Authenticate") != "" {
		t.Errorf("a 429 with a challenge")
	}
}

func TestAPoolIdentityActsWithThePoolsBindings(t *testing.T) {
	e := newEnv(t)
	prov := e.provider("corp")
	admins := e.pool(prov, "admins")
	others := e.pool(prov, "others")
	e.bind(store.Principal(admins), CloudClusterAdmin, clusterCRN)
	e.bearer(admins).get(aclsPath).want(200)
	e.bearer(others).get(aclsPath).want(403)
	// A pool owns no account, so no API key either.
	e.bearer(others).post("/iam/v2/api-keys", createKeyBody(e.serviceAccount("x"), "lkc-1")).want(403)
}

// Unknown paths and methods.

func TestUnknownPathsAre404AndWrongMethods405WithJSONBodies(t *testing.T) {
	e := newEnv(t)
	admin := e.orgAdmin("root")
	cases := []struct {
		method, path string
		status       int
		allow        string
	}{
		{"GET", "/iam/v2/nothing", 404, ""},
		{"GET", "/", 404, ""},
		{"GET", "/iam/v2/service-accounts/a/b", 404, ""},
		{"PUT", "/iam/v2/service-accounts", 405, "GET, POST"},
		{"DELETE", "/iam/v2/service-accounts", 405, "GET, POST"},
		{"PUT", "/iam/v2/service-accounts/sa-1", 405, "GET, PATCH, DELETE"},
		{"PATCH", "/iam/v2/role-bindings/rb-1", 405, "GET, DELETE"},
		{"PATCH", "/iam/v2/users/u-1", 405, "GET, DELETE"},
		{"PATCH", aclsPath, 405, "GET, POST, DELETE"},
		{"POST", "/healthz", 405, "GET"},
		// Paths not in their clean form get a JSON 404, not the mux's
		// HTML redirect.
		{"GET", "/iam/v2/users/.", 404, ""},
		{"GET", "/iam/v2/users/../roles", 404, ""},
		{"GET", "//iam/v2/roles", 404, ""},
		{"GET", "/iam/v2/roles/", 404, ""},
	}
	for _, c := range cases {
		for name, cl := range map[string]*client{"an admin": admin.client, "anyone": e.anonymous()} {
			r := cl.do(c.method, c.path, nil).want(c.status)
			r.errors()
			if got := r.header.Get("Allow"); got != c.allow {
				t.Errorf("%s %s by %s: Allow %q, want %q", c.method, c.path, name, got, c.allow)
			}
		}
	}
}

// Service accounts.

func TestAServiceAccountIsCreatedDescribedListedUpdatedAndDeleted(t *testing.T) {
	e := newEnv(t)
	admin := e.orgAdmin("root")

	r := admin.post("/iam/v2/service-accounts", map[string]any{"display_name": "payments", "description": "payments service"}).want(201)
	sa := r.obj()
	checkObject(t, sa, "ServiceAccount", "sa-")
	id := str(sa["id"])
	if sa["display_name"] != "payments" || sa["description"] != "payments service" || version(sa) != 1 || field(sa, "metadata", "source") != "api" {
		t.Errorf("created %s", r.body)
	}
	if field(sa, "metadata", "resource_name") != orgCRN+"/service-account="+id {
		t.Errorf("resource_name %v", field(sa, "metadata", "resource_name"))
	}
	if loc := r.header.Get("Location"); !strings.HasSuffix(loc, "/iam/v2/service-accounts/"+id) {
		t.Errorf("Location %q", loc)
	}
	if et := r.header.Get("ETag"); et != `"1"` {
		t.Errorf("ETag %q, want \"1\"", et)
	}

	g := admin.get("/iam/v2/service-accounts/" + id).want(200)
	if g.header.Get("ETag") != `"1"` || g.obj()["display_name"] != "payments" {
		t.Errorf("described %s (ETag %s)", g.body, g.header.Get("ETag"))
	}
	if ids := admin.get("/iam/v2/service-accounts").want(200).list().ids(); !slices.Contains(ids, id) || !slices.Contains(ids, admin.id) {
		t.Errorf("list %v lacks %s or the caller", ids, id)
	}

	u := admin.patch("/iam/v2/service-accounts/"+id, map[string]any{"description": "pays"}, "If-Match", `"1"`).want(200)
	if m := u.obj(); version(m) != 2 || m["description"] != "pays" || m["display_name"] != "payments" {
		t.Errorf("updated %s", u.body)
	}
	if u.header.Get("ETag") != `"2"` {
		t.Errorf("ETag %q after the update", u.header.Get("ETag"))
	}

	// The display name is unique.
	admin.post("/iam/v2/service-accounts", map[string]any{"display_name": "payments"}).want(409)

	admin.delete("/iam/v2/service-accounts/"+id, "If-Match", `"2"`).want(204)
	admin.get("/iam/v2/service-accounts/" + id).want(404)
	admin.delete("/iam/v2/service-accounts/" + id).want(404)
}

// Versions.

func TestAStaleVersionIsRefusedWith409AndLeavesTheObjectUnchanged(t *testing.T) {
	e := newEnv(t)
	admin := e.orgAdmin("root")
	sa := e.serviceAccount("payments")
	u := e.user("bob@example.com")
	key, _ := e.key(sa, "lkc-1")
	rb := e.bind(store.Principal(sa), DeveloperRead, topicCRN("orders"))
	prov := e.provider("corp")
	pool := e.pool(prov, "analytics")
	// Move each object to version 2, so that 1 is stale.
	admin.patch("/iam/v2/service-accounts/"+sa, map[string]any{"description": "v2"}).want(200)
	admin.patch("/iam/v2/api-keys/"+key, map[string]any{"spec": map[string]any{"description": "v2"}}).want(200)
	admin.patch("/iam/v2/identity-providers/"+prov, map[string]any{"description": "v2"}).want(200)
	admin.patch("/iam/v2/identity-providers/"+prov+"/identity-pools/"+pool, map[string]any{"description": "v2"}).want(200)

	updates := []struct {
		path  string
		field []string
		body  func(v any) map[string]any
	}{
		{"/iam/v2/service-accounts/" + sa, []string{"description"}, func(v any) map[string]any { return map[string]any{"description": "v3", "metadata": v} }},
		{"/iam/v2/api-keys/" + key, []string{"spec", "description"}, func(v any) map[string]any {
			return map[string]any{"spec": map[string]any{"description": "v3"}, "metadata": v}
		}},
		{"/iam/v2/identity-providers/" + prov, []string{"description"}, func(v any) map[string]any { return map[string]any{"description": "v3", "metadata": v} }},
		{"/iam/v2/identity-providers/" + prov + "/identity-pools/" + pool, []string{"description"}, func(v any) map[string]any {
			return map[string]any{"description": "v3", "metadata": v}
		}},
	}
	for _, up := range updates {
		t.Run("PATCH "+up.path, func(t *testing.T) {
			unchanged := func() {
				t.Helper()
				m := admin.get(up.path).want(200).obj()
				if version(m) != 2 || field(m, up.field...) != "v2" {
					t.Fatalf("the object changed: %v", m)
				}
			}
			r := admin.patch(up.path, up.body(nil), "If-Match", `"1"`).want(409)
			if !strings.Contains(r.detail(), "version 2") {
				t.Errorf("detail %q does not say the current version", r.detail())
			}
			unchanged()
			admin.patch(up.path, up.body(map[string]any{"version": 1})).want(409)
			unchanged()
			// If-Match and metadata.version that disagree are a mistake.
			admin.patch(up.path, up.body(map[string]any{"version": 2}), "If-Match", `"3"`).want(400)
			admin.patch(up.path, up.body(nil), "If-Match", "yesterday").want(400)
			unchanged()

			ok := admin.patch(up.path, up.body(map[string]any{"version": 2})).want(200)
			if m := ok.obj(); version(m) != 3 || field(m, up.field...) != "v3" || ok.header.Get("ETag") != `"3"` {
				t.Errorf("updated at the current version: %s, ETag %s", ok.body, ok.header.Get("ETag"))
			}
			ok = admin.patch(up.path, up.body(nil), "If-Match", `W/"3"`).want(200)
			if version(ok.obj()) != 4 || ok.header.Get("ETag") != `"4"` {
				t.Errorf("a weak If-Match: %s", ok.body)
			}
			admin.patch(up.path, up.body(nil), "If-Match", "*").want(200)
		})
	}

	deletes := []string{
		"/iam/v2/api-keys/" + key,
		"/iam/v2/role-bindings/" + rb,
		"/iam/v2/identity-providers/" + prov + "/identity-pools/" + pool,
		"/iam/v2/identity-providers/" + prov,
		"/iam/v2/service-accounts/" + sa,
		"/iam/v2/users/" + u,
	}
	for _, path := range deletes {
		t.Run("DELETE "+path, func(t *testing.T) {
			m := admin.get(path).want(200).obj()
			v := version(m)
			admin.delete(path, "If-Match", fmt.Sprintf(`"%d"`, v+1)).want(409)
			if after := admin.get(path).want(200).obj(); version(after) != v {
				t.Fatalf("the object changed: %v", after)
			}
			admin.delete(path, "If-Match", fmt.Sprintf(`"%d"`, v)).want(204)
			admin.get(path).want(404)
		})
	}
}

// Objects of the configuration file.

func TestObjectsOfTheConfigurationFileAreListedAsConfigAndAreReadOnly(t *testing.T) {
	e := newEnv(t)
	admin := e.orgAdmin("root")
	hash, err := apikey.HashSecret("s3cret-s3cret-s3cret")
	if err != nil {
		t.Fatal(err)
	}
	acl := &store.ACL{Cluster: "lkc-1", ResourceType: "TOPIC", ResourceName: "audit", PatternType: "LITERAL",
		Principal: "User:sa-conf01", Host: "*", Operation: "READ", Permission: "ALLOW"}
	acl.Metadata.ID = store.ACLID(acl)
	e.st.SetStatic([]store.Object{
		&store.ServiceAccount{Metadata: store.Meta{ID: "sa-conf01"}, DisplayName: "from-config"},
		&store.User{Metadata: store.Meta{ID: "u-conf01"}, Email: "ops@example.com"},
		&store.APIKey{Metadata: store.Meta{ID: "CONFKEY000000001"}, SecretHash: hash, Owner: "sa-conf01", Resource: "lkc-1"},
		&store.IdentityProvider{Metadata: store.Meta{ID: "op-conf01"}, DisplayName: "conf", Issuer: "https://idp.example.com/conf"},
		&store.IdentityPool{Metadata: store.Meta{ID: "pool-conf01"}, Provider: "op-conf01", DisplayName: "conf", IdentityClaim: "claims.sub", Filter: "true"},
		&store.RoleBinding{Metadata: store.Meta{ID: "rb-conf01"}, Principal: "User:sa-conf01", RoleName: DeveloperRead, CRNPattern: topicCRN("audit")},
		acl,
	})

	objects := []struct {
		list, path string
		patch      any
	}{
		{"/iam/v2/service-accounts", "/iam/v2/service-accounts/sa-conf01", map[string]any{"description": "x"}},
		{"/iam/v2/users", "/iam/v2/users/u-conf01", nil},
		{"/iam/v2/api-keys", "/iam/v2/api-keys/CONFKEY000000001", map[string]any{"spec": map[string]any{"description": "x"}}},
		{"/iam/v2/identity-providers", "/iam/v2/identity-providers/op-conf01", map[string]any{"description": "x"}},
		{"/iam/v2/identity-providers/op-conf01/identity-pools", "/iam/v2/identity-providers/op-conf01/identity-pools/pool-conf01", map[string]any{"description": "x"}},
		{"/iam/v2/role-bindings", "/iam/v2/role-bindings/rb-conf01", nil},
	}
	for _, o := range objects {
		t.Run(o.path, func(t *testing.T) {
			id := o.path[strings.LastIndex(o.path, "/")+1:]
			var listed map[string]any
			for _, m := range admin.get(o.list).want(200).list().Data {
				if m["id"] == id {
					listed = m
				}
			}
			if field(listed, "metadata", "source") != "config" {
				t.Errorf("listed as %v", listed)
			}
			if field(admin.get(o.path).want(200).obj(), "metadata", "source") != "config" {
				t.Errorf("described without source config")
			}
			if o.patch != nil {
				r := admin.patch(o.path, o.patch).want(409)
				if !strings.Contains(r.detail(), "configuration file") {
					t.Errorf("PATCH detail %q does not say where to change it", r.detail())
				}
			}
			r := admin.delete(o.path).want(409)
			if !strings.Contains(r.detail(), "configuration file") {
				t.Errorf("DELETE detail %q does not say where to change it", r.detail())
			}
			admin.get(o.path).want(200)
		})
	}

	t.Run("ACLs", func(t *testing.T) {
		l := admin.get(aclsPath).want(200).obj()
		data, _ := l["data"].([]any)
		if len(data) != 1 || field(data[0].(map[string]any), "source") != "config" {
			t.Fatalf("ACLs %v", l)
		}
		r := admin.delete(q(aclsPath, "resource_name", "audit")).want(409)
		if !strings.Contains(r.detail(), "configuration file") {
			t.Errorf("detail %q", r.detail())
		}
		if len(admin.get(aclsPath).want(200).obj()["data"].([]any)) != 1 {
			t.Errorf("the configured ACL is gone")
		}
	})
}

// Bad input.

func TestEveryProblemOfABodyIsListedWithItsPointer(t *testing.T) {
	e := newEnv(t)
	admin := e.orgAdmin("root")
	sa := e.serviceAccount("payments")
	prov := e.provider("corp")
	cases := []struct {
		name, method, path string
		body               any
		pointers           []string
	}{
		{"a service account", "POST", "/iam/v2/service-accounts",
			map[string]any{"display_name": " ", "description": "bell\a"}, []string{"/description", "/display_name"}},
		{"a service account update", "PATCH", "/iam/v2/service-accounts/" + sa,
			map[string]any{"display_name": strings.Repeat("n", 65), "description": strings.Repeat("d", 1025)}, []string{"/description", "/display_name"}},
		{"a user", "POST", "/iam/v2/users",
			map[string]any{"email": "not-an-address", "full_name": "nul\x00"}, []string{"/email", "/full_name"}},
		{"an API key", "POST", "/iam/v2/api-keys",
			map[string]any{"spec": map[string]any{"display_name": strings.Repeat("k", 65), "owner": map[string]any{"id": "sa-nobody"}, "resource": map[string]any{"id": "lkc-other"}}},
			[]string{"/spec/display_name", "/spec/owner/id", "/spec/resource/id"}},
		{"a role binding", "POST", "/iam/v2/role-bindings",
			map[string]any{"principal": "sa-1", "role_name": "Superuser", "crn_pattern": orgCRN}, []string{"/principal", "/role_name"}},
		{"a role binding's CRN", "POST", "/iam/v2/role-bindings",
			map[string]any{"principal": "User:sa-missing", "role_name": DeveloperRead, "crn_pattern": "crn://elsewhere/topic=x"}, []string{"/crn_pattern", "/principal"}},
		{"an identity provider", "POST", "/iam/v2/identity-providers",
			map[string]any{"display_name": "", "issuer": "http://169.254.169.254/latest/meta-data", "jwks_uri": "file:///etc/passwd", "audiences": []string{"kafka", ""}},
			[]string{"/audiences/1", "/display_name", "/issuer", "/jwks_uri"}},
		{"an identity provider update", "PATCH", "/iam/v2/identity-providers/" + prov,
			map[string]any{"issuer": "https://idp.example.com.evil.com/", "jwks_uri": "http://idp.example.com/keys"}, []string{"/issuer", "/jwks_uri"}},
		{"an identity pool", "POST", "/iam/v2/identity-providers/" + prov + "/identity-pools",
			map[string]any{"display_name": "", "filter": "claims.aud =="}, []string{"/display_name", "/filter"}},
		{"an ACL", "POST", aclsPath,
			map[string]any{"resource_type": "TOPICS", "resource_name": "x", "pattern_type": "FUZZY", "principal": "User:sa-1", "operation": "REED", "permission": "MAYBE"},
			[]string{"/operation", "/pattern_type", "/permission", "/resource_type"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := admin.do(c.method, c.path, c.body).want(400)
			if got := r.pointers(); !slices.Equal(got, c.pointers) {
				t.Errorf("pointers %v, want %v: %s", got, c.pointers, r.body)
			}
		})
	}
}

func TestMalformedBodiesAreRefusedWith400(t *testing.T) {
	e := newEnv(t)
	admin := e.orgAdmin("root")
	sa := e.serviceAccount("payments")
	key, _ := e.key(sa, "lkc-1")
	prov := e.provider("corp")
	pool := e.pool(prov, "analytics")
	writes := []struct{ method, path, valid string }{
		{"POST", "/iam/v2/service-accounts", `"display_name":"a"`},
		{"PATCH", "/iam/v2/service-accounts/" + sa, `"description":"a"`},
		{"POST", "/iam/v2/users", `"email":"a@example.com"`},
		{"POST", "/iam/v2/api-keys", `"spec":{"owner":{"id":"` + sa + `"},"resource":{"id":"lkc-1"}}`},
		{"PATCH", "/iam/v2/api-keys/" + key, `"spec":{"description":"a"}`},
		{"POST", "/iam/v2/role-bindings", `"principal":"User:` + sa + `","role_name":"DeveloperRead","crn_pattern":"` + topicCRN("a") + `"`},
		{"POST", "/iam/v2/identity-providers", `"display_name":"a","issuer":"https://idp.example.com/a"`},
		{"PATCH", "/iam/v2/identity-providers/" + prov, `"description":"a"`},
		{"POST", "/iam/v2/identity-providers/" + prov + "/identity-pools", `"display_name":"a","filter":"true"`},
		{"PATCH", "/iam/v2/identity-providers/" + prov + "/identity-pools/" + pool, `"description":"a"`},
		{"POST", aclsPath, `"resource_type":"TOPIC","resource_name":"a","principal":"User:` + sa + `","operation":"READ"`},
	}
	for _, w := range writes {
		t.Run(w.method+" "+w.path, func(t *testing.T) {
			bad := map[string]string{
				"an unknown field":        "{" + w.valid + `,"colour":"blue"}`,
				"an unknown nested field": "{" + w.valid + `,"metadata":{"version":1,"etag":"x"}}`,
				"not JSON":                "display_name=a",
				"no body":                 "",
				"two JSON values":         "{" + w.valid + "}{}",
				"a truncated body":        "{" + w.valid,
				"a wrong type":            `{"display_name":7,"description":7,"email":7,"spec":7,"principal":7,"resource_type":7}`,
			}
			for name, body := range bad {
				if name == "an unknown nested field" && w.method == "POST" {
					continue // creates take no metadata
				}
				r := admin.do(w.method, w.path, body).want(400)
				if name == "an unknown field" && !strings.Contains(r.detail(), `"colour"`) {
					t.Errorf("%s: detail %q does not name the field", name, r.detail())
				}
			}
			// The same body without the mistake is taken.
			admin.do(w.method, w.path, "{"+w.valid+"}").want(map[string]int{"POST": 201, "PATCH": 200}[w.method])
		})
	}
}

func TestUnknownQueryParametersAreRefusedWith400(t *testing.T) {
	e := newEnv(t)
	admin := e.orgAdmin("root")
	sa := e.serviceAccount("payments")
	cases := []struct{ method, path, param string }{
		{"GET", "/iam/v2/service-accounts", "display_name"},
		{"GET", "/iam/v2/service-accounts/" + sa, "verbose"},
		{"DELETE", "/iam/v2/service-accounts/" + sa, "force"},
		{"GET", "/iam/v2/api-keys", "spec.ownr"},
		{"GET", "/iam/v2/api-keys", "owner"},
		{"GET", "/iam/v2/role-bindings", "principle"},
		{"GET", "/iam/v2/users", "page"},
		{"GET", "/iam/v2/roles", "role_name"},
		{"GET", aclsPath, "topic"},
		{"DELETE", aclsPath, "principle"},
		{"GET", "/cmk/v2/clusters", "env"},
		{"GET", "/org/v2/organizations", "page_sise"},
	}
	for _, c := range cases {
		r := admin.do(c.method, q(c.path, c.param, "x"), nil).want(400)
		if got := r.pointers(); !slices.Equal(got, []string{"?" + c.param}) {
			t.Errorf("%s %s?%s=x: errors point at %v", c.method, c.path, c.param, got)
		}
	}
	// The account was not deleted.
	admin.get("/iam/v2/service-accounts/" + sa).want(200)
}

func TestABodyOverMaxBodyBytesIsRefusedWith413(t *testing.T) {
	e := newEnv(t, func(o *admin.Options) { o.MaxBodyBytes = 512 })
	admin := e.orgAdmin("root")
	sa := e.serviceAccount("payments")
	big := strings.Repeat("d", 600)
	admin.post("/iam/v2/service-accounts", map[string]any{"display_name": "big", "description": big}).want(413)
	admin.patch("/iam/v2/service-accounts/"+sa, map[string]any{"description": big}).want(413)
	admin.post("/iam/v2/role-bindings", map[string]any{"principal": "User:" + sa, "role_name": big, "crn_pattern": orgCRN}).want(413)
	admin.post("/iam/v2/service-accounts", map[string]any{"display_name": "small", "description": strings.Repeat("d", 400)}).want(201)
	if n := len(admin.get("/iam/v2/service-accounts").want(200).list().Data); n != 3 {
		t.Errorf("%d accounts, want 3 (root, payments, small)", n)
	}
}

// Pages.

func TestPagesFollowMetadataNextWithoutDuplicatesOrGaps(t *testing.T) {
	e := newEnv(t)
	// A user, so that the caller is not one of the accounts listed.
	admin := e.userCaller("root@example.com", roleOn{OrganizationAdmin, orgCRN})
	var created []string
	for i := range 25 {
		r := admin.post("/iam/v2/service-accounts", map[string]any{"display_name": fmt.Sprintf("app-%02d", i)}).want(201)
		created = append(created, str(r.obj()["id"]))
	}

	first := admin.get(q("/iam/v2/service-accounts", "page_size", "10")).want(200).list()
	if first.Metadata.TotalSize != 25 || len(first.Data) != 10 || first.Metadata.Next == "" || first.Kind != "ServiceAccountList" {
		t.Fatalf("first page: total %d, %d objects, next %q", first.Metadata.TotalSize, len(first.Data), first.Metadata.Next)
	}
	// An account created between pages must not shift the others.
	admin.post("/iam/v2/service-accounts", map[string]any{"display_name": "late"}).want(201)

	seen := map[string]int{}
	pages := 0
	var order []string
	for page := first; ; {
		pages++
		if len(page.Data) > 10 {
			t.Fatalf("page %d has %d objects", pages, len(page.Data))
		}
		for _, id := range page.ids() {
			seen[id]++
			order = append(order, id)
		}
		if page.Metadata.Next == "" {
			break
		}
		if pages > 5 {
			t.Fatal("more than 5 pages")
		}
		page = admin.get(page.Metadata.Next).want(200).list()
	}
	if pages != 3 {
		t.Errorf("%d pages, want 3", pages)
	}
	for id, n := range seen {
		if n != 1 {
			t.Errorf("%s listed %d times", id, n)
		}
	}
	for _, id := range created {
		if seen[id] != 1 {
			t.Errorf("%s missing from the pages", id)
		}
	}
	if !slices.IsSorted(order) {
		t.Errorf("pages are not in order of id: %v", order)
	}
	// The last page of a fresh walk says so.
	all := admin.get(q("/iam/v2/service-accounts", "page_size", "100")).want(200).list()
	if all.Metadata.TotalSize != 26 || len(all.Data) != 26 || all.Metadata.Next != "" {
		t.Errorf("one page of 100: total %d, %d objects, next %q", all.Metadata.TotalSize, len(all.Data), all.Metadata.Next)
	}
	if def := admin.get("/iam/v2/service-accounts").want(200).list(); len(def.Data) != 10 {
		t.Errorf("the default page has %d objects, want 10", len(def.Data))
	}
}

func TestBadPageParametersAreRefusedWith400(t *testing.T) {
	e := newEnv(t)
	admin := e.orgAdmin("root")
	for _, path := range []string{"/iam/v2/service-accounts", "/iam/v2/users", "/iam/v2/api-keys", "/iam/v2/role-bindings", "/iam/v2/roles", "/iam/v2/identity-providers"} {
		for _, bad := range [][]string{
			{"page_size", "0"}, {"page_size", "101"}, {"page_size", "-1"}, {"page_size", "ten"},
			{"page_token", "!!not a token!!"}, {"page_token", "%%%"},
		} {
			r := admin.get(path + "?" + bad[0] + "=" + url.QueryEscape(bad[1])).want(400)
			if got := r.pointers(); !slices.Equal(got, []string{"?" + bad[0]}) {
				t.Errorf("%s?%s=%s: errors point at %v", path, bad[0], bad[1], got)
			}
		}
		r := admin.get(path + "?page_size=0&page_token=!!").want(400)
		if len(r.errors()) != 2 {
			t.Errorf("%s: both bad parameters should be listed: %s", path, r.body)
		}
	}
}

// Users.

func TestAUserIsCreatedDescribedListedAndDeleted(t *testing.T) {
	e := newEnv(t)
	admin := e.orgAdmin("root")
	r := admin.post("/iam/v2/users", map[string]any{"email": "carol@example.com", "full_name": "Carol"}).want(201)
	u := r.obj()
	checkObject(t, u, "User", "u-")
	id := str(u["id"])
	if u["email"] != "carol@example.com" || u["full_name"] != "Carol" || r.header.Get("ETag") != `"1"` {
		t.Errorf("created %s", r.body)
	}
	if got := admin.get("/iam/v2/users/" + id).want(200).obj(); got["email"] != "carol@example.com" {
		t.Errorf("described %v", got)
	}
	if ids := admin.get("/iam/v2/users").want(200).list().ids(); !slices.Equal(ids, []string{id}) {
		t.Errorf("users %v", ids)
	}
	// Emails are unique, whatever their case.
	admin.post("/iam/v2/users", map[string]any{"email": "CAROL@example.com"}).want(409)
	admin.delete("/iam/v2/users/" + id).want(204)
	admin.get("/iam/v2/users/" + id).want(404)
}

func TestDeletingAUserDeletesItsAPIKeysAndRoleBindings(t *testing.T) {
	e := newEnv(t)
	admin := e.orgAdmin("root")
	carol := e.userCaller("carol@example.com", roleOn{DeveloperRead, topicCRN("orders")}, roleOn{CloudClusterAdmin, clusterCRN})
	cluster := admin.post("/iam/v2/api-keys", createKeyBody(carol.id, "lkc-1")).want(201).obj()
	admin.post(aclsPath, aclBody(carol.principal, "orders", "READ")).want(201)
	carol.get("/iam/v2/users/" + carol.id).want(200)

	admin.delete("/iam/v2/users/" + carol.id).want(204)

	admin.get("/iam/v2/api-keys/" + str(cluster["id"])).want(404)
	admin.get("/iam/v2/api-keys/" + carol.key).want(404)
	if l := admin.get(q("/iam/v2/api-keys", "spec.owner", carol.id)).want(200).list(); len(l.Data) != 0 {
		t.Errorf("keys left: %v", l.ids())
	}
	if l := admin.get(q("/iam/v2/role-bindings", "principal", carol.principal)).want(200).list(); len(l.Data) != 0 {
		t.Errorf("bindings left: %v", l.ids())
	}
	if d := admin.get(q(aclsPath, "principal", carol.principal)).want(200).obj()["data"].([]any); len(d) != 0 {
		t.Errorf("ACLs left: %v", d)
	}
	carol.get("/iam/v2/users/" + carol.id).want(401)
}

// API keys.

func TestAnAPIKeysSecretIsInTheCreateAnswerOnly(t *testing.T) {
	e := newEnv(t)
	admin := e.orgAdmin("root")
	sa := e.serviceAccount("payments")
	u := e.user("bob@example.com")

	r := admin.post("/iam/v2/api-keys", map[string]any{"spec": map[string]any{"display_name": "prod", "description": "payments in prod",
		"owner": map[string]any{"id": sa}, "resource": map[string]any{"id": "lkc-1"}}}).want(201)
	k := r.obj()
	id := str(k["id"])
	if !apikey.ValidKeyID(id) {
		t.Errorf("key id %q", id)
	}
	if k["api_version"] != "iam/v2" || k["kind"] != "ApiKey" || field(k, "metadata", "resource_name") != orgCRN+"/api-key="+id {
		t.Errorf("created %s", r.body)
	}
	secret := str(field(k, "spec", "secret"))
	if len(secret) < 32 {
		t.Errorf("spec.secret %q", secret)
	}
	if r.header.Get("Cache-Control") != "no-store" {
		t.Errorf("Cache-Control %q: a secret must not be cached", r.header.Get("Cache-Control"))
	}
	want := map[string]any{"id": sa, "kind": "ServiceAccount"}
	if got := field(k, "spec", "owner"); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("spec.owner %v", got)
	}
	if got := field(k, "spec", "resource"); fmt.Sprint(got) != fmt.Sprint(map[string]any{"id": "lkc-1", "kind": "Cluster"}) {
		t.Errorf("spec.resource %v", got)
	}

	cloud := admin.post("/iam/v2/api-keys", createKeyBody(u, "cloud")).want(201).obj()
	if fmt.Sprint(field(cloud, "spec", "resource")) != fmt.Sprint(map[string]any{"id": "cloud", "kind": "Cloud"}) ||
		field(cloud, "spec", "owner", "kind") != "User" {
		t.Errorf("cloud key %v", cloud)
	}
	// The secret of a cloud key logs its owner in.
	e.basic(str(cloud["id"]), str(field(cloud, "spec", "secret"))).get("/iam/v2/users/" + u).want(200)

	answers := []*response{
		admin.get("/iam/v2/api-keys/" + id).want(200),
		admin.get("/iam/v2/api-keys").want(200),
		admin.get(q("/iam/v2/api-keys", "spec.owner", sa)).want(200),
		admin.patch("/iam/v2/api-keys/"+id, map[string]any{"spec": map[string]any{"display_name": "prod-1"}}).want(200),
	}
	for _, a := range answers {
		if strings.Contains(string(a.body), "secret") {
			t.Errorf("%s shows a secret: %s", a.req, a.body)
		}
	}
	if got := answers[3].obj(); field(got, "spec", "display_name") != "prod-1" || field(got, "spec", "description") != "payments in prod" {
		t.Errorf("updated %v", got)
	}

	// When the key was last used is shown once known.
	at := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	if err := e.st.RecordKeyUse(context.Background(), map[string]time.Time{id: at}); err != nil {
		t.Fatal(err)
	}
	if got := field(admin.get("/iam/v2/api-keys/"+id).want(200).obj(), "spec", "last_used_at"); got != at.Format(time.RFC3339) {
		t.Errorf("last_used_at %v", got)
	}
}

func TestAPIKeysOfAnotherClusterOrOfNoAccountAreRefused(t *testing.T) {
	e := newEnv(t)
	admin := e.orgAdmin("root")
	sa := e.serviceAccount("payments")
	for _, c := range []struct {
		owner, resource string
		pointer         string
	}{
		{sa, "lkc-2", "/spec/resource/id"},
		{sa, "", "/spec/resource/id"},
		{"sa-nobody", "lkc-1", "/spec/owner/id"},
		{"", "cloud", "/spec/owner/id"},
		{"op-x", "cloud", "/spec/owner/id"},
	} {
		r := admin.post("/iam/v2/api-keys", createKeyBody(c.owner, c.resource)).want(400)
		if got := r.pointers(); !slices.Equal(got, []string{c.pointer}) {
			t.Errorf("owner %q resource %q: errors at %v", c.owner, c.resource, got)
		}
	}
}

func TestTheAPIKeyListFiltersByOwnerAndResource(t *testing.T) {
	e := newEnv(t)
	admin := e.orgAdmin("root")
	a := e.serviceAccount("a")
	b := e.serviceAccount("b")
	u := e.user("u@example.com")
	aCluster, _ := e.key(a, "lkc-1")
	aCloud, _ := e.key(a, "cloud")
	bCluster, _ := e.key(b, "lkc-1")
	uCloud, _ := e.key(u, "cloud")
	sorted := func(ids ...string) []string { slices.Sort(ids); return ids }
	cases := []struct {
		query []string
		want  []string
	}{
		{nil, sorted(aCluster, aCloud, bCluster, uCloud, admin.key)},
		{[]string{"spec.owner", a}, sorted(aCluster, aCloud)},
		{[]string{"spec.owner", u}, sorted(uCloud)},
		{[]string{"spec.resource", "lkc-1"}, sorted(aCluster, bCluster)},
		{[]string{"spec.resource", "cloud"}, sorted(aCloud, uCloud, admin.key)},
		{[]string{"spec.owner", a, "spec.resource", "cloud"}, sorted(aCloud)},
		{[]string{"spec.owner", b, "spec.resource", "cloud"}, nil},
		{[]string{"spec.owner", "sa-nobody"}, nil},
	}
	for _, c := range cases {
		l := admin.get(q("/iam/v2/api-keys", c.query...)).want(200).list()
		if !slices.Equal(l.ids(), c.want) || l.Metadata.TotalSize != len(c.want) {
			t.Errorf("?%v: %v (total %d), want %v", c.query, l.ids(), l.Metadata.TotalSize, c.want)
		}
	}
}

// Role bindings and roles.

func TestARoleBindingIsCreatedDescribedAndDeleted(t *testing.T) {
	e := newEnv(t)
	admin := e.orgAdmin("root")
	sa := e.serviceAccount("payments")
	r := admin.post("/iam/v2/role-bindings", bindingBody("User:"+sa, DeveloperRead, topicCRN("orders-*"))).want(201)
	b := r.obj()
	checkObject(t, b, "RoleBinding", "rb-")
	id := str(b["id"])
	if b["principal"] != "User:"+sa || b["role_name"] != DeveloperRead || b["crn_pattern"] != topicCRN("orders-*") {
		t.Errorf("created %s", r.body)
	}
	if got := admin.get("/iam/v2/role-bindings/" + id).want(200).obj(); got["crn_pattern"] != topicCRN("orders-*") {
		t.Errorf("described %v", got)
	}
	// The same grant twice is one binding.
	admin.post("/iam/v2/role-bindings", bindingBody("User:"+sa, DeveloperRead, topicCRN("orders-*"))).want(409)
	admin.delete("/iam/v2/role-bindings/" + id).want(204)
	admin.get("/iam/v2/role-bindings/" + id).want(404)
}

func TestTheRoleBindingListFiltersByPrincipalRoleAndScope(t *testing.T) {
	e := newEnv(t)
	admin := e.orgAdmin("root")
	a := store.Principal(e.serviceAccount("a"))
	b := store.Principal(e.serviceAccount("b"))
	aOrders := e.bind(a, DeveloperRead, topicCRN("orders"))
	aCluster := e.bind(a, CloudClusterAdmin, clusterCRN)
	bPayments := e.bind(b, DeveloperRead, topicCRN("payments"))
	bEnv := e.bind(b, EnvironmentAdmin, envCRN)
	bPrefix := e.bind(b, ResourceOwner, topicCRN("orders-*"))
	own := admin.get(q("/iam/v2/role-bindings", "principal", admin.principal)).want(200).list().ids()
	if len(own) != 1 {
		t.Fatalf("the admin's bindings: %v", own)
	}
	sorted := func(ids ...string) []string { slices.Sort(ids); return ids }
	cases := []struct {
		query []string
		want  []string
	}{
		{nil, sorted(aOrders, aCluster, bPayments, bEnv, bPrefix, own[0])},
		{[]string{"principal", a}, sorted(aOrders, aCluster)},
		{[]string{"role_name", DeveloperRead}, sorted(aOrders, bPayments)},
		{[]string{"principal", b, "role_name", DeveloperRead}, sorted(bPayments)},
		{[]string{"crn_pattern", clusterCRN}, sorted(aOrders, aCluster, bPayments, bPrefix)},
		{[]string{"crn_pattern", envCRN}, sorted(aOrders, aCluster, bPayments, bEnv, bPrefix)},
		{[]string{"crn_pattern", orgCRN}, sorted(aOrders, aCluster, bPayments, bEnv, bPrefix, own[0])},
		{[]string{"crn_pattern", topicCRN("orders*")}, sorted(aOrders, bPrefix)},
		{[]string{"crn_pattern", topicCRN("payments")}, sorted(bPayments)},
		{[]string{"crn_pattern", envCRN + "/cloud-cluster=lkc-2"}, nil},
		{[]string{"principal", "User:sa-nobody"}, nil},
	}
	for _, c := range cases {
		l := admin.get(q("/iam/v2/role-bindings", c.query...)).want(200).list()
		if !slices.Equal(l.ids(), c.want) {
			t.Errorf("?%v: %v, want %v", c.query, l.ids(), c.want)
		}
	}
	r := admin.get(q("/iam/v2/role-bindings", "crn_pattern", "organization=org-1")).want(400)
	if got := r.pointers(); !slices.Equal(got, []string{"?crn_pattern"}) {
		t.Errorf("a bad crn_pattern: errors at %v", got)
	}
}

func TestTheRolesAreListedAndDescribed(t *testing.T) {
	e := newEnv(t)
	c := e.caller("nobody")
	l := c.get(q("/iam/v2/roles", "page_size", "100")).want(200).list()
	names := []string{}
	for _, r := range l.Data {
		names = append(names, str(r["name"]))
		if r["kind"] != "Role" || r["scope"] == "" || r["description"] == "" {
			t.Errorf("role %v", r)
		}
	}
	want := []string{CloudClusterAdmin, DeveloperManage, DeveloperRead, DeveloperWrite, EnvironmentAdmin, "MetricsViewer", "Operator", OrganizationAdmin, ResourceOwner}
	if !slices.Equal(names, want) {
		t.Errorf("roles %v, want %v", names, want)
	}
	r := c.get("/iam/v2/roles/DeveloperRead").want(200).obj()
	if r["scope"] != "resource" || !strings.Contains(fmt.Sprint(r["grants"]), "READ") {
		t.Errorf("DeveloperRead %v", r)
	}
	if got := c.get("/iam/v2/roles/" + OrganizationAdmin).want(200).obj()["scope"]; got != "organization" {
		t.Errorf("OrganizationAdmin's scope %v", got)
	}
	if d := c.get("/iam/v2/roles/Superuser").want(404).detail(); !strings.Contains(d, DeveloperRead) {
		t.Errorf("detail %q does not list the roles", d)
	}
}

// Identity providers and pools.

func TestAnIdentityProviderIsCreatedDescribedUpdatedAndDeletedWithItsPools(t *testing.T) {
	e := newEnv(t)
	admin := e.orgAdmin("root")
	r := admin.post("/iam/v2/identity-providers", map[string]any{"display_name": "corp", "description": "SSO",
		"issuer": "https://idp.example.com/realms/kafka", "jwks_uri": "https://idp.example.com/realms/kafka/certs", "audiences": []string{"kafka"}}).want(201)
	p := r.obj()
	checkObject(t, p, "IdentityProvider", "op-")
	id := str(p["id"])
	if p["issuer"] != "https://idp.example.com/realms/kafka" || p["state"] != "ENABLED" || fmt.Sprint(p["audiences"]) != "[kafka]" {
		t.Errorf("created %s", r.body)
	}
	base := "/iam/v2/identity-providers/" + id
	admin.get(base).want(200)
	// The issuer is unique.
	admin.post("/iam/v2/identity-providers", map[string]any{"display_name": "corp2", "issuer": "https://idp.example.com/realms/kafka"}).want(409)

	u := admin.patch(base, map[string]any{"audiences": []string{"kafka", "admin"}}).want(200).obj()
	if fmt.Sprint(u["audiences"]) != "[kafka admin]" || u["issuer"] != p["issuer"] || version(u) != 2 {
		t.Errorf("updated %v", u)
	}

	pr := admin.post(base+"/identity-pools", map[string]any{"display_name": "analytics", "filter": `"analytics" in claims.groups`}).want(201)
	pool := pr.obj()
	checkObject(t, pool, "IdentityPool", "pool-")
	pid := str(pool["id"])
	if pool["identity_claim"] != "claims.sub" || pool["principal"] != "User:"+pid || pool["state"] != "ENABLED" {
		t.Errorf("pool %s", pr.body)
	}
	if field(pool, "metadata", "resource_name") != orgCRN+"/identity-provider="+id+"/identity-pool="+pid {
		t.Errorf("pool CRN %v", field(pool, "metadata", "resource_name"))
	}
	if !strings.HasSuffix(pr.header.Get("Location"), base+"/identity-pools/"+pid) {
		t.Errorf("Location %q", pr.header.Get("Location"))
	}
	if ids := admin.get(base + "/identity-pools").want(200).list().ids(); !slices.Equal(ids, []string{pid}) {
		t.Errorf("pools %v", ids)
	}
	up := admin.patch(base+"/identity-pools/"+pid, map[string]any{"identity_claim": "claims.email", "filter": "true"}).want(200).obj()
	if up["identity_claim"] != "claims.email" || up["filter"] != "true" || up["display_name"] != "analytics" {
		t.Errorf("updated pool %v", up)
	}

	// A pool is reached through its own provider only.
	other := e.provider("other")
	admin.get("/iam/v2/identity-providers/" + other + "/identity-pools/" + pid).want(404)
	admin.patch("/iam/v2/identity-providers/"+other+"/identity-pools/"+pid, map[string]any{"description": "x"}).want(404)
	admin.delete("/iam/v2/identity-providers/" + other + "/identity-pools/" + pid).want(404)
	admin.get("/iam/v2/identity-providers/op-nothing/identity-pools").want(404)

	admin.delete(base).want(204)
	admin.get(base).want(404)
	if _, ok := e.st.Snapshot().Pool(pid); ok {
		t.Errorf("the provider's pool outlived it")
	}
}

func TestIdentityProviderURLsOutsideTheAllowedPrefixesAreRefused(t *testing.T) {
	// CVE-2025-27817: a provider URL the proxy fetches must not reach
	// metadata services, local files or look-alike hosts.
	e := newEnv(t)
	admin := e.orgAdmin("root")
	prov := e.provider("corp")
	bad := []string{
		"http://169.254.169.254/latest/meta-data",
		"http://169.254.169.254/latest/meta-data/iam/security-credentials/",
		"file:///etc/passwd",
		"https://idp.example.com.evil.com/",
		"https://evil.com/idp.example.com/",
		"https://idp.example.com@evil.com/",
		"https://user:pass@idp.example.com/",
		"http://idp.example.com/realms/kafka",
		"https://idp.example.com:8443/realms/kafka",
		"gopher://idp.example.com/",
		"ftp://idp.example.com/",
		"https://localhost/",
		"https://127.0.0.1/",
		"idp.example.com/realms/kafka",
		"//idp.example.com/realms/kafka",
		"https://idp.example.com/#frag",
	}
	for _, u := range bad {
		t.Run(u, func(t *testing.T) {
			r := admin.post("/iam/v2/identity-providers", map[string]any{"display_name": "x", "issuer": u}).want(400)
			if got := r.pointers(); !slices.Equal(got, []string{"/issuer"}) {
				t.Errorf("issuer: errors at %v", got)
			}
			r = admin.post("/iam/v2/identity-providers", map[string]any{"display_name": "x", "issuer": "https://idp.example.com/x", "jwks_uri": u}).want(400)
			if got := r.pointers(); !slices.Equal(got, []string{"/jwks_uri"}) {
				t.Errorf("jwks_uri: errors at %v", got)
			}
			admin.patch("/iam/v2/identity-providers/"+prov, map[string]any{"issuer": u}).want(400)
			admin.patch("/iam/v2/identity-providers/"+prov, map[string]any{"jwks_uri": u}).want(400)
		})
	}
	if got := admin.get("/iam/v2/identity-providers/" + prov).want(200).obj(); got["issuer"] != "https://idp.example.com/corp" || got["jwks_uri"] != "" || version(got) != 1 {
		t.Errorf("the provider changed: %v", got)
	}
	if n := len(admin.get("/iam/v2/identity-providers").want(200).list().Data); n != 1 {
		t.Errorf("%d providers, want 1", n)
	}
	for i, good := range []string{"https://idp.example.com/", "https://IDP.example.com/realms/b", "https://idp.example.com/realms/kafka/protocol/openid-connect/certs"} {
		admin.post("/iam/v2/identity-providers", map[string]any{"display_name": fmt.Sprint("good-", i), "issuer": good, "jwks_uri": good}).want(201)
	}
}

func TestPlainHTTPProviderURLsNeedAnHTTPPrefix(t *testing.T) {
	e := newEnv(t, func(o *admin.Options) {
		o.AllowedProviderURLs = []string{"https://idp.example.com/", "http://keycloak.internal:8080/realms"}
	})
	root := e.orgAdmin("root")
	root.post("/iam/v2/identity-providers", map[string]any{"display_name": "a", "issuer": "http://keycloak.internal:8080/realms/kafka"}).want(201)
	for _, u := range []string{"http://keycloak.internal:8080/admin", "http://keycloak.internal/realms/kafka", "http://keycloak.internal:8080/realmsx", "http://idp.example.com/"} {
		root.post("/iam/v2/identity-providers", map[string]any{"display_name": "b", "issuer": u}).want(400)
	}
	e2 := newEnv(t, func(o *admin.Options) { o.AllowedProviderURLs = nil })
	r := e2.orgAdmin("root").post("/iam/v2/identity-providers", map[string]any{"display_name": "a", "issuer": "https://idp.example.com/"}).want(400)
	if !strings.Contains(r.detail(), "allowed_provider_urls") {
		t.Errorf("with no prefix allowed: %q", r.detail())
	}
}

func TestAPoolWhoseExpressionDoesNotCompileIsRefusedWithItsPlace(t *testing.T) {
	e := newEnv(t)
	admin := e.orgAdmin("root")
	prov := e.provider("corp")
	pool := e.pool(prov, "analytics")
	pools := "/iam/v2/identity-providers/" + prov + "/identity-pools"
	cases := []struct {
		name    string
		body    map[string]any
		pointer string
		place   string
	}{
		{"a syntax error", map[string]any{"display_name": "a", "filter": `claims.aud == "kafka" &&`}, "/filter", "line 1, column"},
		{"a syntax error on line 2", map[string]any{"display_name": "a", "filter": "claims.aud == \"kafka\" &&\n  claims.sub ==="}, "/filter", "line 2, column"},
		{"an unknown variable", map[string]any{"display_name": "a", "filter": `token.aud == "kafka"`}, "/filter", "line 1, column 1"},
		{"a filter that is not a bool", map[string]any{"display_name": "a", "filter": `"kafka"`}, "/filter", "bool"},
		{"an identity claim that does not parse", map[string]any{"display_name": "a", "filter": "true", "identity_claim": "claims.["}, "/identity_claim", "line 1, column"},
		{"a missing filter", map[string]any{"display_name": "a", "filter": "  "}, "/filter", "required"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			for _, r := range []*response{
				admin.post(pools, c.body).want(400),
				admin.patch(pools+"/"+pool, c.body).want(400),
			} {
				items := r.errors()
				if len(items) != 1 || items[0].Source == nil || items[0].Source.Pointer != c.pointer || !strings.Contains(items[0].Detail, c.place) {
					t.Errorf("%s: %s, want one error at %s saying %q", r.req, r.body, c.pointer, c.place)
				}
			}
		})
	}
	if got := admin.get(pools + "/" + pool).want(200).obj(); version(got) != 1 {
		t.Errorf("the pool changed: %v", got)
	}
}

// ACLs.

func TestACLsAreCreatedListedByFilterAndDeletedByFilter(t *testing.T) {
	e := newEnv(t)
	admin := e.orgAdmin("root")
	a := store.Principal(e.serviceAccount("a"))
	b := store.Principal(e.serviceAccount("b"))

	r := admin.post(aclsPath, map[string]any{"resource_type": "TOPIC", "resource_name": "orders", "principal": a, "operation": "READ"}).want(201)
	acl := r.obj()
	want := map[string]any{"kind": "KafkaAcl", "cluster_id": "lkc-1", "resource_type": "TOPIC", "resource_name": "orders", "pattern_type": "LITERAL",
		"principal": a, "host": "*", "operation": "READ", "permission": "ALLOW", "source": "api"}
	for k, v := range want {
		if acl[k] != v {
			t.Errorf("%s is %v, want %v", k, acl[k], v)
		}
	}
	if !strings.HasSuffix(str(field(acl, "metadata", "self")), aclsPath) {
		t.Errorf("metadata.self %v", field(acl, "metadata", "self"))
	}
	// Creating an ACL that exists changes nothing.
	admin.post(aclsPath, map[string]any{"resource_type": "TOPIC", "resource_name": "orders", "principal": a, "operation": "READ"}).want(201)
	admin.post(aclsPath, map[string]any{"resource_type": "TOPIC", "resource_name": "orders-", "pattern_type": "PREFIXED", "principal": b, "operation": "WRITE", "permission": "DENY"}).want(201)
	admin.post(aclsPath, map[string]any{"resource_type": "GROUP", "resource_name": "orders-app", "principal": a, "operation": "READ"}).want(201)
	cl := admin.post(aclsPath, map[string]any{"resource_type": "CLUSTER", "principal": b, "operation": "DESCRIBE"}).want(201).obj()
	if cl["resource_name"] != "kafka-cluster" {
		t.Errorf("a cluster ACL names %v", cl["resource_name"])
	}

	count := func(query ...string) int {
		t.Helper()
		l := admin.get(q(aclsPath, query...)).want(200).obj()
		if l["kind"] != "KafkaAclList" {
			t.Fatalf("list %v", l)
		}
		return len(l["data"].([]any))
	}
	for _, c := range []struct {
		query []string
		want  int
	}{
		{nil, 4},
		{[]string{"principal", a}, 2},
		{[]string{"resource_type", "TOPIC"}, 2},
		{[]string{"resource_type", "topic", "resource_name", "orders"}, 1},
		{[]string{"resource_type", "TOPIC", "resource_name", "orders-1", "pattern_type", "MATCH"}, 1},
		{[]string{"operation", "WRITE"}, 1},
		{[]string{"permission", "DENY"}, 1},
		{[]string{"host", "10.0.0.1"}, 0},
	} {
		if got := count(c.query...); got != c.want {
			t.Errorf("?%v: %d ACLs, want %d", c.query, got, c.want)
		}
	}
	r = admin.get(q(aclsPath, "operation", "REED", "permission", "MAYBE")).want(400)
	if got := r.pointers(); !slices.Equal(got, []string{"?operation", "?permission"}) {
		t.Errorf("bad filter: errors at %v", got)
	}

	// Deleting needs a filter, and answers with what it deleted.
	admin.delete(aclsPath).want(400)
	d := admin.delete(q(aclsPath, "principal", a)).want(200).obj()
	if len(d["data"].([]any)) != 2 {
		t.Errorf("deleted %v", d)
	}
	if got := count(); got != 2 {
		t.Errorf("%d ACLs left, want 2", got)
	}
	if d := admin.delete(q(aclsPath, "principal", a)).want(200).obj(); len(d["data"].([]any)) != 0 {
		t.Errorf("deleted again %v", d)
	}

	// Only the proxy's cluster has ACLs here.
	admin.get("/kafka/v3/clusters/lkc-2/acls").want(404)
	admin.post("/kafka/v3/clusters/lkc-2/acls", aclBody(a, "x", "READ")).want(404)
}

// Scope.

func TestTheOrganizationEnvironmentAndClusterAreListed(t *testing.T) {
	e := newEnv(t)
	c := e.caller("nobody")
	org := c.get("/org/v2/organizations").want(200).list()
	if org.APIVersion != "org/v2" || org.Kind != "OrganizationList" || !slices.Equal(org.ids(), []string{"org-1"}) ||
		field(org.Data[0], "metadata", "resource_name") != orgCRN {
		t.Errorf("organizations %+v", org)
	}
	env := c.get("/org/v2/environments").want(200).list()
	if env.APIVersion != "org/v2" || env.Kind != "EnvironmentList" || !slices.Equal(env.ids(), []string{"env-a"}) ||
		field(env.Data[0], "metadata", "resource_name") != envCRN {
		t.Errorf("environments %+v", env)
	}
	cl := c.get("/cmk/v2/clusters").want(200).list()
	if cl.APIVersion != "cmk/v2" || cl.Kind != "ClusterList" || !slices.Equal(cl.ids(), []string{"lkc-1"}) ||
		field(cl.Data[0], "spec", "environment", "id") != "env-a" || field(cl.Data[0], "metadata", "resource_name") != clusterCRN {
		t.Errorf("clusters %+v", cl)
	}
	if l := c.get(q("/cmk/v2/clusters", "environment", "env-a")).want(200).list(); len(l.Data) != 1 {
		t.Errorf("clusters of env-a: %v", l.ids())
	}
	if l := c.get(q("/cmk/v2/clusters", "environment", "env-b")).want(200).list(); len(l.Data) != 0 || l.Metadata.TotalSize != 0 {
		t.Errorf("clusters of env-b: %v", l.ids())
	}
	// Each list item's self link is served.
	for _, l := range []listBody{org, env, cl} {
		self, _ := field(l.Data[0], "metadata", "self").(string)
		c.get(strings.TrimPrefix(self, e.url)).want(200)
	}
	c.get("/org/v2/organizations/org-2").want(404)
	c.get("/org/v2/environments/env-b").want(404)
	c.get("/cmk/v2/clusters/lkc-2").want(404)

	// Until the upstream cluster is reached, its id is not known.
	e.mu.Lock()
	e.cluster = ""
	e.mu.Unlock()
	c.get("/cmk/v2/clusters").want(503)
}

func TestHealthReadinessAndTheDocument(t *testing.T) {
	var notReady error
	var mu sync.Mutex
	e := newEnv(t, func(o *admin.Options) {
		o.Ready = func() error { mu.Lock(); defer mu.Unlock(); return notReady }
	})
	c := e.anonymous()
	if r := c.get("/healthz").want(200); string(r.body) != "ok\n" || !strings.HasPrefix(r.header.Get("Content-Type"), "text/plain") {
		t.Errorf("healthz %q %s", r.body, r.header.Get("Content-Type"))
	}
	c.get("/readyz").want(200)
	mu.Lock()
	notReady = fmt.Errorf("upstream cluster unreachable")
	mu.Unlock()
	if d := c.get("/readyz").want(503).detail(); !strings.Contains(d, "upstream cluster unreachable") {
		t.Errorf("readyz detail %q", d)
	}
	c.get("/healthz").want(200)
	if r := c.get("/openapi.json").want(200); r.header.Get("Content-Type") != "application/json" {
		t.Errorf("openapi.json Content-Type %q", r.header.Get("Content-Type"))
	}
}

// Audit and metrics.

func TestTheAuditLogHasOneEventPerCallWithItsOutcome(t *testing.T) {
	e := newEnv(t)
	admin := e.orgAdmin("root")
	reader := e.caller("reader", roleOn{DeveloperRead, topicCRN("orders")})
	before := len(e.events())

	type call struct {
		c                     *client
		method, path          string
		body                  any
		route, action, kind   string
		status                int
		result, object        string
		changed               []string
		callerIsAnonymous     bool
		objectFromTheResponse bool
	}
	created := admin.post("/iam/v2/service-accounts", map[string]any{"display_name": "payments", "description": "pays"}).want(201).obj()
	sa := str(created["id"])
	calls := []call{
		{c: admin.client, method: "GET", path: "/iam/v2/service-accounts/" + sa, route: "/iam/v2/service-accounts/{id}", action: "describe", kind: "ServiceAccount", status: 200, result: "success", object: sa},
		{c: admin.client, method: "PATCH", path: "/iam/v2/service-accounts/" + sa, body: map[string]any{"description": "pays more"}, route: "/iam/v2/service-accounts/{id}", action: "update", kind: "ServiceAccount", status: 200, result: "success", object: sa, changed: []string{"description"}},
		{c: admin.client, method: "POST", path: "/iam/v2/role-bindings", body: bindingBody("User:"+sa, DeveloperRead, topicCRN("orders")), route: "/iam/v2/role-bindings", action: "create", kind: "RoleBinding", status: 201, result: "success", changed: []string{"crn_pattern", "principal", "role_name"}, objectFromTheResponse: true},
		{c: admin.client, method: "POST", path: "/iam/v2/api-keys", body: createKeyBody(sa, "lkc-1"), route: "/iam/v2/api-keys", action: "create", kind: "ApiKey", status: 201, result: "success", changed: []string{"description", "display_name", "owner", "resource"}, objectFromTheResponse: true},
		{c: admin.client, method: "POST", path: aclsPath, body: aclBody("User:"+sa, "orders", "READ"), route: "/kafka/v3/clusters/{cluster_id}/acls", action: "create", kind: "KafkaAcl", status: 201, result: "success", changed: []string{"acl"}},
		{c: admin.client, method: "GET", path: "/iam/v2/service-accounts", route: "/iam/v2/service-accounts", action: "list", kind: "ServiceAccount", status: 200, result: "success"},
		{c: reader.client, method: "POST", path: "/iam/v2/service-accounts", body: map[string]any{"display_name": "x"}, route: "/iam/v2/service-accounts", action: "create", kind: "ServiceAccount", status: 403, result: "denied"},
		{c: admin.client, method: "POST", path: "/iam/v2/service-accounts", body: map[string]any{"display_name": ""}, route: "/iam/v2/service-accounts", action: "create", kind: "ServiceAccount", status: 400, result: "failure"},
		{c: admin.client, method: "PATCH", path: "/iam/v2/service-accounts/" + sa, body: map[string]any{"description": "x"}, route: "/iam/v2/service-accounts/{id}", action: "update", kind: "ServiceAccount", status: 409, result: "failure", object: sa, changed: []string{"description"}},
		{c: e.anonymous(), method: "GET", path: "/iam/v2/users", route: "/iam/v2/users", action: "list", kind: "User", status: 401, result: "unauthenticated", callerIsAnonymous: true},
		{c: e.basic(throttledKey, "x"), method: "GET", path: "/iam/v2/users", route: "/iam/v2/users", action: "list", kind: "User", status: 429, result: "unauthenticated", callerIsAnonymous: true},
		{c: admin.client, method: "DELETE", path: "/iam/v2/service-accounts/" + sa, route: "/iam/v2/service-accounts/{id}", action: "delete", kind: "ServiceAccount", status: 204, result: "success", object: sa},
		{c: admin.client, method: "GET", path: "/iam/v2/service-accounts/" + sa, route: "/iam/v2/service-accounts/{id}", action: "describe", kind: "ServiceAccount", status: 404, result: "failure", object: sa},
	}
	var secret string
	for i, c := range calls {
		var header []string
		if c.status == 409 {
			header = []string{"If-Match", `"1"`}
		}
		r := c.c.do(c.method, c.path, c.body, header...).want(c.status)
		if c.objectFromTheResponse {
			m := r.obj()
			calls[i].object = str(m["id"])
			if s := str(field(m, "spec", "secret")); s != "" {
				secret = s
			}
		}
	}
	// Public routes are not management calls.
	e.anonymous().get("/healthz").want(200)
	e.anonymous().get("/openapi.json").want(200)

	events := e.events()[before+1:]
	if len(events) != len(calls) {
		t.Fatalf("%d events for %d calls:\n%s", len(events), len(calls), e.audit.String())
	}
	for i, c := range calls {
		ev := events[i]
		d := ev.Data
		if ev.Type != "io.kafka-auth-proxy/management" {
			t.Errorf("event %d: type %q", i, ev.Type)
		}
		if d.Method != c.method || d.Route != c.route || d.Action != c.action || d.Kind != c.kind || d.Status != c.status || d.Result != c.result {
			t.Errorf("event %d (%s %s): %+v", i, c.method, c.path, d)
		}
		switch {
		case c.callerIsAnonymous && d.Caller != "":
			t.Errorf("event %d: caller %q before authentication", i, d.Caller)
		case !c.callerIsAnonymous && c.c == reader.client && d.Caller != reader.principal:
			t.Errorf("event %d: caller %q, want %s", i, d.Caller, reader.principal)
		case !c.callerIsAnonymous && c.c == admin.client && d.Caller != admin.principal:
			t.Errorf("event %d: caller %q, want %s", i, d.Caller, admin.principal)
		}
		if c.object != "" && d.Object != c.object {
			t.Errorf("event %d: object %q, want %q", i, d.Object, c.object)
		}
		if c.kind == "KafkaAcl" && !strings.Contains(d.Object, "orders") {
			t.Errorf("event %d: the ACL event names %q", i, d.Object)
		}
		var changed []string
		for k := range d.Changed {
			changed = append(changed, k)
		}
		sort.Strings(changed)
		if !slices.Equal(changed, c.changed) {
			t.Errorf("event %d: changed %v, want %v", i, changed, c.changed)
		}
		if c.status >= 400 && d.Detail == "" {
			t.Errorf("event %d: a failure without detail", i)
		}
	}
	if got := events[1].Data.Changed["description"]; got != "pays more" {
		t.Errorf("the update's changed value %v", got)
	}
	if secret == "" {
		t.Fatal("no secret created")
	}
	if strings.Contains(e.audit.String(), secret) {
		t.Errorf("the audit log holds an API key's secret")
	}
}

func TestTheAuditLogNeverHoldsASecret(t *testing.T) {
	e := newEnv(t)
	admin := e.orgAdmin("root")
	sa := e.serviceAccount("payments")
	var secrets []string
	for _, res := range []string{"lkc-1", "cloud"} {
		k := admin.post("/iam/v2/api-keys", createKeyBody(sa, res)).want(201).obj()
		secrets = append(secrets, str(field(k, "spec", "secret")))
		admin.get("/iam/v2/api-keys/" + str(k["id"])).want(200)
		admin.patch("/iam/v2/api-keys/"+str(k["id"]), map[string]any{"spec": map[string]any{"description": "x"}}).want(200)
	}
	// A key that logs in, and one whose secret is wrong.
	cloud := admin.post("/iam/v2/api-keys", createKeyBody(admin.id, "cloud")).want(201).obj()
	id, secret := str(cloud["id"]), str(field(cloud, "spec", "secret"))
	secrets = append(secrets, secret)
	e.basic(id, secret).get("/iam/v2/api-keys").want(200)
	e.basic(id, "wrong-"+secret).get("/iam/v2/api-keys").want(401)
	log := e.audit.String()
	for _, s := range secrets {
		if s == "" || strings.Contains(log, s) {
			t.Errorf("the audit log holds secret %q", s)
		}
	}
	for _, k := range e.st.Snapshot().APIKeys() {
		if strings.Contains(log, k.SecretHash) {
			t.Errorf("the audit log holds the hash of %s", k.Metadata.ID)
		}
	}
}

func TestMetricsCountRequestsByRouteAndCode(t *testing.T) {
	e := newEnv(t)
	admin := e.orgAdmin("root")
	sa := e.serviceAccount("payments")
	admin.get("/iam/v2/service-accounts/" + sa).want(200)
	admin.get("/iam/v2/service-accounts/" + sa).want(200)
	admin.get("/iam/v2/service-accounts/sa-nothing").want(404)
	e.anonymous().get("/iam/v2/service-accounts/" + sa).want(401)
	admin.post("/iam/v2/service-accounts", map[string]any{"display_name": ""}).want(400)
	admin.get("/iam/v2/made-up").want(404)
	admin.do("PUT", "/iam/v2/users", nil).want(405)
	e.anonymous().get("/healthz").want(200)

	for _, c := range []struct {
		route, code string
		want        float64
	}{
		{"GET /iam/v2/service-accounts/{id}", "200", 2},
		{"GET /iam/v2/service-accounts/{id}", "404", 1},
		{"GET /iam/v2/service-accounts/{id}", "401", 1},
		{"POST /iam/v2/service-accounts", "400", 1},
		{"unmatched", "404", 1},
		{"unmatched", "405", 1},
		{"GET /healthz", "200", 1},
		{"GET /iam/v2/users", "", 0},
	} {
		if got := e.requests(c.route, c.code); got != c.want {
			t.Errorf("requests_total{route=%q,code=%q} = %v, want %v", c.route, c.code, got, c.want)
		}
	}
	if n := e.observations("GET /iam/v2/service-accounts/{id}"); n != 4 {
		t.Errorf("%d durations observed, want 4", n)
	}
	// The route label is the pattern, never the path a caller made up.
	mfs, _ := e.reg.Gather()
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "route" && (strings.Contains(l.GetValue(), sa) || strings.Contains(l.GetValue(), "made-up")) {
					t.Errorf("route label %q", l.GetValue())
				}
			}
		}
	}
}

// LocalHandler.

func TestTheLocalHandlerHasEveryRightWithoutCredentials(t *testing.T) {
	e := newEnv(t)
	local := e.localClient()
	sa := str(local.post("/iam/v2/service-accounts", map[string]any{"display_name": "payments"}).want(201).obj()["id"])
	u := str(local.post("/iam/v2/users", map[string]any{"email": "carol@example.com"}).want(201).obj()["id"])
	local.post("/iam/v2/role-bindings", bindingBody("User:"+u, OrganizationAdmin, orgCRN)).want(201)
	local.post("/iam/v2/role-bindings", bindingBody("User:"+sa, EnvironmentAdmin, envCRN)).want(201)
	local.post("/iam/v2/api-keys", createKeyBody(sa, "cloud")).want(201)
	local.post("/iam/v2/api-keys", createKeyBody(u, "lkc-1")).want(201)
	if n := len(local.get("/iam/v2/api-keys").want(200).list().Data); n != 2 {
		t.Errorf("%d keys listed, want 2", n)
	}
	prov := str(local.post("/iam/v2/identity-providers", map[string]any{"display_name": "corp", "issuer": "https://idp.example.com/x"}).want(201).obj()["id"])
	local.post("/iam/v2/identity-providers/"+prov+"/identity-pools", map[string]any{"display_name": "p", "filter": "true"}).want(201)
	local.post(aclsPath, aclBody("User:"+sa, "orders", "READ")).want(201)
	local.get(aclsPath).want(200)
	local.patch("/iam/v2/service-accounts/"+sa, map[string]any{"description": "x"}).want(200)
	local.delete("/iam/v2/service-accounts/" + sa).want(204)

	// The operator is named in the audit log.
	for _, ev := range e.events() {
		if ev.Data.Caller != "local:alice" {
			t.Errorf("event of %q, want local:alice", ev.Data.Caller)
		}
	}
	// Handler itself still wants credentials.
	e.anonymous().get("/iam/v2/service-accounts").want(401)
}
