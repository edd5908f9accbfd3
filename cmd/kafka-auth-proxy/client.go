package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/user"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/kafka-auth-proxy/kafka-auth-proxy/admin"
)

// The environment variables of the management commands. Flags win over
// them, and they win over the stored login context.
const (
	defaultConfigEnv = "KAFKA_AUTH_PROXY_CONFIG"
	urlEnv           = "KAFKA_AUTH_PROXY_URL"
	apiKeyEnv        = "KAFKA_AUTH_PROXY_API_KEY"
	apiSecretEnv     = "KAFKA_AUTH_PROXY_API_SECRET"
	tokenEnv         = "KAFKA_AUTH_PROXY_TOKEN"
)

// requestTimeout bounds one request to the admin API.
const requestTimeout = 60 * time.Second

// maxResponseBytes bounds an answer of the admin API.
const maxResponseBytes = 64 << 20

// connFlags are where the management commands send their requests: the
// admin API at --url with credentials, or, offline, an in-process server
// over the state file of --config or --state-file.
type connFlags struct {
	url        string
	apiKey     string
	apiSecret  string
	token      string
	caFile     string
	configFile string
	stateFile  string
	output     string
}

// register adds the flags to cmd as persistent flags, for it and its
// subcommands.
func (f *connFlags) register(cmd *cobra.Command) {
	fs := cmd.PersistentFlags()
	fs.StringVar(&f.url, "url", "", "the admin API, e.g. https://proxy-admin:8090 (default $"+urlEnv+", else the login context)")
	fs.StringVar(&f.apiKey, "api-key", "", "a cloud API key, sent as HTTP Basic (default $"+apiKeyEnv+")")
	fs.StringVar(&f.apiSecret, "api-secret", "", "the API key's secret (default $"+apiSecretEnv+")")
	fs.StringVar(&f.token, "token", "", "an OIDC bearer token (default $"+tokenEnv+")")
	fs.StringVar(&f.caFile, "ca-file", "", "PEM file of the CA that signed the admin API's certificate")
	fs.StringVar(&f.configFile, "config", "", "work offline on the state file of this proxy configuration (default $"+defaultConfigEnv+")")
	fs.StringVar(&f.stateFile, "state-file", "", "work offline on this state file")
	fs.StringVarP(&f.output, "output", "o", "human", "output format: human, json or yaml")
}

// credentials are what authenticates a request: an API key and secret, or
// a bearer token.
type credentials struct {
	APIKey    string
	APISecret string
	Token     string
}

func (c credentials) empty() bool { return c.APIKey == "" && c.APISecret == "" && c.Token == "" }

// authorization is the Authorization header value for c; "" for none.
func (c credentials) authorization() string {
	switch {
	case c.Token != "":
		return "Bearer " + c.Token
	case c.APIKey != "":
		return "Basic " + base64.StdEncoding.EncodeToString([]byte(c.APIKey+":"+c.APISecret))
	}
	return ""
}

func (c credentials) check() error {
	switch {
	case c.Token != "" && (c.APIKey != "" || c.APISecret != ""):
		return errors.New("pass either --api-key and --api-secret or --token, not both")
	case c.APIKey != "" && c.APISecret == "":
		return errors.New("--api-key needs --api-secret (or $" + apiSecretEnv + ")")
	case c.APISecret != "" && c.APIKey == "":
		return errors.New("--api-secret needs --api-key (or $" + apiKeyEnv + ")")
	}
	return nil
}

// target is where requests go, once the flags, the environment and the
// login context are resolved.
type target struct {
	// URL is the admin API; "" when working offline.
	URL    string
	Creds  credentials
	CAFile string
	// ConfigFile and StateFile are the offline state.
	ConfigFile string
	StateFile  string
}

// layer is one source of settings: the flags, or the environment.
type layer struct {
	url, configFile, stateFile string
	creds                      credentials
	caFile                     string
}

