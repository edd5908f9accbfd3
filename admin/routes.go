package admin

import (
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/kafka-auth-proxy/kafka-auth-proxy/audit"
)

// route is one operation of the API: what the mux serves and what the
// OpenAPI document says.
type route struct {
	method string
	path   string // a Go 1.22 pattern path, such as /iam/v2/service-accounts/{id}
	// id is the OpenAPI operationId.
	id      string
	summary string
	tag     string
	// public routes answer before authentication.
	public bool
	// request is a value of the body type, nil for none.
	request any
	// response is a value of the success body type, nil for none; status
	// is the success status.
	response any
	status   int
	// query lists the query parameters the route takes.
	query []param
	// ifMatch: the route takes an If-Match header.
	ifMatch bool
	// action and kind describe the call in the audit log.
	action string
	kind   string
	handle func(*request) (any, error)
}

// param is a query parameter.
type param struct {
	name, description string
}

func (rt *route) takes(name string) bool {
	return slices.ContainsFunc(rt.query, func(p param) bool { return p.name == name })
}

// pagingParams are the parameters of every list.
var pagingParams = []param{
	{"page_size", "the number of objects per page, 1 to 100 (default 10)"},
	{"page_token", "the page to return, from metadata.next of the previous page"},
}

// pattern is the mux pattern of rt.
func (rt *route) pattern() string { return rt.method + " " + rt.path }

