package admin_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"

	"github.com/kafka-auth-proxy/kafka-auth-proxy/admin"
	"github.com/kafka-auth-proxy/kafka-auth-proxy/store"
)

// servedDocument is the document at /openapi.json, loaded and validated.
func servedDocument(t *testing.T, e *testEnv) *openapi3.T {
	t.Helper()
	r := e.anonymous().get("/openapi.json").want(200)
	if ct := r.header.Get("Content-Type"); ct != "application/json" {
		t.Fatalf("/openapi.json is %q", ct)
	}
	doc, err := openapi3.NewLoader().LoadFromData(r.body)
	if err != nil {
		t.Fatalf("loading /openapi.json: %v", err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		t.Fatalf("/openapi.json is not valid OpenAPI: %v", err)
	}
	return doc
}

// operations lists a document's operations as "METHOD path", sorted.
func operations(doc *openapi3.T) []string {
	var out []string
	for path, item := range doc.Paths.Map() {
		for method := range item.Operations() {
			out = append(out, method+" "+path)
		}
	}
	sort.Strings(out)
	return out
}

func TestTheDocumentParsesAndValidates(t *testing.T) {
	e := newEnv(t)
	doc := servedDocument(t, e)
	if !strings.HasPrefix(doc.OpenAPI, "3.") || doc.Info == nil || doc.Info.Title == "" {
		t.Errorf("openapi %q, info %+v", doc.OpenAPI, doc.Info)
	}
	// What the server returns is what it serves.
	built, err := e.srv.OpenAPI()
	if err != nil {
		t.Fatal(err)
	}
	if err := built.Validate(context.Background()); err != nil {
		t.Errorf("Server.OpenAPI is not valid: %v", err)
	}
	if a, b := operations(built), operations(doc); !slices.Equal(a, b) {
		t.Errorf("Server.OpenAPI has %v, /openapi.json %v", a, b)
	}
	ids := map[string]bool{}
	for _, op := range operationsOf(doc) {
		if op.OperationID == "" || ids[op.OperationID] || op.Summary == "" || len(op.Tags) != 1 {
			t.Errorf("operation %q: summary %q, tags %v (ids must be unique)", op.OperationID, op.Summary, op.Tags)
		}
		ids[op.OperationID] = true
	}
}

func operationsOf(doc *openapi3.T) []*openapi3.Operation {
	var out []*openapi3.Operation
	for _, item := range doc.Paths.Map() {
		for _, op := range item.Operations() {
			out = append(out, op)
		}
	}
	return out
}

func TestTheDocumentDescribesExactlyTheRoutesServed(t *testing.T) {
	e := newEnv(t)
	admin := e.orgAdmin("root")
	doc := servedDocument(t, e)

	var want []string
	for _, rt := range apiRoutes {
		want = append(want, rt.method+" "+rt.path)
	}
	sort.Strings(want)
	if got := operations(doc); !slices.Equal(got, want) {
		t.Errorf("documented operations:\n%v\nwant:\n%v", got, want)
	}

	// Each documented operation reaches its own route, never the 404/405
	// catch-all: the route label of the metrics is the pattern served.
	for _, op := range operations(doc) {
		method, path, _ := strings.Cut(op, " ")
		before, unmatched := e.requests(op, ""), e.requests("unmatched", "")
		var body any
		if method == "POST" || method == "PATCH" {
			body = "{}"
		}
		r := admin.do(method, dummyPath(path), body)
		if e.requests(op, "") != before+1 || e.requests("unmatched", "") != unmatched {
			t.Errorf("%s (as %s %s) was not served by its route: %d %s", op, method, dummyPath(path), r.status, r.body)
		}
	}

	// Every other method of a documented path is a 405 that lists the
	// documented ones.
	for path, item := range doc.Paths.Map() {
		var allowed []string
		for _, m := range []string{"GET", "POST", "PATCH", "DELETE"} {
			if item.GetOperation(m) != nil {
				allowed = append(allowed, m)
			}
		}
		for _, m := range []string{"GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"} {
			if item.GetOperation(m) != nil {
				continue
			}
			r := admin.do(m, dummyPath(path), nil).want(405)
			if got := strings.Split(r.header.Get("Allow"), ", "); !slices.Equal(got, allowed) {
				t.Errorf("%s %s: Allow %v, want %v", m, path, got, allowed)
			}
		}
	}
}

func TestEveryOperationButThePublicOnesRequiresCredentials(t *testing.T) {
	e := newEnv(t)
	doc := servedDocument(t, e)
	schemes := doc.Components.SecuritySchemes
	if s := schemes["cloudApiKey"]; s == nil || s.Value.Type != "http" || s.Value.Scheme != "basic" {
		t.Errorf("cloudApiKey scheme %+v", s)
	}
	if s := schemes["oidcToken"]; s == nil || s.Value.Type != "http" || s.Value.Scheme != "bearer" {
		t.Errorf("oidcToken scheme %+v", s)
	}
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			security := doc.Security
			if op.Security != nil {
				security = *op.Security
			}
			answersAnonymously := e.anonymous().do(method, dummyPath(path), nil).status != http.StatusUnauthorized
			public := slices.Contains([]string{"/healthz", "/readyz", "/openapi.json"}, path)
			switch {
			case public && len(security) != 0:
				t.Errorf("%s %s is public but documented as needing %v", method, path, security)
			case !public && len(security) == 0:
				t.Errorf("%s %s needs credentials but documents no security", method, path)
			case public != answersAnonymously:
				t.Errorf("%s %s: public %v, but answers without credentials %v", method, path, public, answersAnonymously)
			}
			for _, req := range security {
				for name := range req {
					if schemes[name] == nil {
						t.Errorf("%s %s names the unknown scheme %q", method, path, name)
					}
				}
			}
		}
	}
}

