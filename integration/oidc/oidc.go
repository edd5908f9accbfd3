// Package oidc starts a real OpenID Connect provider for integration tests,
// without Docker: the certified Node.js `oidc-provider` package (pinned in
// package.json / package-lock.json beside this file) behind a small server
// script, server.mjs.
//
// Start installs the package with `npm ci` into this folder's node_modules
// when it is missing or stale (npm's cache under ~/.npm is reused), runs
// `node server.mjs` on a free port on 127.0.0.1 and waits for the discovery
// document. The provider issues RS256-signed JWT access tokens (header typ
// "at+jwt" with a kid that is in the JWKS) through the OAuth 2.0
// client-credentials grant, with claims:
//
//	iss        Provider.Issuer (http://127.0.0.1:PORT)
//	aud        Options.Audience ("kafka" by default)
//	sub        the client id (client_id carries it too)
//	iat, exp   exp = iat + Options.TokenTTL (5 minutes by default)
//	jti        unique per token
//	groups     the client's Groups (absent when the client has none)
//
// Keycloak (org.keycloak:keycloak-quarkus-dist) was the first choice, but it
// needs Java 21+, which Debian's packages here do not provide; hence Node.
//
// The clients in DefaultClients are registered unless Options.Clients says
// otherwise:
//
//	payments-app  / payments-secret   groups ["payments"]
//	analytics-app / analytics-secret  groups ["analytics"]
//	nogroups-app  / nogroups-secret   no groups claim
//
// Typical use in a test:
//
//	p := oidc.StartT(t, oidc.Options{})
//	tok, err := p.Token(ctx, oidc.PaymentsClientID, oidc.PaymentsClientSecret)
//	// point the proxy at p.Issuer / p.JWKSURI, send tok over SASL/OAUTHBEARER
//
// The node process runs in its own process group, which Stop signals
// (SIGTERM, then SIGKILL), and gets SIGKILL from the kernel if the test
// process dies first (Pdeathsig). Its output goes to Provider.LogFile in a
// temporary directory that Stop removes (or the next Start, if the test
// process was killed); StartT prints the log's tail when the test failed.
// The signing key is generated at each start.
package oidc

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/kafka-auth-proxy/kafka-auth-proxy/integration/npmproject"
)

// Credentials of the default clients. They are test fixtures, not secrets.
const (
	PaymentsClientID      = "payments-app"
	PaymentsClientSecret  = "payments-secret"
	AnalyticsClientID     = "analytics-app"
	AnalyticsClientSecret = "analytics-secret"
	NoGroupsClientID      = "nogroups-app"
	NoGroupsClientSecret  = "nogroups-secret"
)

// DefaultAudience is the aud claim of access tokens when Options.Audience is
// empty.
const DefaultAudience = "kafka"

// DefaultTokenTTL is the access token lifetime when Options.TokenTTL is zero.
const DefaultTokenTTL = 5 * time.Minute

// Client is a confidential client registered for the client-credentials
// grant (client_secret_basic authentication).
type Client struct {
	ID     string
	Secret string
	// Groups is the groups claim of the client's access tokens; nil or empty
	// means no groups claim.
	Groups []string
}

// DefaultClients returns the clients registered when Options.Clients is nil.
func DefaultClients() []Client {
	return []Client{
		{ID: PaymentsClientID, Secret: PaymentsClientSecret, Groups: []string{"payments"}},
		{ID: AnalyticsClientID, Secret: AnalyticsClientSecret, Groups: []string{"analytics"}},
		{ID: NoGroupsClientID, Secret: NoGroupsClientSecret},
	}
}

// Options configures a Provider. The zero value is usable.
type Options struct {
	// Audience is the aud claim of access tokens; DefaultAudience if empty.
	Audience string
	// TokenTTL is the access token lifetime, rounded down to whole seconds
	// (at least 1); DefaultTokenTTL if zero.
	TokenTTL time.Duration
	// Clients are the registered clients; DefaultClients() if nil.
	Clients []Client
	// StartTimeout bounds npm ci plus startup; 3 minutes if zero. The
	// context given to Start bounds it too.
	StartTimeout time.Duration
}

// Provider is a running OIDC provider.
type Provider struct {
	// Issuer is the iss claim and the base of every endpoint, e.g.
	// http://127.0.0.1:41234.
	Issuer string
	// DiscoveryURL is Issuer + "/.well-known/openid-configuration".
	DiscoveryURL string
	// JWKSURI serves the public signing keys (jwks_uri of the discovery
	// document).
	JWKSURI string
	// TokenURL is the token endpoint (client-credentials grant).
	TokenURL string
	// Audience is the aud claim of access tokens.
	Audience string
	// TokenTTL is the lifetime of access tokens.
	TokenTTL time.Duration
	// KeyID is the kid of the RS256 signing key.
	KeyID string
	// Clients are the registered clients.
	Clients []Client
	// LogFile is the provider's stdout and stderr; it is removed by Stop.
	LogFile string

	dir      string
	cmd      *exec.Cmd
	exited   chan struct{} // closed when cmd.Wait returns
	waitErr  error         // set before exited is closed
	stopOnce sync.Once
	stopErr  error
}