// routes is the API.
func (s *Server) routes() []*route {
	list := func(extra ...param) []param { return append(append([]param{}, pagingParams...), extra...) }
	rs := []*route{
		{method: "GET", path: "/healthz", id: "healthz", summary: "The process is up", tag: "Health", public: true, status: 200, handle: s.healthz},
		{method: "GET", path: "/readyz", id: "readyz", summary: "The proxy can serve", tag: "Health", public: true, status: 200, handle: s.readyz},
		{method: "GET", path: "/openapi.json", id: "openapi", summary: "This API's OpenAPI 3 document", tag: "Health", public: true, status: 200, handle: s.openapiDoc},

		{method: "GET", path: "/org/v2/organizations", id: "listOrganizations", summary: "List the organization", tag: "Scope", response: List[Organization]{}, status: 200, query: list(), action: "list", kind: "Organization", handle: s.listOrganizations},
		{method: "GET", path: "/org/v2/environments", id: "listEnvironments", summary: "List the environments", tag: "Scope", response: List[Environment]{}, status: 200, query: list(), action: "list", kind: "Environment", handle: s.listEnvironments},
		{method: "GET", path: "/cmk/v2/clusters", id: "listClusters", summary: "List the Kafka clusters", tag: "Scope", response: List[Cluster]{}, status: 200, query: list(param{"environment", "only the clusters of this environment"}), action: "list", kind: "Cluster", handle: s.listClusters},
		{method: "GET", path: "/org/v2/organizations/{id}", id: "getOrganization", summary: "Describe the organization", tag: "Scope", response: Organization{}, status: 200, action: "describe", kind: "Organization", handle: s.getOrganization},
		{method: "GET", path: "/org/v2/environments/{id}", id: "getEnvironment", summary: "Describe an environment", tag: "Scope", response: Environment{}, status: 200, action: "describe", kind: "Environment", handle: s.getEnvironment},
		{method: "GET", path: "/cmk/v2/clusters/{id}", id: "getCluster", summary: "Describe a Kafka cluster", tag: "Scope", response: Cluster{}, status: 200, action: "describe", kind: "Cluster", handle: s.getCluster},

		{method: "GET", path: "/iam/v2/service-accounts", id: "listServiceAccounts", summary: "List service accounts", tag: "Service accounts", response: List[ServiceAccount]{}, status: 200, query: list(), action: "list", kind: "ServiceAccount", handle: s.listServiceAccounts},
		{method: "POST", path: "/iam/v2/service-accounts", id: "createServiceAccount", summary: "Create a service account (OrganizationAdmin)", tag: "Service accounts", request: ServiceAccountCreate{}, response: ServiceAccount{}, status: 201, action: "create", kind: "ServiceAccount", handle: s.createServiceAccount},
		{method: "GET", path: "/iam/v2/service-accounts/{id}", id: "getServiceAccount", summary: "Describe a service account", tag: "Service accounts", response: ServiceAccount{}, status: 200, action: "describe", kind: "ServiceAccount", handle: s.getServiceAccount},
		{method: "PATCH", path: "/iam/v2/service-accounts/{id}", id: "updateServiceAccount", summary: "Update a service account (OrganizationAdmin)", tag: "Service accounts", request: ServiceAccountUpdate{}, response: ServiceAccount{}, status: 200, ifMatch: true, action: "update", kind: "ServiceAccount", handle: s.updateServiceAccount},
		{method: "DELETE", path: "/iam/v2/service-accounts/{id}", id: "deleteServiceAccount", summary: "Delete a service account, its API keys, role bindings and ACLs (OrganizationAdmin)", tag: "Service accounts", status: 204, ifMatch: true, action: "delete", kind: "ServiceAccount", handle: s.deleteServiceAccount},

		{method: "GET", path: "/iam/v2/users", id: "listUsers", summary: "List users", tag: "Users", response: List[User]{}, status: 200, query: list(), action: "list", kind: "User", handle: s.listUsers},
		{method: "POST", path: "/iam/v2/users", id: "createUser", summary: "Create a user (OrganizationAdmin)", tag: "Users", request: UserCreate{}, response: User{}, status: 201, action: "create", kind: "User", handle: s.createUser},
		{method: "GET", path: "/iam/v2/users/{id}", id: "getUser", summary: "Describe a user", tag: "Users", response: User{}, status: 200, action: "describe", kind: "User", handle: s.getUser},
		{method: "DELETE", path: "/iam/v2/users/{id}", id: "deleteUser", summary: "Delete a user, its API keys, role bindings and ACLs (OrganizationAdmin)", tag: "Users", status: 204, ifMatch: true, action: "delete", kind: "User", handle: s.deleteUser},

		{method: "GET", path: "/iam/v2/api-keys", id: "listAPIKeys", summary: "List API keys", tag: "API keys", response: List[APIKey]{}, status: 200, query: list(param{"spec.owner", "only the keys of this account"}, param{"spec.resource", "only the keys of this cluster, or cloud"}), action: "list", kind: "ApiKey", handle: s.listAPIKeys},
		{method: "POST", path: "/iam/v2/api-keys", id: "createAPIKey", summary: "Create an API key; the answer holds its secret, once", tag: "API keys", request: APIKeyCreate{}, response: APIKey{}, status: 201, action: "create", kind: "ApiKey", handle: s.createAPIKey},
		{method: "GET", path: "/iam/v2/api-keys/{id}", id: "getAPIKey", summary: "Describe an API key", tag: "API keys", response: APIKey{}, status: 200, action: "describe", kind: "ApiKey", handle: s.getAPIKey},
		{method: "PATCH", path: "/iam/v2/api-keys/{id}", id: "updateAPIKey", summary: "Update an API key's name or description", tag: "API keys", request: APIKeyUpdate{}, response: APIKey{}, status: 200, ifMatch: true, action: "update", kind: "ApiKey", handle: s.updateAPIKey},
		{method: "DELETE", path: "/iam/v2/api-keys/{id}", id: "deleteAPIKey", summary: "Delete an API key; its connections close", tag: "API keys", status: 204, ifMatch: true, action: "delete", kind: "ApiKey", handle: s.deleteAPIKey},

		{method: "GET", path: "/iam/v2/roles", id: "listRoles", summary: "List the roles", tag: "Role bindings", response: List[Role]{}, status: 200, query: list(), action: "list", kind: "Role", handle: s.listRoles},
		{method: "GET", path: "/iam/v2/roles/{name}", id: "getRole", summary: "Describe a role", tag: "Role bindings", response: Role{}, status: 200, action: "describe", kind: "Role", handle: s.getRole},
		{method: "GET", path: "/iam/v2/role-bindings", id: "listRoleBindings", summary: "List role bindings", tag: "Role bindings", response: List[RoleBinding]{}, status: 200, query: list(param{"principal", "only the bindings of this principal"}, param{"role_name", "only the bindings of this role"}, param{"crn_pattern", "only the bindings inside this scope"}), action: "list", kind: "RoleBinding", handle: s.listRoleBindings},
		{method: "POST", path: "/iam/v2/role-bindings", id: "createRoleBinding", summary: "Grant a role", tag: "Role bindings", request: RoleBindingCreate{}, response: RoleBinding{}, status: 201, action: "create", kind: "RoleBinding", handle: s.createRoleBinding},
		{method: "GET", path: "/iam/v2/role-bindings/{id}", id: "getRoleBinding", summary: "Describe a role binding", tag: "Role bindings", response: RoleBinding{}, status: 200, action: "describe", kind: "RoleBinding", handle: s.getRoleBinding},
		{method: "DELETE", path: "/iam/v2/role-bindings/{id}", id: "deleteRoleBinding", summary: "Revoke a role", tag: "Role bindings", status: 204, ifMatch: true, action: "delete", kind: "RoleBinding", handle: s.deleteRoleBinding},

		{method: "GET", path: "/iam/v2/identity-providers", id: "listIdentityProviders", summary: "List identity providers", tag: "Identity providers", response: List[IdentityProvider]{}, status: 200, query: list(), action: "list", kind: "IdentityProvider", handle: s.listProviders},
		{method: "POST", path: "/iam/v2/identity-providers", id: "createIdentityProvider", summary: "Register an OpenID Connect provider (OrganizationAdmin)", tag: "Identity providers", request: IdentityProviderCreate{}, response: IdentityProvider{}, status: 201, action: "create", kind: "IdentityProvider", handle: s.createProvider},
		{method: "GET", path: "/iam/v2/identity-providers/{id}", id: "getIdentityProvider", summary: "Describe an identity provider", tag: "Identity providers", response: IdentityProvider{}, status: 200, action: "describe", kind: "IdentityProvider", handle: s.getProvider},
		{method: "PATCH", path: "/iam/v2/identity-providers/{id}", id: "updateIdentityProvider", summary: "Update an identity provider (OrganizationAdmin)", tag: "Identity providers", request: IdentityProviderUpdate{}, response: IdentityProvider{}, status: 200, ifMatch: true, action: "update", kind: "IdentityProvider", handle: s.updateProvider},
		{method: "DELETE", path: "/iam/v2/identity-providers/{id}", id: "deleteIdentityProvider", summary: "Delete an identity provider and its pools (OrganizationAdmin)", tag: "Identity providers", status: 204, ifMatch: true, action: "delete", kind: "IdentityProvider", handle: s.deleteProvider},

		{method: "GET", path: "/iam/v2/identity-providers/{id}/identity-pools", id: "listIdentityPools", summary: "List a provider's identity pools", tag: "Identity pools", response: List[IdentityPool]{}, status: 200, query: list(), action: "list", kind: "IdentityPool", handle: s.listPools},
		{method: "POST", path: "/iam/v2/identity-providers/{id}/identity-pools", id: "createIdentityPool", summary: "Create an identity pool (OrganizationAdmin)", tag: "Identity pools", request: IdentityPoolCreate{}, response: IdentityPool{}, status: 201, action: "create", kind: "IdentityPool", handle: s.createPool},
		{method: "GET", path: "/iam/v2/identity-providers/{id}/identity-pools/{pool}", id: "getIdentityPool", summary: "Describe an identity pool", tag: "Identity pools", response: IdentityPool{}, status: 200, action: "describe", kind: "IdentityPool", handle: s.getPool},
		{method: "PATCH", path: "/iam/v2/identity-providers/{id}/identity-pools/{pool}", id: "updateIdentityPool", summary: "Update an identity pool (OrganizationAdmin)", tag: "Identity pools", request: IdentityPoolUpdate{}, response: IdentityPool{}, status: 200, ifMatch: true, action: "update", kind: "IdentityPool", handle: s.updatePool},
		{method: "DELETE", path: "/iam/v2/identity-providers/{id}/identity-pools/{pool}", id: "deleteIdentityPool", summary: "Delete an identity pool; its connections close (OrganizationAdmin)", tag: "Identity pools", status: 204, ifMatch: true, action: "delete", kind: "IdentityPool", handle: s.deletePool},

		{method: "GET", path: "/kafka/v3/clusters/{cluster_id}/acls", id: "listACLs", summary: "List the ACLs that match a filter", tag: "ACLs", response: ACLList{}, status: 200, query: aclFilterParams, action: "list", kind: "KafkaAcl", handle: s.listACLs},
		{method: "POST", path: "/kafka/v3/clusters/{cluster_id}/acls", id: "createACL", summary: "Create an ACL", tag: "ACLs", request: ACLCreate{}, response: ACL{}, status: 201, action: "create", kind: "KafkaAcl", handle: s.createACL},
		{method: "DELETE", path: "/kafka/v3/clusters/{cluster_id}/acls", id: "deleteACLs", summary: "Delete the ACLs that match a filter", tag: "ACLs", response: ACLList{}, status: 200, query: aclFilterParams, action: "delete", kind: "KafkaAcl", handle: s.deleteACLs},
	}
	return rs
}

