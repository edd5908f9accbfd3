//go:build integration

package deploy

import (
	"archive/zip"
	"context"
	"crypto/sha1"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Keycloak comes from Maven Central as the distribution zip of the release
// that docker-compose.yml runs, and needs Java 21 or later.
const (
	mavenCentral       = "https://repo1.maven.org/maven2"
	keycloakImage      = "quay.io/keycloak/keycloak"
	keycloakMinJava    = 21
	keycloakStartLimit = 3 * time.Minute
)

// TestRealKeycloakIssuesTokensTheStackAccepts runs a real Keycloak with the
// stack's realm and the Compose file's Keycloak settings, and checks that
// the tokens it issues to the demo client carry what the proxy expects
// (issuer, audience, groups) and that the stack's proxy, trusting that
// Keycloak, lets them use the demo- prefix and nothing else.
//
// Keycloak is downloaded once into ~/.cache/kafka-auth-proxy and unpacked
// afresh for every run, so that the realm is imported anew. The test is
// skipped when no Java 21+ runtime is found (JAVA_HOME, java on PATH, or
// /usr/lib/jvm).
func TestRealKeycloakIssuesTokensTheStackAccepts(t *testing.T) {
	javaHome := findJava(t, keycloakMinJava)
	compose := loadCompose(t)
	kc := compose.service(t, keycloakService)
	version, ok := strings.CutPrefix(kc.Image, keycloakImage+":")
	if !ok {
		t.Fatalf("keycloak image %q is not %s:<version>", kc.Image, keycloakImage)
	}
	home := unpackKeycloak(t, downloadKeycloak(t, version))
	if err := os.MkdirAll(filepath.Join(home, "data", "import"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(home, "data", "import", "kafka-realm.json"), readRepoFile(t, realmFile), 0o644); err != nil {
		t.Fatal(err)
	}

	// The Compose file's settings, on free ports: the front-end URL (the
	// issuer) is localhost, as for clients on the Docker host.
	httpPort, mgmtPort := freePort(t), freePort(t)
	frontend := "http://localhost:" + strconv.Itoa(httpPort)
	var env []string
	for k, v := range kc.Environment {
		if k == "KC_HOSTNAME" {
			if v != KeycloakURL {
				t.Fatalf("KC_HOSTNAME %s is not KeycloakURL %s", v, KeycloakURL)
			}
			v = frontend
		}
		env = append(env, k+"="+v)
	}
	env = append(env, "JAVA_HOME="+javaHome,
		"KC_HTTP_PORT="+strconv.Itoa(httpPort), "KC_HTTP_MANAGEMENT_PORT="+strconv.Itoa(mgmtPort))
	startKeycloak(t, home, env, kc.Command, mgmtPort)

	// Clients on the host ask at the front-end URL; the proxy, on the
	// compose network, at another name (here 127.0.0.1). The issuer is
	// the front-end URL either way.
	issuer := strings.Replace(Issuer, KeycloakURL, frontend, 1)
	var tokens []string
	for _, base := range []string{frontend, "http://127.0.0.1:" + strconv.Itoa(httpPort)} {
		endpoint := strings.Replace(TokenEndpoint, KeycloakURL, base, 1)
		tok := clientCredentialsToken(t, endpoint, ClientID, ClientSecret)
		claims := jwtClaims(t, tok)
		if claims["iss"] != issuer {
			t.Errorf("token from %s: iss %v, want %s", endpoint, claims["iss"], issuer)
		}
		if !claimHas(claims["aud"], Audience) {
			t.Errorf("token from %s: aud %v lacks %s", endpoint, claims["aud"], Audience)
		}
		if !claimHas(claims["groups"], Group) {
			t.Errorf("token from %s: groups %v lacks %s", endpoint, claims["groups"], Group)
		}
		if claims["azp"] != ClientID {
			t.Errorf("token from %s: azp %v, want %s (the pool's identity claim)", endpoint, claims["azp"], ClientID)
		}
		tokens = append(tokens, tok)
	}
	if bad := clientCredentialsStatus(t, strings.Replace(TokenEndpoint, KeycloakURL, frontend, 1), ClientID, "wrong"); bad != http.StatusUnauthorized {
		t.Errorf("a wrong client secret got HTTP %d, want 401", bad)
	}

	// The stack's proxy reads the keys at the back-channel address, as
	// jwks_uri does in the stack.
	jwks := strings.Replace(loadProxyConfig(t).OIDC.Providers[0].JWKSURI,
		"http://"+keycloakService+":8080", "http://127.0.0.1:"+strconv.Itoa(httpPort), 1)
	p := startStackProxyFor(t, issuer, jwks)
	p.demoTraffic(t, bearer(tokens[1]))
}

// findJava returns the home of a Java runtime of at least release min, or
// skips the test.
func findJava(t *testing.T, min int) string {
	t.Helper()
	var homes []string
	if h := os.Getenv("JAVA_HOME"); h != "" {
		homes = append(homes, h)
	}
	if java, err := exec.LookPath("java"); err == nil {
		if real, err := filepath.EvalSymlinks(java); err == nil {
			homes = append(homes, filepath.Dir(filepath.Dir(real)))
		}
	}
	jvms, _ := filepath.Glob("/usr/lib/jvm/*")
	homes = append(homes, jvms...)
	release := regexp.MustCompile(`version "(\d+)`)
	for _, h := range homes {
		out, err := exec.Command(filepath.Join(h, "bin", "java"), "-version").CombinedOutput()
		if err != nil {
			continue
		}
		if m := release.FindSubmatch(out); m != nil {
			if n, _ := strconv.Atoi(string(m[1])); n >= min {
				return h
			}
		}
	}
	t.Skipf("Keycloak needs Java %d or later; none found in JAVA_HOME, PATH or /usr/lib/jvm", min)
	return ""
}

// downloadKeycloak returns the distribution zip of version, downloading it
// into the cache the first time and checking it against Maven Central's
// SHA-1.
func downloadKeycloak(t *testing.T, version string) string {
	t.Helper()
	cache, err := os.UserCacheDir()
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(cache, "kafka-auth-proxy")
	name := "keycloak-quarkus-dist-" + version + ".zip"
	zipPath := filepath.Join(dir, name)
	if _, err := os.Stat(zipPath); err == nil {
		return zipPath
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	base := mavenCentral + "/org/keycloak/keycloak-quarkus-dist/" + version + "/" + name
	want := strings.Fields(string(httpGet(t, base+".sha1")))
	if len(want) == 0 {
		t.Fatalf("%s.sha1 is empty", base)
	}
	begin := time.Now()
	resp, err := http.Get(base)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s", base, resp.Status)
	}
	tmp, err := os.CreateTemp(dir, name+".*.part")
	if err != nil {
		t.Fatal(err)
	}
	defer os.Remove(tmp.Name())
	h := sha1.New()
	if _, err := io.Copy(io.MultiWriter(tmp, h), resp.Body); err != nil {
		t.Fatal(err)
	}
	if err := tmp.Close(); err != nil {
		t.Fatal(err)
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != want[0] {
		t.Fatalf("%s: SHA-1 %s, want %s", base, got, want[0])
	}
	if err := os.Rename(tmp.Name(), zipPath); err != nil {
		t.Fatal(err)
	}
	t.Logf("downloaded %s in %v", name, time.Since(begin).Round(time.Millisecond))
	return zipPath
}

// unpackKeycloak unpacks the zip into a fresh folder and returns
// Keycloak's home.
func unpackKeycloak(t *testing.T, zipPath string) string {
	t.Helper()
	r, err := zip.OpenReader(zipPath)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	dest := t.TempDir()
	home := ""
	for _, f := range r.File {
		target := filepath.Join(dest, filepath.FromSlash(f.Name))
		if !strings.HasPrefix(target, dest+string(filepath.Separator)) {
			t.Fatalf("%s: entry %q leaves the folder", zipPath, f.Name)
		}
		if home == "" {
			home = filepath.Join(dest, strings.SplitN(f.Name, "/", 2)[0])
		}
		if f.FileInfo().IsDir() {
			if err := os.MkdirAll(target, 0o755); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := extract(f, target); err != nil {
			t.Fatal(err)
		}
	}
	return home
}

func extract(f *zip.File, target string) error {
	in, err := f.Open()
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(target, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, f.Mode().Perm()|0o600)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// startKeycloak runs bin/kc.sh with the Compose file's command and waits
// until the management port reports it ready. It is stopped when the test
// ends.
func startKeycloak(t *testing.T, home string, env, command []string, mgmtPort int) {
	t.Helper()
	logFile, err := os.Create(filepath.Join(t.TempDir(), "keycloak.log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(filepath.Join(home, "bin", "kc.sh"), command...)
	cmd.Dir = home
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	begin := time.Now()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(20 * time.Second):
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-exited
		}
		logFile.Close()
	})
	showLog := func() string {
		b, _ := os.ReadFile(logFile.Name())
		if len(b) > 8000 {
			b = b[len(b)-8000:]
		}
		return string(b)
	}
	ready := fmt.Sprintf("http://127.0.0.1:%d/health/ready", mgmtPort)
	ctx, cancel := context.WithTimeout(context.Background(), keycloakStartLimit)
	defer cancel()
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, ready, nil)
		if resp, err := http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				t.Logf("Keycloak ready in %v", time.Since(begin).Round(time.Second))
				return
			}
		}
		select {
		case <-exited:
			t.Fatalf("Keycloak exited:\n%s", showLog())
		case <-ctx.Done():
			t.Fatalf("Keycloak did not become ready within %v:\n%s", keycloakStartLimit, showLog())
		case <-time.After(500 * time.Millisecond):
		}
	}
}