// sourceDir is the folder holding this file, server.mjs and package.json.
func sourceDir() (string, error) {
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		return "", errors.New("oidc: cannot locate the package source folder")
	}
	return filepath.Dir(file), nil
}

// StartT starts a provider, or fails the test (it never skips), and stops it
// when the test ends. If the test failed, the tail of the provider's log is
// printed first.
func StartT(t testing.TB, opts Options) *Provider {
	t.Helper()
	p, err := Start(context.Background(), opts)
	if err != nil {
		t.Fatalf("starting the OIDC provider: %v", err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("OIDC provider log (%s), last lines:\n%s", p.LogFile, tailFile(p.LogFile, 4096))
		}
		if err := p.Stop(); err != nil {
			t.Errorf("stopping the OIDC provider: %v", err)
		}
	})
	return p
}

// Start installs the provider if needed, starts it on a free loopback port
// and waits until it serves its discovery document. Stop must be called to
// end it.
func Start(ctx context.Context, opts Options) (*Provider, error) {
	if opts.Audience == "" {
		opts.Audience = DefaultAudience
	}
	if opts.TokenTTL == 0 {
		opts.TokenTTL = DefaultTokenTTL
	}
	ttlSeconds := int64(opts.TokenTTL / time.Second)
	if ttlSeconds < 1 {
		return nil, fmt.Errorf("oidc: TokenTTL %v is under one second", opts.TokenTTL)
	}
	if opts.Clients == nil {
		opts.Clients = DefaultClients()
	}
	if opts.StartTimeout == 0 {
		opts.StartTimeout = 3 * time.Minute
	}
	ctx, cancel := context.WithTimeout(ctx, opts.StartTimeout)
	defer cancel()

	src, err := sourceDir()
	if err != nil {
		return nil, err
	}
	if err := npmproject.EnsureInstalled(ctx, src); err != nil {
		return nil, fmt.Errorf("oidc: %w", err)
	}
	node, err := exec.LookPath("node")
	if err != nil {
		return nil, fmt.Errorf("oidc: finding node (Node.js 20+ is needed): %w", err)
	}

	removeStaleDirs()
	dir, err := os.MkdirTemp("", workDirPrefix+"*")
	if err != nil {
		return nil, fmt.Errorf("oidc: creating a work dir: %w", err)
	}
	p := &Provider{
		Audience: opts.Audience,
		TokenTTL: time.Duration(ttlSeconds) * time.Second,
		Clients:  opts.Clients,
		LogFile:  filepath.Join(dir, "provider.log"),
		dir:      dir,
		exited:   make(chan struct{}),
	}
	if err := p.start(ctx, node, src, ttlSeconds); err != nil {
		if stopErr := p.Stop(); stopErr != nil {
			err = errors.Join(err, stopErr)
		}
		return nil, err
	}
	return p, nil
}

type serverClient struct {
	ClientID     string   `json:"client_id"`
	ClientSecret string   `json:"client_secret"`
	Groups       []string `json:"groups,omitempty"`
}

type serverConfig struct {
	Host           string         `json:"host"`
	Port           int            `json:"port"`
	Audience       string         `json:"audience"`
	AccessTokenTTL int64          `json:"accessTokenTTL"`
	ReadyFile      string         `json:"readyFile"`
	Clients        []serverClient `json:"clients"`
}

