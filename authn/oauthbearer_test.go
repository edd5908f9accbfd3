package authn

import (
	"maps"
	"strings"
	"testing"
)

func TestParseOAuthBearer(t *testing.T) {
	const tok = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln"
	for _, tc := range []struct {
		name   string
		msg    string
		token  string
		authz  string
		ext    map[string]string
		errHas string
	}{
		{"token only", "n,,\x01auth=Bearer " + tok + "\x01\x01", tok, "", map[string]string{}, ""},
		{"with extensions (Confluent style)", "n,,\x01auth=Bearer " + tok + "\x01logicalCluster=lkc-1\x01identityPoolId=pool-a\x01\x01", tok, "",
			map[string]string{"logicalCluster": "lkc-1", "identityPoolId": "pool-a"}, ""},
		{"extension before auth", "n,,\x01identityPoolId=pool-a\x01auth=Bearer " + tok + "\x01\x01", tok, "", map[string]string{"identityPoolId": "pool-a"}, ""},
		{"authzid", "n,a=user@example.com,\x01auth=Bearer " + tok + "\x01\x01", tok, "user@example.com", map[string]string{}, ""},
		{"escaped authzid", "n,a=a=2Cb=3Dc,\x01auth=Bearer " + tok + "\x01\x01", tok, "a,b=c", map[string]string{}, ""},
		{"bearer scheme is case-insensitive", "n,,\x01auth=bearer " + tok + "\x01\x01", tok, "", map[string]string{}, ""},
		{"y flag", "y,,\x01auth=Bearer " + tok + "\x01\x01", tok, "", map[string]string{}, ""},
		{"channel binding", "p=tls-unique,,\x01auth=Bearer " + tok + "\x01\x01", "", "", nil, "channel binding"},
		{"no gs2 header", "\x01auth=Bearer " + tok + "\x01\x01", "", "", nil, "GS2"},
		{"no auth", "n,,\x01identityPoolId=pool-a\x01\x01", "", "", nil, "no auth"},
		{"auth twice", "n,,\x01auth=Bearer a\x01auth=Bearer b\x01\x01", "", "", nil, "twice"},
		{"extension twice", "n,,\x01auth=Bearer a\x01x=1\x01x=2\x01\x01", "", "", nil, "twice"},
		{"not bearer", "n,,\x01auth=Basic dXNlcg==\x01\x01", "", "", nil, "Bearer"},
		{"empty token", "n,,\x01auth=Bearer \x01\x01", "", "", nil, "empty"},
		{"missing final kvsep", "n,,\x01auth=Bearer " + tok + "\x01", "", "", nil, "end with"},
		{"key with digits", "n,,\x01auth=Bearer a\x01key1=v\x01\x01", "", "", nil, "malformed"},
		{"pair without =", "n,,\x01auth=Bearer a\x01novalue\x01\x01", "", "", nil, "malformed"},
		{"control character in value", "n,,\x01auth=Bearer a\x01k=\x00\x01\x01", "", "", nil, "allowed range"},
		{"bad authzid escape", "n,a=x=41,\x01auth=Bearer a\x01\x01", "", "", nil, "escape"},
		{"unknown gs2 attribute", "n,b=x,\x01auth=Bearer a\x01\x01", "", "", nil, "unknown attribute"},
		{"the kvsep answer is not a client-first message", "\x01", "", "", nil, "GS2"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, err := ParseOAuthBearer([]byte(tc.msg))
			if tc.errHas != "" {
				if err == nil || !strings.Contains(err.Error(), tc.errHas) {
					t.Fatalf("err = %v, want one mentioning %q", err, tc.errHas)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if m.Token != tc.token || m.AuthzID != tc.authz || !maps.Equal(m.Extensions, tc.ext) {
				t.Errorf("got %+v", m)
			}
		})
	}
}

func TestParseOAuthBearerLimitsExtensions(t *testing.T) {
	var b strings.Builder
	b.WriteString("n,,\x01auth=Bearer t\x01")
	for i := range maxExtensions + 1 {
		b.WriteString("k" + strings.Repeat("a", i) + "=v\x01")
	}
	b.WriteString("\x01")
	if _, err := ParseOAuthBearer([]byte(b.String())); err == nil {
		t.Fatal("a message with too many extensions was accepted")
	}
}

func FuzzParseOAuthBearer(f *testing.F) {
	for _, s := range []string{
		"n,,\x01auth=Bearer abc.def.ghi\x01\x01",
		"n,a=x=2Cy,\x01auth=Bearer t\x01logicalCluster=lkc\x01identityPoolId=pool-1\x01\x01",
		"\x01", "", "n,,\x01\x01",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, msg []byte) {
		m, err := ParseOAuthBearer(msg)
		if err != nil {
			return
		}
		if m.Token == "" || strings.ContainsAny(m.Token, " \t\x01") {
			t.Fatalf("%q accepted with token %q", msg, m.Token)
		}
		for k, v := range m.Extensions {
			if !validKey(k) || k == "auth" || !validValue(v) {
				t.Fatalf("%q accepted with extension %q=%q", msg, k, v)
			}
		}
	})
}
