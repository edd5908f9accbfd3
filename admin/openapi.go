package admin

import (
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"sync"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3gen"
)

// The OpenAPI document is built from the route table and the Go types of
// the bodies, so it cannot drift from what the handlers do: a route is
// documented because it is served, and a schema is the type that is
// encoded.

// OpenAPI returns the API's OpenAPI 3 document.
func (s *Server) OpenAPI() (*openapi3.T, error) {
	doc := &openapi3.T{
		OpenAPI: "3.0.3",
		Info: &openapi3.Info{
			Title:       "kafka-auth-proxy admin API",
			Version:     "v2",
			Description: "Service accounts, users, API keys, role bindings, identity providers and pools (Confluent Cloud IAM v2 shape), and ACLs (Kafka REST v3 shape).",
		},
		Paths: openapi3.NewPaths(),
		Components: &openapi3.Components{
			Schemas: openapi3.Schemas{},
			SecuritySchemes: openapi3.SecuritySchemes{
				"cloudApiKey": &openapi3.SecuritySchemeRef{Value: openapi3.NewSecurityScheme().WithType("http").WithScheme("basic").
					WithDescription("A cloud API key and its secret")},
				"oidcToken": &openapi3.SecuritySchemeRef{Value: openapi3.NewJWTSecurityScheme().
					WithDescription("An OIDC access token of a registered identity provider that maps to an identity pool")},
			},
		},
		Security: openapi3.SecurityRequirements{{"cloudApiKey": {}}, {"oidcToken": {}}},
	}
	errSchema, err := schemaOf(ErrorBody{}, false)
	if err != nil {
		return nil, err
	}
	doc.Components.Schemas["Error"] = errSchema
	// The reference carries its value, so that the document validates
	// as built, not only once encoded and loaded again.
	errRef := &openapi3.SchemaRef{Ref: "#/components/schemas/Error", Value: errSchema.Value}
	for _, rt := range s.table {
		op := &openapi3.Operation{OperationID: rt.id, Summary: rt.summary, Tags: []string{rt.tag}, Responses: openapi3.NewResponses()}
		op.Responses.Delete("default")
		for _, name := range pathParams(rt.path) {
			op.Parameters = append(op.Parameters, &openapi3.ParameterRef{Value: openapi3.NewPathParameter(name).
				WithSchema(openapi3.NewStringSchema().WithMinLength(1))})
		}
		for _, p := range rt.query {
			qp := openapi3.NewQueryParameter(p.name).WithDescription(p.description)
			switch p.name {
			case "page_size":
				qp.WithSchema(openapi3.NewIntegerSchema().WithMin(1).WithMax(maxPageSize))
			default:
				qp.WithSchema(openapi3.NewStringSchema())
			}
			op.Parameters = append(op.Parameters, &openapi3.ParameterRef{Value: qp})
		}
		if rt.ifMatch {
			op.Parameters = append(op.Parameters, &openapi3.ParameterRef{Value: openapi3.NewHeaderParameter("If-Match").
				WithDescription("the object version the change expects, such as \"3\"").WithSchema(openapi3.NewStringSchema())})
		}
		if rt.request != nil {
			sc, err := schemaOf(rt.request, true)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", rt.pattern(), err)
			}
			op.RequestBody = &openapi3.RequestBodyRef{Value: openapi3.NewRequestBody().WithRequired(true).WithJSONSchemaRef(sc)}
		}
		ok := openapi3.NewResponse().WithDescription(http.StatusText(rt.status))
		switch {
		case rt.public && rt.id == "openapi":
			ok.WithJSONSchema(openapi3.NewObjectSchema())
		case rt.public:
			ok.WithContent(openapi3.NewContentWithSchema(openapi3.NewStringSchema(), []string{"text/plain"}))
		case rt.response != nil:
			sc, err := schemaOf(rt.response, false)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", rt.pattern(), err)
			}
			ok.WithJSONSchemaRef(sc)
		}
		op.Responses.Set(strconv.Itoa(rt.status), &openapi3.ResponseRef{Value: ok})
		for _, code := range errorStatuses(rt) {
			op.Responses.Set(strconv.Itoa(code), &openapi3.ResponseRef{Value: openapi3.NewResponse().
				WithDescription(errorMeanings[code]).WithJSONSchemaRef(errRef)})
		}
		if rt.public {
			op.Security = &openapi3.SecurityRequirements{}
			if rt.id == "readyz" {
				op.Responses.Set("503", &openapi3.ResponseRef{Value: openapi3.NewResponse().WithDescription("Not ready").WithJSONSchemaRef(errRef)})
			}
		}
		doc.AddOperation(rt.path, rt.method, op)
	}
	return doc, nil
}