func (p *Provider) start(ctx context.Context, node, src string, ttlSeconds int64) error {
	cfg := serverConfig{
		Host:           "127.0.0.1",
		Audience:       p.Audience,
		AccessTokenTTL: ttlSeconds,
		ReadyFile:      filepath.Join(p.dir, "ready.json"),
	}
	for _, c := range p.Clients {
		if c.ID == "" || c.Secret == "" {
			return fmt.Errorf("oidc: client %q needs an ID and a secret", c.ID)
		}
		cfg.Clients = append(cfg.Clients, serverClient{ClientID: c.ID, ClientSecret: c.Secret, Groups: c.Groups})
	}
	cfgJSON, err := json.MarshalIndent(cfg, "", "  ")
	if err != nil {
		return fmt.Errorf("oidc: encoding the server config: %w", err)
	}
	cfgPath := filepath.Join(p.dir, "config.json")
	if err := os.WriteFile(cfgPath, cfgJSON, 0o600); err != nil {
		return fmt.Errorf("oidc: writing the server config: %w", err)
	}
	logf, err := os.Create(p.LogFile)
	if err != nil {
		return fmt.Errorf("oidc: creating the log file: %w", err)
	}
	defer logf.Close() // the child has its own copy

	cmd := exec.Command(node, filepath.Join(src, "server.mjs"), cfgPath)
	cmd.Dir = src
	cmd.Stdout = logf
	cmd.Stderr = logf
	// Own process group, so Stop reaches anything node spawns; SIGKILL when
	// the test process dies, so the provider never outlives it.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("oidc: starting %s: %w", node, err)
	}
	p.cmd = cmd
	pidFile := filepath.Join(p.dir, "pid")
	if err := os.WriteFile(pidFile, []byte(strconv.Itoa(cmd.Process.Pid)), 0o600); err != nil {
		return fmt.Errorf("oidc: writing %s: %w", pidFile, err)
	}
	go func() {
		p.waitErr = cmd.Wait()
		close(p.exited)
	}()

	ready, err := p.waitReady(ctx, cfg.ReadyFile)
	if err != nil {
		return err
	}
	p.Issuer = ready.Issuer
	p.KeyID = ready.Kid
	p.DiscoveryURL = p.Issuer + "/.well-known/openid-configuration"

	var disc struct {
		Issuer        string `json:"issuer"`
		JWKSURI       string `json:"jwks_uri"`
		TokenEndpoint string `json:"token_endpoint"`
	}
	if err := getJSON(ctx, p.DiscoveryURL, &disc); err != nil {
		return fmt.Errorf("oidc: reading the discovery document: %w (log tail: %s)", err, tailFile(p.LogFile, 1024))
	}
	if disc.Issuer != p.Issuer || disc.JWKSURI == "" || disc.TokenEndpoint == "" {
		return fmt.Errorf("oidc: unexpected discovery document: issuer %q (want %q), jwks_uri %q, token_endpoint %q",
			disc.Issuer, p.Issuer, disc.JWKSURI, disc.TokenEndpoint)
	}
	p.JWKSURI = disc.JWKSURI
	p.TokenURL = disc.TokenEndpoint
	return nil
}

type readyInfo struct {
	Issuer string `json:"issuer"`
	Kid    string `json:"kid"`
}

// waitReady waits for server.mjs to write its ready file (it does so once it
// listens), failing early if the process exits.
func (p *Provider) waitReady(ctx context.Context, path string) (readyInfo, error) {
	tick := time.NewTicker(25 * time.Millisecond)
	defer tick.Stop()
	for {
		b, err := os.ReadFile(path)
		if err == nil {
			var r readyInfo
			if err := json.Unmarshal(b, &r); err != nil {
				return r, fmt.Errorf("oidc: parsing %s: %w", path, err)
			}
			if !strings.HasPrefix(r.Issuer, "http://127.0.0.1:") {
				return r, fmt.Errorf("oidc: provider reported a non-loopback issuer %q", r.Issuer)
			}
			return r, nil
		}
		if !errors.Is(err, os.ErrNotExist) {
			return readyInfo{}, fmt.Errorf("oidc: reading %s: %w", path, err)
		}
		select {
		case <-p.exited:
			return readyInfo{}, fmt.Errorf("oidc: provider exited before it was ready (%v); log tail:\n%s",
				p.waitErr, tailFile(p.LogFile, 2048))
		case <-ctx.Done():
			return readyInfo{}, fmt.Errorf("oidc: waiting for the provider to start: %w; log tail:\n%s",
				ctx.Err(), tailFile(p.LogFile, 2048))
		case <-tick.C:
		}
	}
}

// Stop ends the provider's process group (SIGTERM, then SIGKILL after 5s)
// and removes its work dir, log included. It is idempotent.
func (p *Provider) Stop() error {
	p.stopOnce.Do(func() {
		var errs []error
		if p.cmd != nil {
			pgid := p.cmd.Process.Pid
			if err := syscall.Kill(-pgid, syscall.SIGTERM); err != nil && !errors.Is(err, syscall.ESRCH) {
				errs = append(errs, fmt.Errorf("oidc: SIGTERM to process group %d: %w", pgid, err))
			}
			select {
			case <-p.exited:
			case <-time.After(5 * time.Second):
				if err := syscall.Kill(-pgid, syscall.SIGKILL); err != nil && !errors.Is(err, syscall.ESRCH) {
					errs = append(errs, fmt.Errorf("oidc: SIGKILL to process group %d: %w", pgid, err))
				}
				<-p.exited
			}
			// Make sure nothing of the group is left (node spawns no
			// children, but be thorough); ESRCH is the expected answer.
			_ = syscall.Kill(-pgid, syscall.SIGKILL)
		}
		if p.dir != "" {
			if err := os.RemoveAll(p.dir); err != nil {
				errs = append(errs, fmt.Errorf("oidc: removing %s: %w", p.dir, err))
			}
		}
		p.stopErr = errors.Join(errs...)
	})
	return p.stopErr
}

