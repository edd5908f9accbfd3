package clients

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// These tests need no Kafka, Java or Python; clients_test.go (build tag
// integration) runs the clients for real.

func fakeTokenEndpoint(t *testing.T, handle func(w http.ResponseWriter, r *http.Request)) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(handle))
	t.Cleanup(srv.Close)
	return srv.URL + "/token"
}

func TestClientCredentialsTokenSendsTheGrant(t *testing.T) {
	url := fakeTokenEndpoint(t, func(w http.ResponseWriter, r *http.Request) {
		user, pass, ok := r.BasicAuth()
		if r.Method != http.MethodPost || !ok || user != "my%3Aapp" || pass != "s%26cret" {
			t.Errorf("request %s with basic auth %q/%q (%v), want POST my%%3Aapp/s%%26cret", r.Method, user, pass, ok)
		}
		if err := r.ParseForm(); err != nil {
			t.Error(err)
		}
		if got := r.PostForm.Get("grant_type"); got != "client_credentials" {
			t.Errorf("grant_type = %q", got)
		}
		if got := r.PostForm.Get("scope"); got != "kafka openid" {
			t.Errorf("scope = %q, want %q", got, "kafka openid")
		}
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"access_token":"tok-1","token_type":"Bearer","expires_in":300}`)
	})
	before := time.Now()
	tok, exp, err := ClientCredentialsToken(context.Background(), url, "my:app", "s&cret", "kafka", "openid")
	if err != nil {
		t.Fatal(err)
	}
	if tok != "tok-1" {
		t.Errorf("token = %q", tok)
	}
	if exp.Before(before.Add(299*time.Second)) || exp.After(time.Now().Add(301*time.Second)) {
		t.Errorf("expiry %v is not about 300 s from now", exp)
	}
}

func TestClientCredentialsTokenFallsBackToJWTExpiry(t *testing.T) {
	exp := time.Now().Add(90 * time.Second).Truncate(time.Second)
	payload := base64.RawURLEncoding.EncodeToString([]byte(fmt.Sprintf(`{"sub":"x","exp":%d}`, exp.Unix())))
	jwt := "eyJhbGciOiJub25lIn0." + payload + ".sig"
	url := fakeTokenEndpoint(t, func(w http.ResponseWriter, r *http.Request) {
		if r.FormValue("scope") != "" {
			t.Errorf("scope sent without scopes: %q", r.FormValue("scope"))
		}
		fmt.Fprintf(w, `{"access_token":%q,"token_type":"Bearer"}`, jwt)
	})
	tok, got, err := ClientCredentialsToken(context.Background(), url, "a", "b")
	if err != nil {
		t.Fatal(err)
	}
	if tok != jwt || !got.Equal(exp) {
		t.Errorf("got %q expiring %v, want the JWT expiring %v", tok, got, exp)
	}

	opaque := fakeTokenEndpoint(t, func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, `{"access_token":"opaque"}`)
	})
	if _, got, err := ClientCredentialsToken(context.Background(), opaque, "a", "b"); err != nil || !got.IsZero() {
		t.Errorf("opaque token without expires_in: expiry %v, err %v; want zero time, nil", got, err)
	}
}

func TestClientCredentialsTokenReportsRefusal(t *testing.T) {
	url := fakeTokenEndpoint(t, func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusUnauthorized)
		fmt.Fprint(w, `{"error":"invalid_client","error_description":"client authentication failed"}`)
	})
	_, _, err := ClientCredentialsToken(context.Background(), url, "a", "wrong")
	var te *TokenError
	if !errors.As(err, &te) || te.Status != 401 || te.Code != "invalid_client" || te.Description != "client authentication failed" {
		t.Fatalf("err = %#v, want a 401 invalid_client TokenError", err)
	}

	html := fakeTokenEndpoint(t, func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusBadGateway)
		fmt.Fprint(w, `<html>bad gateway</html>`)
	})
	_, _, err = ClientCredentialsToken(context.Background(), html, "a", "b")
	if !errors.As(err, &te) || te.Status != 502 || !strings.Contains(te.Description, "bad gateway") {
		t.Fatalf("err = %v, want a 502 TokenError quoting the body", err)
	}

	empty := fakeTokenEndpoint(t, func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, `{}`) })
	if _, _, err = ClientCredentialsToken(context.Background(), empty, "a", "b"); !errors.As(err, &te) {
		t.Fatalf("answer without access_token: err = %v, want a TokenError", err)
	}
}

func TestOAuthMechanismReusesTokenAndSendsExtensions(t *testing.T) {
	var fetches atomic.Int32
	url := fakeTokenEndpoint(t, func(w http.ResponseWriter, r *http.Request) {
		n := fetches.Add(1)
		fmt.Fprintf(w, `{"access_token":"tok-%d","expires_in":300}`, n)
	})
	mech := OAuthMechanism(url, "a", "b", map[string]string{"logicalCluster": "lkc-1", "identityPoolId": "pool-1"})
	if mech.Name() != "OAUTHBEARER" {
		t.Fatalf("mechanism %q", mech.Name())
	}
	for range 2 {
		_, first, err := mech.Authenticate(context.Background(), "broker:9092")
		if err != nil {
			t.Fatal(err)
		}
		want := "n,,\x01auth=Bearer tok-1\x01identityPoolId=pool-1\x01logicalCluster=lkc-1\x01\x01"
		if string(first) != want {
			t.Fatalf("initial response %q, want %q", first, want)
		}
	}
	if n := fetches.Load(); n != 1 {
		t.Errorf("%d token fetches for two logins with a 5-minute token, want 1", n)
	}
}

func TestJavaOAuthProps(t *testing.T) {
	p := JavaOAuthProps("http://127.0.0.1:1/token", "payments-app", `se"c\ret`, map[string]string{
		"logicalCluster": "lkc-1", "identityPoolId": "pool-1",
	})
	wantJAAS := `org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule required clientId="payments-app"` +
		` clientSecret="se\"c\\ret" extension_identityPoolId="pool-1" extension_logicalCluster="lkc-1";`
	want := map[string]string{
		"security.protocol":                                "SASL_PLAINTEXT",
		"sasl.mechanism":                                   "OAUTHBEARER",
		"sasl.login.callback.handler.class":                "org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginCallbackHandler",
		"sasl.oauthbearer.token.endpoint.url":              "http://127.0.0.1:1/token",
		"sasl.jaas.config":                                 wantJAAS,
		"-Dorg.apache.kafka.sasl.oauthbearer.allowed.urls": "http://127.0.0.1:1/token",
	}
	if len(p) != len(want) {
		t.Errorf("props %v, want %v", p, want)
	}
	for k, v := range want {
		if p[k] != v {
			t.Errorf("%s = %q, want %q", k, p[k], v)
		}
	}
	plain := JavaPlainProps("u", "p w")
	if got := plain["sasl.jaas.config"]; got != `org.apache.kafka.common.security.plain.PlainLoginModule required username="u" password="p w";` {
		t.Errorf("PLAIN jaas %q", got)
	}
}

