package authn

import (
	"strings"
	"testing"
)

func TestParsePlain(t *testing.T) {
	for _, tc := range []struct {
		name, msg  string
		user, pass string
		ok         bool
	}{
		{"without authzid", "\x00KEY\x00secret", "KEY", "secret", true},
		{"authzid equal to the username", "KEY\x00KEY\x00secret", "KEY", "secret", true},
		{"password with spaces and symbols", "\x00KEY\x00s3cr=t +/x", "KEY", "s3cr=t +/x", true},
		{"authzid of another identity", "ADMIN\x00KEY\x00secret", "", "", false},
		{"empty username", "\x00\x00secret", "", "", false},
		{"empty password", "\x00KEY\x00", "", "", false},
		{"one separator", "\x00KEYsecret", "", "", false},
		{"no separator", "KEY secret", "", "", false},
		{"empty message", "", "", "", false},
		{"extra separator", "\x00KEY\x00sec\x00ret", "", "", false},
		{"invalid UTF-8", "\x00KEY\x00\xff\xfe", "", "", false},
		{"oversized field", "\x00KEY\x00" + strings.Repeat("x", maxPlainField+1), "", "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, err := ParsePlain([]byte(tc.msg))
			if (err == nil) != tc.ok {
				t.Fatalf("err = %v, want ok=%v", err, tc.ok)
			}
			if tc.ok && (m.Username != tc.user || m.Password != tc.pass) {
				t.Errorf("got %q/%q, want %q/%q", m.Username, m.Password, tc.user, tc.pass)
			}
			if err != nil && strings.Contains(err.Error(), "secret") {
				t.Errorf("error %q repeats the password", err)
			}
		})
	}
}

func FuzzParsePlain(f *testing.F) {
	for _, s := range []string{"\x00KEY\x00secret", "KEY\x00KEY\x00secret", "", "\x00\x00", "a\x00b\x00c\x00d"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, msg []byte) {
		m, err := ParsePlain(msg)
		if err != nil {
			return
		}
		// What parses re-encodes to the same message.
		enc := m.AuthzID + "\x00" + m.Username + "\x00" + m.Password
		if enc != string(msg) {
			t.Fatalf("%q parsed to %+v, which encodes to %q", msg, m, enc)
		}
		if m.Username == "" || m.Password == "" || strings.ContainsRune(m.Password, 0) {
			t.Fatalf("%q accepted with an empty or NUL field: %+v", msg, m)
		}
	})
}