// sample is one real exchange with the API.
type sample struct {
	route  string // "METHOD path" of the operation
	target string
	body   []byte // of the request
	res    *response
}

// validateResponse checks an answer against its operation's response.
func validateResponse(t *testing.T, doc *openapi3.T, s sample) {
	t.Helper()
	if err := conformance(doc, s); err != nil {
		t.Errorf("%s (%s) answered %d, which does not conform: %v\nbody: %s", s.route, s.target, s.res.status, err, s.res.body)
	}
}

// conformance is what openapi3filter finds wrong with an answer.
func conformance(doc *openapi3.T, s sample) error {
	method, path, _ := strings.Cut(s.route, " ")
	item := doc.Paths.Value(path)
	if item == nil || item.GetOperation(method) == nil {
		return errors.New("not documented")
	}
	req := httptest.NewRequest(method, s.target, nil)
	in := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{
			Request: req,
			Route:   &routers.Route{Spec: doc, Path: path, PathItem: item, Method: method, Operation: item.GetOperation(method)},
		},
		Status:  s.res.status,
		Header:  s.res.header,
		Options: &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true},
	}
	in.SetBodyBytes(s.res.body)
	return openapi3filter.ValidateResponse(context.Background(), in)
}

// validateRequest checks a request body against its operation.
func validateRequest(t *testing.T, doc *openapi3.T, s sample) {
	t.Helper()
	method, path, _ := strings.Cut(s.route, " ")
	item := doc.Paths.Value(path)
	req := httptest.NewRequest(method, s.target, bytes.NewReader(s.body))
	req.Header.Set("Content-Type", "application/json")
	params := map[string]string{}
	tmpl, actual := strings.Split(path, "/"), strings.Split(strings.SplitN(s.target, "?", 2)[0], "/")
	for i, seg := range tmpl {
		if strings.HasPrefix(seg, "{") && i < len(actual) {
			params[strings.Trim(seg, "{}")] = actual[i]
		}
	}
	in := &openapi3filter.RequestValidationInput{
		Request:    req,
		PathParams: params,
		Route:      &routers.Route{Spec: doc, Path: path, PathItem: item, Method: method, Operation: item.GetOperation(method)},
		Options:    &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc, MultiError: true},
	}
	if err := openapi3filter.ValidateRequest(context.Background(), in); err != nil {
		t.Errorf("%s (%s): the document refuses a request the API took: %v\nbody: %s", s.route, s.target, err, s.body)
	}
}

// recorder makes calls and keeps them as samples.
type recorder struct {
	t       *testing.T
	samples []sample
}

func (rec *recorder) call(c *client, route, target string, body any, header ...string) *response {
	rec.t.Helper()
	method, _, _ := strings.Cut(route, " ")
	var data []byte
	switch b := body.(type) {
	case nil:
	case string:
		data = []byte(b)
	default:
		var err error
		if data, err = json.Marshal(b); err != nil {
			rec.t.Fatal(err)
		}
	}
	var send any
	if data != nil {
		send = data
	}
	r := c.do(method, target, send, header...)
	rec.samples = append(rec.samples, sample{route: route, target: target, body: data, res: r})
	return r
}