// TokenError is an error response of the token endpoint (RFC 6749 §5.2).
type TokenError struct {
	Status      int
	Code        string // e.g. "invalid_client"
	Description string
}

func (e *TokenError) Error() string {
	return fmt.Sprintf("oidc: token endpoint answered %d %s: %s", e.Status, e.Code, e.Description)
}

// Token performs the client-credentials grant and returns the access token,
// an RS256-signed JWT. A rejected request gives a *TokenError.
func (p *Provider) Token(ctx context.Context, clientID, clientSecret string) (string, error) {
	form := url.Values{"grant_type": {"client_credentials"}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, p.TokenURL, strings.NewReader(form.Encode()))
	if err != nil {
		return "", fmt.Errorf("oidc: building the token request: %w", err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	// RFC 6749 §2.3.1: id and secret are form-urlencoded before Basic.
	req.SetBasicAuth(url.QueryEscape(clientID), url.QueryEscape(clientSecret))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", fmt.Errorf("oidc: token request for %s: %w", clientID, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return "", fmt.Errorf("oidc: reading the token response for %s: %w", clientID, err)
	}
	var out struct {
		AccessToken      string `json:"access_token"`
		TokenType        string `json:"token_type"`
		Error            string `json:"error"`
		ErrorDescription string `json:"error_description"`
	}
	if err := json.Unmarshal(body, &out); err != nil {
		return "", fmt.Errorf("oidc: parsing the token response for %s (status %d): %w", clientID, resp.StatusCode, err)
	}
	if resp.StatusCode != http.StatusOK || out.Error != "" {
		return "", &TokenError{Status: resp.StatusCode, Code: out.Error, Description: out.ErrorDescription}
	}
	if out.AccessToken == "" {
		return "", fmt.Errorf("oidc: token response for %s has no access_token", clientID)
	}
	return out.AccessToken, nil
}

// JWKS returns the provider's JSON Web Key Set as served at JWKSURI.
func (p *Provider) JWKS(ctx context.Context) ([]byte, error) {
	var raw json.RawMessage
	if err := getJSON(ctx, p.JWKSURI, &raw); err != nil {
		return nil, fmt.Errorf("oidc: fetching the JWKS: %w", err)
	}
	return raw, nil
}

func getJSON(ctx context.Context, u string, v any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return fmt.Errorf("building GET %s: %w", u, err)
	}
	req.Header.Set("Accept", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("GET %s: %w", u, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return fmt.Errorf("reading GET %s: %w", u, err)
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: status %d: %.200s", u, resp.StatusCode, body)
	}
	if err := json.Unmarshal(body, v); err != nil {
		return fmt.Errorf("parsing GET %s: %w", u, err)
	}
	return nil
}

// workDirPrefix names each provider's work dir under os.TempDir().
const workDirPrefix = "kafka-auth-proxy-oidc-"

// removeStaleDirs removes the work dirs of providers whose test process was
// killed before Stop ran (Pdeathsig ended node, but the dir stayed): those
// whose recorded pid is gone, or that never got a pid and are over an hour
// old. Errors are ignored: this is housekeeping.
func removeStaleDirs() {
	dirs, _ := filepath.Glob(filepath.Join(os.TempDir(), workDirPrefix+"*"))
	for _, d := range dirs {
		b, err := os.ReadFile(filepath.Join(d, "pid"))
		if err != nil {
			if st, err := os.Stat(d); err == nil && st.IsDir() && time.Since(st.ModTime()) > time.Hour {
				_ = os.RemoveAll(d)
			}
			continue
		}
		pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
		if err != nil || pid <= 0 {
			continue
		}
		if err := syscall.Kill(pid, 0); errors.Is(err, syscall.ESRCH) {
			_ = os.RemoveAll(d)
		}
	}
}

// tailFile returns up to the last n bytes of a file, for error messages.
func tailFile(path string, n int64) string {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Sprintf("(cannot read %s: %v)", path, err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return fmt.Sprintf("(cannot stat %s: %v)", path, err)
	}
	off := st.Size() - n
	if off < 0 {
		off = 0
	}
	b := make([]byte, st.Size()-off)
	if _, err := f.ReadAt(b, off); err != nil && !errors.Is(err, io.EOF) {
		return fmt.Sprintf("(cannot read %s: %v)", path, err)
	}
	return string(b)
}
