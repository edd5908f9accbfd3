package oauth

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// A provider registered through the admin API may make the proxy fetch
// only the URLs its operators allowed: not cloud metadata, not files, not
// look-alike hosts, not plain http unless listed (CVE-2025-27817 is what
// an unchecked provider URL leads to).
func TestURLPolicy(t *testing.T) {
	p, err := NewURLPolicy([]string{"https://login.example.com/realms/", "http://127.0.0.1:8080"})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		url     string
		allowed bool
	}{
		{"https://login.example.com/realms/kafka", true},
		{"https://login.example.com/realms/kafka/protocol/openid-connect/certs", true},
		{"https://LOGIN.example.com/realms/kafka", true},
		{"https://login.example.com/realms", true},
		{"https://login.example.com/realmsX/kafka", false},
		{"https://login.example.com/other", false},
		{"http://login.example.com/realms/kafka", false},
		{"https://login.example.com.evil.com/realms/kafka", false},
		{"https://login.example.com:8443/realms/kafka", false},
		{"https://user:pw@login.example.com/realms/kafka", false},
		{"http://169.254.169.254/latest/meta-data/", false},
		{"file:///etc/passwd", false},
		{"http://127.0.0.1:8080/jwks", true},
		{"https://127.0.0.1:8080/jwks", false},
		{"http://127.0.0.1:8081/jwks", false},
		{"/relative", false},
	} {
		err := p.Check(tc.url)
		if (err == nil) != tc.allowed {
			t.Errorf("Check(%q) = %v; want allowed %v", tc.url, err, tc.allowed)
		}
		if err != nil && !errors.Is(err, ErrURLNotAllowed) {
			t.Errorf("Check(%q) = %v; want ErrURLNotAllowed", tc.url, err)
		}
	}
	if err := p.Check("https://user:hunter2@login.example.com/realms/x"); err == nil || strings.Contains(err.Error(), "hunter2") {
		t.Errorf("a URL with a password: %v; want a refusal that does not repeat the password", err)
	}
	if _, err := NewURLPolicy([]string{"ftp://x"}); err == nil {
		t.Error("an ftp prefix was accepted")
	}
	none, _ := NewURLPolicy(nil)
	if err := none.Check("https://login.example.com/"); err == nil {
		t.Error("an empty policy allowed a URL")
	}
}

// The policy's transport refuses a redirect to a URL it does not allow,
// so that an allowed provider cannot bounce the proxy elsewhere.
func TestURLPolicyFollowsRedirects(t *testing.T) {
	inner := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.Write([]byte("secret")) }))
	defer inner.Close()
	outer := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, inner.URL+"/metadata", http.StatusFound)
	}))
	defer outer.Close()
	p, err := NewURLPolicy([]string{outer.URL})
	if err != nil {
		t.Fatal(err)
	}
	c := &http.Client{Transport: p.Transport(nil)}
	_, err = c.Get(outer.URL + "/.well-known/openid-configuration")
	if err == nil || !strings.Contains(err.Error(), "not allowed") {
		t.Fatalf("the redirect to %s was followed: %v", inner.URL, err)
	}
}