func TestRealAnswersConformToTheDocument(t *testing.T) {
	e := newEnv(t, func(o *admin.Options) { o.MaxBodyBytes = 4096 })
	doc := servedDocument(t, e)
	root := e.orgAdmin("root")
	reader := e.caller("reader", roleOn{DeveloperRead, topicCRN("orders")})
	rec := &recorder{t: t}
	c := root.client
	id := func(r *response) string { return str(r.obj()["id"]) }

	// Objects of the configuration file, whose times are zero.
	e.st.SetStatic([]store.Object{
		&store.ServiceAccount{Metadata: store.Meta{ID: "sa-conf01"}, DisplayName: "from-config"},
		&store.RoleBinding{Metadata: store.Meta{ID: "rb-conf01"}, Principal: "User:sa-conf01", RoleName: DeveloperRead, CRNPattern: topicCRN("audit")},
	})

	rec.call(e.anonymous(), "GET /healthz", "/healthz", nil)
	rec.call(e.anonymous(), "GET /readyz", "/readyz", nil)
	rec.call(e.anonymous(), "GET /openapi.json", "/openapi.json", nil)
	rec.call(c, "GET /org/v2/organizations", "/org/v2/organizations", nil)
	rec.call(c, "GET /org/v2/environments", "/org/v2/environments", nil)
	rec.call(c, "GET /cmk/v2/clusters", "/cmk/v2/clusters", nil)
	rec.call(c, "GET /org/v2/organizations/{id}", "/org/v2/organizations/org-1", nil)
	rec.call(c, "GET /org/v2/environments/{id}", "/org/v2/environments/env-a", nil)
	rec.call(c, "GET /cmk/v2/clusters/{id}", "/cmk/v2/clusters/lkc-1", nil)
	rec.call(c, "GET /cmk/v2/clusters", "/cmk/v2/clusters?environment=env-b", nil)

	// Service accounts, with pages.
	const sas = "/iam/v2/service-accounts"
	sa := id(rec.call(c, "POST "+sas, sas, map[string]any{"display_name": "payments", "description": "pays"}).want(201))
	rec.call(c, "POST "+sas, sas, map[string]any{"display_name": "orders"}).want(201)
	rec.call(c, "GET "+sas, sas+"?page_size=2", nil).want(200)
	rec.call(c, "GET "+sas, sas, nil).want(200)
	rec.call(c, "GET "+sas+"/{id}", sas+"/"+sa, nil).want(200)
	rec.call(c, "GET "+sas+"/{id}", sas+"/sa-conf01", nil).want(200)
	rec.call(c, "PATCH "+sas+"/{id}", sas+"/"+sa, map[string]any{"description": "pays more", "metadata": map[string]any{"version": 1}}).want(200)

	// Users.
	u := id(rec.call(c, "POST /iam/v2/users", "/iam/v2/users", map[string]any{"email": "carol@example.com", "full_name": "Carol"}).want(201))
	rec.call(c, "GET /iam/v2/users", "/iam/v2/users", nil).want(200)
	rec.call(c, "GET /iam/v2/users/{id}", "/iam/v2/users/"+u, nil).want(200)

	// API keys: with their secret, and with a last use.
	const keys = "/iam/v2/api-keys"
	key := id(rec.call(c, "POST "+keys, keys, createKeyBody(sa, "lkc-1")).want(201))
	rec.call(c, "POST "+keys, keys, map[string]any{"spec": map[string]any{"owner": map[string]any{"id": u}, "resource": map[string]any{"id": "cloud"}}}).want(201)
	if err := e.st.RecordKeyUse(context.Background(), map[string]time.Time{key: time.Now()}); err != nil {
		t.Fatal(err)
	}
	rec.call(c, "GET "+keys, keys, nil).want(200)
	rec.call(c, "GET "+keys, keys+"?spec.owner="+sa+"&spec.resource=lkc-1", nil).want(200)
	rec.call(c, "GET "+keys+"/{id}", keys+"/"+key, nil).want(200)
	rec.call(c, "PATCH "+keys+"/{id}", keys+"/"+key, map[string]any{"spec": map[string]any{"display_name": "prod"}}).want(200)
	rec.call(c, "PATCH "+keys+"/{id}", keys+"/"+key, map[string]any{"metadata": map[string]any{"version": 2}}).want(200)

	// Roles and role bindings.
	rec.call(c, "GET /iam/v2/roles", "/iam/v2/roles?page_size=100", nil).want(200)
	rec.call(c, "GET /iam/v2/roles/{name}", "/iam/v2/roles/"+OrganizationAdmin, nil).want(200)
	rec.call(c, "GET /iam/v2/roles/{name}", "/iam/v2/roles/MetricsViewer", nil).want(200)
	const rbs = "/iam/v2/role-bindings"
	rb := id(rec.call(c, "POST "+rbs, rbs, bindingBody("User:"+sa, ResourceOwner, topicCRN("orders-*"))).want(201))
	rec.call(c, "GET "+rbs, rbs, nil).want(200)
	rec.call(c, "GET "+rbs, rbs+"?principal=User:"+sa+"&role_name=ResourceOwner&crn_pattern="+clusterCRN, nil).want(200)
	rec.call(c, "GET "+rbs+"/{id}", rbs+"/"+rb, nil).want(200)
	rec.call(c, "GET "+rbs+"/{id}", rbs+"/rb-conf01", nil).want(200)

	// Identity providers and pools.
	const ops = "/iam/v2/identity-providers"
	op := id(rec.call(c, "POST "+ops, ops, map[string]any{"display_name": "corp", "issuer": "https://idp.example.com/realms/kafka", "audiences": []string{"kafka"}}).want(201))
	bare := id(rec.call(c, "POST "+ops, ops, map[string]any{"display_name": "bare", "issuer": "https://idp.example.com/bare"}).want(201))
	rec.call(c, "GET "+ops, ops, nil).want(200)
	rec.call(c, "GET "+ops+"/{id}", ops+"/"+op, nil).want(200)
	rec.call(c, "GET "+ops+"/{id}", ops+"/"+bare, nil).want(200)
	rec.call(c, "PATCH "+ops+"/{id}", ops+"/"+op, map[string]any{"jwks_uri": "https://idp.example.com/realms/kafka/certs", "audiences": []string{}}).want(200)
	pools := ops + "/{id}/identity-pools"
	pool := id(rec.call(c, "POST "+pools, ops+"/"+op+"/identity-pools", map[string]any{"display_name": "ci", "filter": `"ci" in claims.groups`}).want(201))
	rec.call(c, "GET "+pools, ops+"/"+op+"/identity-pools", nil).want(200)
	rec.call(c, "GET "+pools, ops+"/"+bare+"/identity-pools", nil).want(200)
	rec.call(c, "GET "+pools+"/{pool}", ops+"/"+op+"/identity-pools/"+pool, nil).want(200)
	rec.call(c, "PATCH "+pools+"/{pool}", ops+"/"+op+"/identity-pools/"+pool, map[string]any{"identity_claim": "claims.email"}).want(200)

	// ACLs.
	const acls = "/kafka/v3/clusters/{cluster_id}/acls"
	rec.call(c, "GET "+acls, aclsPath, nil).want(200)
	rec.call(c, "POST "+acls, aclsPath, aclBody("User:"+sa, "orders", "READ")).want(201)
	rec.call(c, "POST "+acls, aclsPath, map[string]any{"resource_type": "CLUSTER", "principal": "User:" + sa, "operation": "DESCRIBE"}).want(201)
	rec.call(c, "GET "+acls, aclsPath+"?principal=User:"+sa, nil).want(200)
	rec.call(c, "DELETE "+acls, aclsPath+"?resource_type=TOPIC&resource_name=orders", nil).want(200)

	// Errors of every kind.
	rec.call(c, "POST "+sas, sas, map[string]any{"display_name": "", "description": "\a"}).want(400)
	rec.call(c, "GET "+sas, sas+"?page_size=0", nil).want(400)
	rec.call(c, "POST "+sas, sas, `{"display_name":"x","colour":"blue"}`).want(400)
	rec.call(e.anonymous(), "GET "+sas, sas, nil).want(401)
	rec.call(e.basic(throttledKey, "x"), "GET "+sas, sas, nil).want(429)
	rec.call(reader.client, "POST "+sas, sas, map[string]any{"display_name": "x"}).want(403)
	rec.call(c, "GET "+sas+"/{id}", sas+"/sa-nothing", nil).want(404)
	rec.call(c, "PATCH "+sas+"/{id}", sas+"/"+sa, map[string]any{"description": "x", "metadata": map[string]any{"version": 1}}).want(409)
	rec.call(c, "DELETE "+sas+"/{id}", sas+"/sa-conf01", nil).want(409)
	rec.call(c, "POST "+sas, sas, map[string]any{"display_name": "big", "description": strings.Repeat("d", 5000)}).want(413)

	// Deletes, last.
	rec.call(c, "DELETE "+pools+"/{pool}", ops+"/"+op+"/identity-pools/"+pool, nil).want(204)
	rec.call(c, "DELETE "+ops+"/{id}", ops+"/"+op, nil).want(204)
	rec.call(c, "DELETE "+rbs+"/{id}", rbs+"/"+rb, nil).want(204)
	rec.call(c, "DELETE "+keys+"/{id}", keys+"/"+key, nil, "If-Match", `"3"`).want(204)
	rec.call(c, "DELETE /iam/v2/users/{id}", "/iam/v2/users/"+u, nil).want(204)
	rec.call(c, "DELETE "+sas+"/{id}", sas+"/"+sa, nil).want(204)

	e.mu.Lock()
	e.cluster = ""
	e.mu.Unlock()
	rec.call(c, "GET /cmk/v2/clusters", "/cmk/v2/clusters", nil).want(503)

	// Every operation has a sample of its success status.
	succeeded := map[string]bool{}
	for _, s := range rec.samples {
		if s.res.status < 300 {
			succeeded[s.route] = true
		}
	}
	for _, op := range operations(doc) {
		if !succeeded[op] {
			t.Errorf("no successful sample of %s", op)
		}
	}

	for _, s := range rec.samples {
		validateResponse(t, doc, s)
		if s.body != nil && s.res.status < 300 {
			validateRequest(t, doc, s)
		}
	}

	// The check is not vacuous: answers that break the schema fail it.
	for _, s := range rec.samples {
		if s.route != "GET "+keys+"/{id}" {
			continue
		}
		for name, tamper := range map[string]func(m map[string]any){
			"without its id":         func(m map[string]any) { delete(m, "id") },
			"with a string version":  func(m map[string]any) { m["metadata"].(map[string]any)["version"] = "2" },
			"without spec.owner":     func(m map[string]any) { delete(m["spec"].(map[string]any), "owner") },
			"with a bad last use":    func(m map[string]any) { m["spec"].(map[string]any)["last_used_at"] = 7 },
			"with a null created_at": func(m map[string]any) { m["metadata"].(map[string]any)["created_at"] = nil },
		} {
			m := s.res.obj()
			tamper(m)
			bad := *s.res
			bad.body, _ = json.Marshal(m)
			if conformance(doc, sample{route: s.route, target: s.target, res: &bad}) == nil {
				t.Errorf("an API key %s conforms", name)
			}
		}
	}
}