func TestPythonConfigs(t *testing.T) {
	c := PythonOIDCConfig("http://idp/token", "id", "secret", map[string]string{"logicalCluster": "lkc-1", "identityPoolId": "pool-1"})
	if c["sasl.oauthbearer.method"] != "oidc" || c["sasl.oauthbearer.client.id"] != "id" ||
		c["sasl.oauthbearer.client.secret"] != "secret" || c["sasl.oauthbearer.token.endpoint.url"] != "http://idp/token" {
		t.Errorf("OIDC config %v", c)
	}
	if got := c["sasl.oauthbearer.extensions"]; got != "identityPoolId=pool-1,logicalCluster=lkc-1" {
		t.Errorf("extensions %q", got)
	}
	if _, ok := PythonOIDCConfig("u", "i", "s", nil)["sasl.oauthbearer.extensions"]; ok {
		t.Error("extensions property set without extensions")
	}
	p := PythonPlainConfig("u", "p")
	if p["sasl.mechanism"] != "PLAIN" || p["sasl.username"] != "u" || p["sasl.password"] != "p" {
		t.Errorf("PLAIN config %v", p)
	}
}

func TestSummaryFields(t *testing.T) {
	out := "progress produced=5\nOK produced=10 consumed=10 topic=t\nsome log line"
	f := SummaryFields(out)
	if f["produced"] != "10" || f["consumed"] != "10" || f["topic"] != "t" {
		t.Errorf("fields %v", f)
	}
	if SummaryFields("FAIL: x\nOKAY=1") != nil {
		t.Error("fields from output without an OK line")
	}
}

func TestVenvKeyCoversRequirementsAndInterpreter(t *testing.T) {
	a := venvKey([]byte("confluent-kafka==1\n"), []byte("3.11.7\n/usr/bin/python3"))
	if a != venvKey([]byte("confluent-kafka==1\n"), []byte("3.11.7\n/usr/bin/python3")) {
		t.Error("key not deterministic")
	}
	if a == venvKey([]byte("confluent-kafka==2\n"), []byte("3.11.7\n/usr/bin/python3")) {
		t.Error("key ignores the requirements")
	}
	if a == venvKey([]byte("confluent-kafka==1\n"), []byte("3.13.1\n/usr/bin/python3")) {
		t.Error("key ignores the interpreter")
	}
}
