package authn

import (
	"context"
	"encoding/base64"
	"errors"
	"slices"
	"strings"
	"testing"
)

func basic(user, pass string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+pass))
}

// The admin API takes cloud keys and tokens, checked like Kafka logins;
// a cluster key cannot call it, and a cloud key cannot log in to Kafka.
func TestAdminAPILogins(t *testing.T) {
	cloud := newTestKey(t, "sa-one", CloudKey)
	cluster := newTestKey(t, "sa-one", testCluster)
	e := newLoginEnv(t, func(c *Config) { c.Keys = append(c.Keys, cloud.config(t), cluster.config(t)) })
	token := e.idp.token(t, map[string]any{"groups": []string{"payments"}})
	for _, tc := range []struct {
		name, header string
		principal    string // "" for a refusal
		reason       string
	}{
		{"a cloud key", basic(cloud.id, cloud.secret), "User:sa-one", ""},
		{"a cloud key with a wrong secret", basic(cloud.id, cloud.secret+"x"), "", ReasonBadSecret},
		{"a cluster key", basic(cluster.id, cluster.secret), "", ReasonWrongCluster},
		{"an unknown key", basic("ABCDEFGHIJKLMNOP", cloud.secret), "", ReasonUnknownKey},
		{"Basic that is not key:secret", "Basic " + base64.StdEncoding.EncodeToString([]byte("nocolon")), "", ReasonMalformed},
		{"Basic that is not base64", "Basic !!!", "", ReasonMalformed},
		{"a token of a pool", "Bearer " + token, "User:pool-payments", ""},
		{"a token that is not a JWT", "Bearer abc", "", ReasonTokenPrefix + "malformed"},
		{"another scheme", "Digest x", "", ReasonMalformed},
		{"an oversized header", "Bearer " + strings.Repeat("a", maxAuthorizationBytes), "", ReasonMalformed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := len(e.audit.reasons(t))
			id, err := e.a.AuthenticateHTTP(context.Background(), "192.0.2.10:5000", tc.header)
			if tc.principal != "" {
				if err != nil || id.Principal != tc.principal {
					t.Fatalf("AuthenticateHTTP = %v, %v; want %s", id, err, tc.principal)
				}
				return
			}
			if !errors.Is(err, ErrAuthentication) || id != nil {
				t.Fatalf("AuthenticateHTTP = %v, %v; want ErrAuthentication", id, err)
			}
			if got := e.audit.reasons(t)[before:]; !slices.Equal(got, []string{tc.reason}) {
				t.Errorf("audited reasons %v, want [%s]", got, tc.reason)
			}
		})
	}
	// The cloud key over SASL/PLAIN, as a Kafka client would send it.
	if step := e.plainFrom("192.0.2.11:5000", cloud.plain()); !step.Failed {
		t.Error("a cloud key logged in to Kafka")
	}
	if got := e.audit.reasons(t); got[len(got)-1] != ReasonWrongCluster {
		t.Errorf("a cloud key on Kafka was refused for %q, want %s", got[len(got)-1], ReasonWrongCluster)
	}
}

// Failed admin logins count against the client address like failed SASL
// logins: past the limit the address is refused unchecked, with
// ErrThrottled, even with the right key; other addresses are not.
func TestAdminAPILoginsAreThrottledPerAddress(t *testing.T) {
	cloud := newTestKey(t, "sa-one", CloudKey)
	e := newLoginEnv(t, func(c *Config) {
		c.Keys = append(c.Keys, cloud.config(t))
		c.Limits.PerSource = 3
	})
	ctx := context.Background()
	for range 3 {
		if _, err := e.a.AuthenticateHTTP(ctx, "192.0.2.20:1", basic(cloud.id, "wrong")); !errors.Is(err, ErrAuthentication) {
			t.Fatalf("a wrong secret: %v", err)
		}
	}
	if _, err := e.a.AuthenticateHTTP(ctx, "192.0.2.20:2", basic(cloud.id, cloud.secret)); !errors.Is(err, ErrThrottled) {
		t.Fatalf("the right key from the throttled address: %v, want ErrThrottled", err)
	}
	if _, err := e.a.AuthenticateHTTP(ctx, "192.0.2.21:1", basic(cloud.id, cloud.secret)); err != nil {
		t.Fatalf("the right key from another address: %v", err)
	}
}