// errorMeanings describe the error answers.
var errorMeanings = map[int]string{
	400: "Bad input: every problem is listed, with the field or parameter at fault",
	401: "No credentials, or credentials that do not authenticate",
	403: "The caller's role bindings do not allow it; the detail names the right missing",
	404: "No such object, or one the caller may not see",
	409: "A stale version, a name taken, an object of the configuration file, or an invariant such as the last OrganizationAdmin",
	413: "The request body is larger than admin.max_body_bytes",
	429: "Too many failed logins from this address",
	503: "The state cannot be written now, or the cluster is not known yet; retry",
}

// errorStatuses are the error answers a route can give.
func errorStatuses(rt *route) []int {
	if rt.public {
		return nil
	}
	codes := []int{400, 401, 403}
	if len(pathParams(rt.path)) > 0 {
		codes = append(codes, 404)
	}
	write := rt.method != http.MethodGet
	if write {
		codes = append(codes, 409)
	}
	if rt.request != nil {
		codes = append(codes, 413)
	}
	codes = append(codes, 429)
	if write || rt.id == "listClusters" || rt.id == "getCluster" {
		codes = append(codes, 503)
	}
	return codes
}

var pathParamRE = regexp.MustCompile(`\{([a-z_]+)\}`)

func pathParams(path string) []string {
	var out []string
	for _, m := range pathParamRE.FindAllStringSubmatch(path, -1) {
		out = append(out, m[1])
	}
	return out
}

// schemaOf generates the schema of v's type. Fields encoded without
// omitempty are required; a request body refuses unknown fields, as the
// handlers do.
func schemaOf(v any, request bool) (*openapi3.SchemaRef, error) {
	ref, err := openapi3gen.NewSchemaRefForValue(v, nil)
	if err != nil {
		return nil, err
	}
	tighten(ref, reflect.TypeOf(v), request)
	return ref, nil
}

func tighten(ref *openapi3.SchemaRef, t reflect.Type, request bool) {
	if ref == nil || ref.Value == nil {
		return
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	sc := ref.Value
	switch t.Kind() {
	case reflect.Slice:
		tighten(sc.Items, t.Elem(), request)
		return
	case reflect.Struct:
	default:
		return
	}
	if t.PkgPath() == "time" {
		return
	}
	if request {
		f := false
		sc.AdditionalProperties = openapi3.AdditionalProperties{Has: &f}
	}
	sc.Required = nil
	for i := range t.NumField() {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		if tag == "-" || !f.IsExported() {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		if name == "" {
			name = f.Name
		}
		if !strings.Contains(opts, "omitempty") && f.Type.Kind() != reflect.Pointer {
			sc.Required = append(sc.Required, name)
		}
		if p, ok := sc.Properties[name]; ok {
			if f.Type.Kind() == reflect.Slice && !strings.Contains(opts, "omitempty") && p.Value != nil {
				p.Value.Nullable = false
			}
			tighten(p, f.Type, request)
		}
	}
}

// openapiJSON caches the encoded document.
type openapiJSON struct {
	once sync.Once
	data []byte
	err  error
}

func (s *Server) openapiDoc(*request) (any, error) {
	s.doc.once.Do(func() {
		doc, err := s.OpenAPI()
		if err != nil {
			s.doc.err = err
			return
		}
		s.doc.data, s.doc.err = json.MarshalIndent(doc, "", "  ")
	})
	if s.doc.err != nil {
		return nil, s.doc.err
	}
	return rawBody{"application/json", s.doc.data}, nil
}