// The document must also refuse what the API refuses, or a client
// generated from it would send bodies that fail.
func TestTheDocumentRefusesBodiesTheAPIRefuses(t *testing.T) {
	e := newEnv(t)
	doc := servedDocument(t, e)
	for _, c := range []struct {
		route, target string
		body          string
	}{
		{"POST /iam/v2/service-accounts", "/iam/v2/service-accounts", `{"display_name":"x","colour":"blue"}`},
		{"POST /iam/v2/service-accounts", "/iam/v2/service-accounts", `{"description":"no name"}`},
		{"POST /iam/v2/role-bindings", "/iam/v2/role-bindings", `{"principal":"User:sa-1","role_name":"DeveloperRead"}`},
		{"PATCH /iam/v2/api-keys/{id}", "/iam/v2/api-keys/K", `{"spec":{"owner":{"id":"sa-1"}}}`},
		{"POST /kafka/v3/clusters/{cluster_id}/acls", aclsPath, `{"resource_type":"TOPIC","resource_name":"x","principal":"User:a","operation":"READ","extra":1}`},
	} {
		method, path, _ := strings.Cut(c.route, " ")
		item := doc.Paths.Value(path)
		req := httptest.NewRequest(method, c.target, strings.NewReader(c.body))
		req.Header.Set("Content-Type", "application/json")
		in := &openapi3filter.RequestValidationInput{
			Request: req, PathParams: map[string]string{"id": "K", "cluster_id": "lkc-1"},
			Route:   &routers.Route{Spec: doc, Path: path, PathItem: item, Method: method, Operation: item.GetOperation(method)},
			Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc},
		}
		if err := openapi3filter.ValidateRequest(context.Background(), in); err == nil {
			t.Errorf("%s %s: the document takes it", c.route, c.body)
		}
	}
}