func httpGet(t *testing.T, u string) []byte {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s %v", u, resp.Status, err)
	}
	return b
}

func postClientCredentials(t *testing.T, endpoint, id, secret string) *http.Response {
	t.Helper()
	resp, err := http.PostForm(endpoint, url.Values{
		"grant_type": {"client_credentials"}, "client_id": {id}, "client_secret": {secret},
	})
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

// clientCredentialsToken gets an access token with the client-credentials
// grant.
func clientCredentialsToken(t *testing.T, endpoint, id, secret string) string {
	t.Helper()
	resp := postClientCredentials(t, endpoint, id, secret)
	defer resp.Body.Close()
	var body struct {
		AccessToken string `json:"access_token"`
		Error       string `json:"error_description"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil || body.AccessToken == "" {
		t.Fatalf("POST %s: %s %v %s", endpoint, resp.Status, err, body.Error)
	}
	return body.AccessToken
}

func clientCredentialsStatus(t *testing.T, endpoint, id, secret string) int {
	t.Helper()
	resp := postClientCredentials(t, endpoint, id, secret)
	resp.Body.Close()
	return resp.StatusCode
}

// jwtClaims decodes a JWT's claims without verifying it; the proxy
// verifies it in the test.
func jwtClaims(t *testing.T, tok string) map[string]any {
	t.Helper()
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWS: %d parts", len(parts))
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var claims map[string]any
	if err := json.Unmarshal(b, &claims); err != nil {
		t.Fatal(err)
	}
	return claims
}

// claimHas reports whether a claim is want or a list holding it.
func claimHas(claim any, want string) bool {
	switch c := claim.(type) {
	case string:
		return c == want
	case []any:
		return slices.Contains(c, any(want))
	}
	return false
}