// buildMux serves every route, and a JSON 404 or 405 otherwise.
func (s *Server) buildMux() *http.ServeMux {
	mux := http.NewServeMux()
	s.table = s.routes()
	s.paths = http.NewServeMux()
	seen := map[string]bool{}
	for _, rt := range s.table {
		mux.Handle(rt.pattern(), s.serve(rt))
		if !seen[rt.path] {
			seen[rt.path] = true
			s.paths.Handle(rt.path, http.NotFoundHandler())
		}
	}
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		code := http.StatusNotFound
		if methods := s.methodsOf(r); len(methods) > 0 {
			code = http.StatusMethodNotAllowed
			w.Header().Set("Allow", strings.Join(methods, ", "))
		}
		writeJSON(w, code, ErrorBody{Errors: []ErrorItem{{Status: strconv.Itoa(code), Detail: http.StatusText(code)}}})
		s.metrics.observe("unmatched", code, time.Since(start))
	})
	return mux
}

// methodsOf returns the methods the routes of the request's path serve,
// for the Allow header of a 405; none when no route serves the path.
func (s *Server) methodsOf(r *http.Request) []string {
	_, p := s.paths.Handler(r)
	var methods []string
	for _, rt := range s.table {
		if p != "" && rt.path == p {
			methods = append(methods, rt.method)
		}
	}
	return methods
}