// resolveTarget applies the precedence flags > environment > login
// context. The first of them that names a target (a URL, or a
// configuration or state file to work on offline) decides where requests
// go. Credentials follow the same order, field by field for the flags and
// the environment (so that --api-key may come with a secret from the
// environment); a stored context's credentials are only sent to the
// context's own URL.
func resolveTarget(flags, env layer, stored *loginContext) (target, error) {
	if flags.url != "" && (flags.configFile != "" || flags.stateFile != "") {
		return target{}, errors.New("--url and --config/--state-file exclude each other: manage a proxy through its admin API or its state file")
	}
	creds := mergeCredentials(flags.creds, env.creds)
	caFile := firstNonEmpty(flags.caFile, env.caFile)
	var t target
	switch {
	case flags.url != "":
		t = target{URL: flags.url}
	case flags.configFile != "" || flags.stateFile != "":
		t = target{ConfigFile: flags.configFile, StateFile: flags.stateFile}
	case env.url != "":
		t = target{URL: env.url}
	case env.configFile != "" || env.stateFile != "":
		t = target{ConfigFile: env.configFile, StateFile: env.stateFile}
	case stored != nil && stored.URL != "":
		t = target{URL: stored.URL}
	default:
		return target{}, errors.New("no admin API to talk to: pass --url (or set $" + urlEnv + "), log in with `kafka-auth-proxy login`, " +
			"or pass --config or --state-file to manage the state file offline")
	}
	if t.URL == "" {
		if !flags.creds.empty() || flags.caFile != "" {
			// Harmless, but most likely a mistake worth saying.
			return target{}, errors.New("--api-key, --api-secret, --token and --ca-file are for an admin API (--url); offline work on the state file needs none")
		}
		return t, nil
	}
	u, err := url.Parse(t.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return target{}, fmt.Errorf("admin API URL %q: want http(s)://host[:port]", t.URL)
	}
	if u.User != nil {
		return target{}, fmt.Errorf("admin API URL %s: pass credentials with --api-key/--api-secret or --token, not in the URL", u.Redacted())
	}
	if err := creds.check(); err != nil {
		return target{}, err
	}
	t.Creds, t.CAFile = creds, caFile
	if stored != nil && sameURL(stored.URL, t.URL) {
		if t.Creds.empty() {
			t.Creds = credentials{APIKey: stored.APIKey, APISecret: stored.APISecret, Token: stored.Token}
		}
		if t.CAFile == "" {
			t.CAFile = stored.CAFile
		}
	}
	return t, nil
}

// mergeCredentials takes each credential from the flags, else from the
// environment, but never mixes a key from one with a token from the other:
// a credential flag sets the kind of credential.
func mergeCredentials(flags, env credentials) credentials {
	switch {
	case flags.Token != "" && flags.APIKey == "" && flags.APISecret == "":
		return flags
	case flags.Token == "" && (flags.APIKey != "" || flags.APISecret != ""):
		env.Token = ""
	}
	return credentials{
		APIKey:    firstNonEmpty(flags.APIKey, env.APIKey),
		APISecret: firstNonEmpty(flags.APISecret, env.APISecret),
		Token:     firstNonEmpty(flags.Token, env.Token),
	}
}

func sameURL(a, b string) bool {
	return strings.TrimRight(a, "/") == strings.TrimRight(b, "/")
}

func firstNonEmpty(vals ...string) string {
	for _, v := range vals {
		if v != "" {
			return v
		}
	}
	return ""
}

// flagLayer is what the flags of cmd say.
func (f *connFlags) flagLayer() layer {
	return layer{url: f.url, configFile: f.configFile, stateFile: f.stateFile, caFile: f.caFile,
		creds: credentials{APIKey: f.apiKey, APISecret: f.apiSecret, Token: f.token}}
}

// envLayer is what the environment says.
func envLayer(getenv func(string) string) layer {
	return layer{url: getenv(urlEnv), configFile: getenv(defaultConfigEnv),
		creds: credentials{APIKey: getenv(apiKeyEnv), APISecret: getenv(apiSecretEnv), Token: getenv(tokenEnv)}}
}

// session is what a management command runs with: a client and a printer.
type session struct {
	client *apiClient
	out    *printer
}