// serve wraps a route's handler: authentication, the snapshot, the
// metrics and the audit event.
func (s *Server) serve(rt *route) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		q := &request{s: s, r: r, w: w, route: rt, header: w.Header(), source: s.source(r)}
		status := s.handle(q)
		s.metrics.observe(rt.pattern(), status, time.Since(start))
	})
}

func (s *Server) handle(q *request) int {
	rt, r := q.route, q.r
	if rt.public {
		body, err := rt.handle(q)
		if err != nil {
			ae := errorOf(err)
			writeJSON(q.w, ae.status, ErrorBody{Errors: ae.items})
			return ae.status
		}
		if raw, ok := body.(rawBody); ok {
			q.w.Header().Set("Content-Type", raw.contentType)
			q.w.WriteHeader(rt.status)
			q.w.Write(raw.data) //nolint:errcheck // the client went away
			return rt.status
		}
		writeJSON(q.w, rt.status, body)
		return rt.status
	}
	q.event = audit.ManagementEvent{Time: s.o.Now(), Source: q.source, Method: r.Method, Route: rt.path,
		Action: rt.action, Kind: rt.kind}
	status, err := s.authenticated(q)
	var body any
	if err == nil {
		q.event.Caller = q.caller.name
		body, err = s.call(q)
		status = rt.status
	}
	if err != nil {
		ae := errorOf(err)
		if ae.status == http.StatusInternalServerError {
			s.log.Error("admin request failed", zap.String("route", rt.pattern()), zap.Error(err))
		}
		if ae.status == http.StatusUnauthorized {
			q.w.Header().Set("WWW-Authenticate", `Basic realm="kafka-auth-proxy", Bearer realm="kafka-auth-proxy"`)
		}
		status, body = ae.status, ErrorBody{Errors: ae.items}
		q.event.Detail = ae.Error()
	}
	var data []byte
	if status != http.StatusNoContent && body != nil {
		status, data = encodeJSON(status, body)
	}
	// The event is in the audit log before the answer leaves, so that no
	// client sees an outcome the log does not hold.
	q.event.Status = status
	s.o.Audit.Management(q.event)
	if data == nil {
		q.w.WriteHeader(status)
	} else {
		writeEncoded(q.w, status, data)
	}
	return status
}