// run resolves the target of f, opens a client to it and calls fn.
func (f *connFlags) run(cmd *cobra.Command, fn func(ctx context.Context, s *session) error) error {
	p, err := newPrinter(cmd.OutOrStdout(), f.output)
	if err != nil {
		return err
	}
	flags, env := f.flagLayer(), envLayer(os.Getenv)
	stored, err := loadLoginContext()
	if err != nil {
		// A damaged login context matters only to commands that would
		// use it.
		if t, terr := resolveTarget(flags, env, nil); terr != nil || t.URL != "" {
			return err
		}
	}
	t, err := resolveTarget(flags, env, stored)
	if err != nil {
		return err
	}
	warnPlainHTTP(cmd, t)
	ctx := cmd.Context()
	if ctx == nil {
		ctx = context.Background()
	}
	c, err := openClient(ctx, t)
	if err != nil {
		return err
	}
	defer c.Close()
	return fn(ctx, &session{client: c, out: p})
}

// warnPlainHTTP warns when credentials would cross the network
// unencrypted: an http URL to another host than this one.
func warnPlainHTTP(cmd *cobra.Command, t target) {
	if t.URL == "" || t.Creds.empty() {
		return
	}
	u, err := url.Parse(t.URL)
	if err != nil || u.Scheme != "http" {
		return
	}
	host := u.Hostname()
	if ip := net.ParseIP(host); host == "localhost" || (ip != nil && ip.IsLoopback()) {
		return
	}
	fmt.Fprintf(cmd.ErrOrStderr(), "Warning: the credentials go to %s unencrypted; use an https URL.\n", u.Redacted())
}

// apiClient sends requests to the admin API.
type apiClient struct {
	// base is the API's URL, without a trailing slash.
	base string
	// name says where requests go, for messages.
	name   string
	http   *http.Client
	auth   string
	closer func()
}

// openClient returns a client for t: over the network for a URL, or to an
// in-process server over the state file.
func openClient(ctx context.Context, t target) (*apiClient, error) {
	if t.URL == "" {
		return openOfflineClient(ctx, t.ConfigFile, t.StateFile)
	}
	return newRemoteClient(t.URL, t.Creds, t.CAFile)
}