// call runs the handler, turning a panic into a 500 so that one bad
// request never takes the API down.
func (s *Server) call(q *request) (body any, err error) {
	defer func() {
		if p := recover(); p != nil {
			s.log.Error("admin handler panicked", zap.String("route", q.route.pattern()), zap.Any("panic", p))
			body, err = nil, errors.New("panic")
		}
	}()
	if err := q.checkQuery(); err != nil {
		return nil, err
	}
	return q.route.handle(q)
}

// authenticated identifies the caller and takes the snapshot the request
// is served from.
func (s *Server) authenticated(q *request) (int, error) {
	q.snap = s.o.Store.Snapshot()
	q.scope = scopeView{org: s.o.Scope.Organization, env: s.o.Scope.Environment, cluster: s.o.Scope.Cluster()}
	if op, ok := q.r.Context().Value(localKey{}).(string); ok {
		q.caller = &caller{local: true, name: op}
		return 0, nil
	}
	h := q.r.Header.Get("Authorization")
	if h == "" {
		return http.StatusUnauthorized, errorf(http.StatusUnauthorized, "authentication required: send a cloud API key (HTTP Basic) or an OIDC token (Bearer)")
	}
	if s.o.Authenticator == nil {
		return http.StatusUnauthorized, errorf(http.StatusUnauthorized, "this API takes no credentials")
	}
	id, err := s.o.Authenticator.AuthenticateHTTP(q.r.Context(), q.source, h)
	if err != nil {
		if ae := errorOf(err); ae.status == http.StatusTooManyRequests {
			return ae.status, ae
		}
		return http.StatusUnauthorized, errorf(http.StatusUnauthorized, "authentication failed")
	}
	q.caller = newCaller(q.snap, q.scope.org, id.Principal, id.Account)
	return 0, nil
}

// rawBody is an answer that is not JSON of an object.
type rawBody struct {
	contentType string
	data        []byte
}

func (s *Server) healthz(*request) (any, error) {
	return rawBody{"text/plain; charset=utf-8", []byte("ok\n")}, nil
}

func (s *Server) readyz(*request) (any, error) {
	if s.o.Ready != nil {
		if err := s.o.Ready(); err != nil {
			return nil, errorf(http.StatusServiceUnavailable, "not ready: %s", err)
		}
	}
	return rawBody{"text/plain; charset=utf-8", []byte("ok\n")}, nil
}

// pathParam is a path parameter of the request.
func (q *request) pathParam(name string) string { return strings.TrimSpace(q.r.PathValue(name)) }