func newRemoteClient(rawURL string, creds credentials, caFile string) (*apiClient, error) {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	if caFile != "" {
		pem, err := os.ReadFile(caFile)
		if err != nil {
			return nil, fmt.Errorf("--ca-file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("--ca-file %s: no PEM certificate in it", caFile)
		}
		tr.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	}
	base := strings.TrimRight(rawURL, "/")
	return &apiClient{
		base: base,
		name: base,
		http: &http.Client{Transport: tr, Timeout: requestTimeout, CheckRedirect: sameHostRedirects},
		auth: creds.authorization(),
	}, nil
}

// sameHostRedirects follows redirects only on the API's own host and
// scheme, so that credentials are never sent elsewhere.
func sameHostRedirects(req *http.Request, via []*http.Request) error {
	if len(via) >= 5 {
		return errors.New("too many redirects")
	}
	if req.URL.Host != via[0].URL.Host || req.URL.Scheme != via[0].URL.Scheme {
		return fmt.Errorf("refusing to follow a redirect to %s", req.URL.Redacted())
	}
	return nil
}

// openOfflineClient builds the admin API in process over the state file
// and sends requests to it directly, as the local operator.
func openOfflineClient(ctx context.Context, configFile, stateFile string) (*apiClient, error) {
	srv, closeFn, err := offlineServer(ctx, configFile, stateFile)
	if err != nil {
		return nil, err
	}
	name := "the state file"
	switch {
	case stateFile != "":
		name = "state file " + stateFile
	case configFile != "":
		name = "the state file of " + configFile
	}
	return &apiClient{
		base:   "http://local",
		name:   name,
		http:   &http.Client{Transport: handlerTransport{srv.LocalHandler("local:" + operatorName())}},
		closer: closeFn,
	}, nil
}

// operatorName names the local operator in the audit log.
func operatorName() string {
	if u, err := user.Current(); err == nil && u.Username != "" {
		return u.Username
	}
	return firstNonEmpty(os.Getenv("USER"), os.Getenv("USERNAME"), "unknown")
}

// Close releases what the client holds.
func (c *apiClient) Close() {
	if c.closer != nil {
		c.closer()
		c.closer = nil
	}
}

// handlerTransport answers requests by calling a handler in process.
type handlerTransport struct{ h http.Handler }

func (t handlerTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	sr := r.Clone(r.Context())
	sr.RequestURI = r.URL.RequestURI()
	sr.RemoteAddr = "127.0.0.1:0"
	if sr.Body == nil {
		sr.Body = http.NoBody
	}
	w := &memResponse{header: http.Header{}}
	t.h.ServeHTTP(w, sr)
	if w.code == 0 {
		w.code = http.StatusOK
	}
	return &http.Response{
		Status:        strconv.Itoa(w.code) + " " + http.StatusText(w.code),
		StatusCode:    w.code,
		Proto:         "HTTP/1.1",
		ProtoMajor:    1,
		ProtoMinor:    1,
		Header:        w.header,
		Body:          io.NopCloser(bytes.NewReader(w.body.Bytes())),
		ContentLength: int64(w.body.Len()),
		Request:       r,
	}, nil
}

// memResponse is an http.ResponseWriter that keeps the answer in memory.
type memResponse struct {
	header http.Header
	code   int
	body   bytes.Buffer
}

func (m *memResponse) Header() http.Header { return m.header }

func (m *memResponse) WriteHeader(code int) {
	if m.code == 0 {
		m.code = code
	}
}

func (m *memResponse) Write(b []byte) (int, error) {
	m.WriteHeader(http.StatusOK)
	return m.body.Write(b)
}

// apiError is an error answer of the admin API.
type apiError struct {
	Method string
	Path   string
	Status int
	Items  []admin.ErrorItem
	// Body is the start of a body that is not an error document.
	Body string
}

func (e *apiError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s: %d %s", e.Method, e.Path, e.Status, http.StatusText(e.Status))
	details := make([]string, 0, len(e.Items))
	for _, it := range e.Items {
		d := it.Detail
		if it.Source != nil && it.Source.Pointer != "" {
			d += " (at " + it.Source.Pointer + ")"
		} else if it.Source != nil && it.Source.Parameter != "" {
			d += " (parameter " + it.Source.Parameter + ")"
		}
		if d != "" {
			details = append(details, d)
		}
	}
	switch {
	case len(details) == 1:
		b.WriteString(": " + details[0])
	case len(details) > 1:
		for _, d := range details {
			b.WriteString("\n  " + d)
		}
	case e.Body != "":
		b.WriteString(": " + e.Body)
	}
	if e.Status == http.StatusUnauthorized {
		b.WriteString(" (check --api-key and --api-secret, or --token; `kafka-auth-proxy login` stores them)")
	}
	return b.String()
}

// request is one call of the API.
type request struct {
	method string
	// path starts with a slash; its variable segments are escaped (see
	// pathOf).
	path  string
	query url.Values
	// ifVersion, when not 0, is sent as If-Match.
	ifVersion uint64
	// body is encoded as JSON; nil sends none.
	body any
}

// response is an answer: its status and body.
type response struct {
	status int
	body   []byte
}

// do sends req and returns a 2xx answer; any other is an *apiError.
func (c *apiClient) do(ctx context.Context, req request) (*response, error) {
	u := c.base + req.path
	if len(req.query) > 0 {
		u += "?" + req.query.Encode()
	}
	var body io.Reader
	if req.body != nil {
		b, err := json.Marshal(req.body)
		if err != nil {
			return nil, fmt.Errorf("%s %s: %w", req.method, req.path, err)
		}
		body = bytes.NewReader(b)
	}
	hr, err := http.NewRequestWithContext(ctx, req.method, u, body)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", req.method, req.path, err)
	}
	hr.Header.Set("Accept", "application/json")
	hr.Header.Set("User-Agent", "kafka-auth-proxy-cli/"+version)
	if req.body != nil {
		hr.Header.Set("Content-Type", "application/json")
	}
	if c.auth != "" {
		hr.Header.Set("Authorization", c.auth)
	}
	if req.ifVersion != 0 {
		hr.Header.Set("If-Match", strconv.Quote(strconv.FormatUint(req.ifVersion, 10)))
	}
	resp, err := c.http.Do(hr)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return nil, fmt.Errorf("cannot reach the admin API at %s: %w", c.name, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes+1))
	if err != nil {
		return nil, fmt.Errorf("%s %s at %s: reading the answer: %w", req.method, req.path, c.name, err)
	}
	if len(data) > maxResponseBytes {
		return nil, fmt.Errorf("%s %s at %s: the answer is larger than %d bytes", req.method, req.path, c.name, maxResponseBytes)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		e := &apiError{Method: req.method, Path: req.path, Status: resp.StatusCode}
		var eb admin.ErrorBody
		if json.Unmarshal(data, &eb) == nil && len(eb.Errors) > 0 {
			e.Items = eb.Errors
		} else {
			e.Body = sanitize(truncate(strings.TrimSpace(string(data)), 200))
		}
		return nil, e
	}
	return &response{status: resp.StatusCode, body: data}, nil
}

// get decodes the answer of a GET into out and returns its raw JSON.
func (c *apiClient) get(ctx context.Context, path string, query url.Values, out any) (json.RawMessage, error) {
	return c.call(ctx, request{method: http.MethodGet, path: path, query: query}, out)
}

// call sends req and decodes a JSON answer into out (when not nil),
// returning the raw JSON; an empty answer is nil.
func (c *apiClient) call(ctx context.Context, req request, out any) (json.RawMessage, error) {
	resp, err := c.do(ctx, req)
	if err != nil {
		return nil, err
	}
	if len(bytes.TrimSpace(resp.body)) == 0 {
		return nil, nil
	}
	if !json.Valid(resp.body) {
		return nil, fmt.Errorf("%s %s at %s: the answer is not JSON: %s", req.method, req.path, c.name, sanitize(truncate(string(resp.body), 200)))
	}
	if out != nil {
		if err := json.Unmarshal(resp.body, out); err != nil {
			return nil, fmt.Errorf("%s %s at %s: unexpected answer: %w", req.method, req.path, c.name, err)
		}
	}
	return json.RawMessage(resp.body), nil
}

// pageSize is the page size the CLI asks for: the API's maximum.
const pageSize = 100

// maxPages bounds the pages of one list, against a server that never
// ends one.
const maxPages = 100000

// listAll returns every item of a list, following metadata.next to the
// last page.
func (c *apiClient) listAll(ctx context.Context, path string, query url.Values) ([]json.RawMessage, error) {
	q := url.Values{}
	for k, v := range query {
		q[k] = v
	}
	q.Set("page_size", strconv.Itoa(pageSize))
	items := []json.RawMessage{}
	seen := map[string]bool{}
	for range maxPages {
		var page admin.List[json.RawMessage]
		if _, err := c.get(ctx, path, q, &page); err != nil {
			return nil, err
		}
		items = append(items, page.Data...)
		if page.Metadata.Next == "" {
			return items, nil
		}
		token, err := pageToken(page.Metadata.Next)
		if err != nil {
			return nil, fmt.Errorf("GET %s at %s: %w", path, c.name, err)
		}
		if seen[token] {
			return nil, fmt.Errorf("GET %s at %s: the page token %q came back twice", path, c.name, token)
		}
		seen[token] = true
		q.Set("page_token", token)
	}
	return nil, fmt.Errorf("GET %s at %s: more than %d pages", path, c.name, maxPages)
}

// pageToken is the page_token of a metadata.next URL.
func pageToken(next string) (string, error) {
	u, err := url.Parse(next)
	if err != nil {
		return "", fmt.Errorf("metadata.next %q: %w", next, err)
	}
	token := u.Query().Get("page_token")
	if token == "" {
		return "", fmt.Errorf("metadata.next %q has no page_token", next)
	}
	return token, nil
}

// decodeAll decodes raw list items into values of T.
func decodeAll[T any](items []json.RawMessage) ([]T, error) {
	out := make([]T, 0, len(items))
	for _, raw := range items {
		var v T
		if err := json.Unmarshal(raw, &v); err != nil {
			return nil, fmt.Errorf("unexpected list item %s: %w", truncate(string(raw), 100), err)
		}
		out = append(out, v)
	}
	return out, nil
}

// pathOf joins a route and escaped ids: pathOf("/iam/v2/users", id).
func pathOf(route string, ids ...string) (string, error) {
	p := route
	for _, id := range ids {
		if id == "" || id == "." || id == ".." {
			return "", fmt.Errorf("%q is not an id", id)
		}
		p += "/" + url.PathEscape(id)
	}
	return p, nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
