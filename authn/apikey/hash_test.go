package apikey

import (
	"strings"
	"testing"
)

func TestHashVerify(t *testing.T) {
	secret, err := NewSecret()
	if err != nil {
		t.Fatal(err)
	}
	long := strings.Repeat("x", inlineSecret+1)
	for _, tc := range []struct {
		name            string
		hashed, offered string
		want            bool
	}{
		{"the secret", secret, secret, true},
		{"another secret", secret, secret[:63] + "!", false},
		{"a prefix of the secret", secret, secret[:32], false},
		{"the secret and more", secret, secret + "x", false},
		{"empty", secret, "", false},
		{"empty secret hashed", "", "", true},
		{"secret longer than the stack buffer", long, long, true},
		{"longer secret, last byte differs", long, long[:inlineSecret] + "y", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			enc, err := HashSecret(tc.hashed)
			if err != nil {
				t.Fatal(err)
			}
			h, err := ParseHash(enc)
			if err != nil {
				t.Fatalf("ParseHash(HashSecret(…)): %v", err)
			}
			if got := h.Verify(tc.offered); got != tc.want {
				t.Errorf("Verify = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestHashSecretIsSalted(t *testing.T) {
	a, _ := HashSecret("same secret")
	b, _ := HashSecret("same secret")
	if a == b {
		t.Fatal("two hashes of one secret are equal; the salt is missing")
	}
}

func TestHashFormat(t *testing.T) {
	enc, err := HashSecret("s")
	if err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(enc, "$")
	if len(parts) != 3 || parts[0] != "sha256" || len(parts[1]) != 22 || len(parts[2]) != 43 {
		t.Fatalf("HashSecret = %q, want sha256$<22 base64url>$<43 base64url>", enc)
	}
}

// TestKnownHash pins the digest definition, SHA-256(salt || secret), so
// that stored hashes keep verifying across releases.
func TestKnownHash(t *testing.T) {
	// salt = 16 zero bytes; digest = SHA-256(16 zero bytes || "secret").
	const enc = "sha256$AAAAAAAAAAAAAAAAAAAAAA$Nvy9xHmTeIEf42A_Mn_mJrYp_cY8CVjMfub84hg3Uss"
	h, err := ParseHash(enc)
	if err != nil {
		t.Fatal(err)
	}
	if !h.Verify("secret") {
		t.Error(`known hash does not verify "secret"`)
	}
}

func TestParseHashErrors(t *testing.T) {
	salt := strings.Repeat("A", 22)
	dig := strings.Repeat("A", 43)
	for _, tc := range []struct {
		name, hash, wantErr string
	}{
		{"empty", "", "secret hash is empty"},
		{"a plain secret", "Zm9vYmFyYmF6cXV4", "not of the form sha256$<salt>$<digest>"},
		{"unknown algorithm", "md5$" + salt + "$" + dig, "unsupported algorithm; want sha256"},
		{"bcrypt", "$2a$10$N9qo8uLOickgx2ZMRZoMye", "unsupported algorithm"},
		{"no digest", "sha256$" + salt, "missing digest"},
		{"short salt", "sha256$AAAA$" + dig, "salt: want 22 base64url characters (16 bytes), got 4"},
		{"salt not base64url", "sha256$" + strings.Repeat("+", 22) + "$" + dig, "salt: illegal base64 data"},
		{"padded digest", "sha256$" + salt + "$" + dig + "=", "digest: want 43 base64url characters"},
		{"long digest", "sha256$" + salt + "$" + dig + "A", "digest: want 43"},
		{"extra field", "sha256$" + salt + "$" + dig + "$x", "digest: want 43"},
		{"non-canonical digest", "sha256$" + salt + "$" + dig[:42] + "B", "digest: illegal base64 data"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseHash(tc.hash)
			if err == nil {
				t.Fatalf("ParseHash(%q) succeeded, want error containing %q", tc.hash, tc.wantErr)
			}
			if !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("ParseHash(%q) = %q, want it to contain %q", tc.hash, err, tc.wantErr)
			}
		})
	}
}

// TestParseHashErrorDoesNotQuoteInput: a secret pasted into secret_hash
// must not end up in an error message, and so in a log.
func TestParseHashErrorDoesNotQuoteInput(t *testing.T) {
	secret, _ := NewSecret()
	for _, s := range []string{secret, "sha256$" + secret, "sha256$" + secret + "$" + secret, secret + "$x$y"} {
		if _, err := ParseHash(s); err == nil || strings.Contains(err.Error(), secret) {
			t.Errorf("ParseHash error %v quotes its input", err)
		}
	}
}

func TestZeroHashVerifiesNothing(t *testing.T) {
	var h Hash
	for _, s := range []string{"", "secret"} {
		if h.Verify(s) {
			t.Errorf("Hash{}.Verify(%q) = true", s)
		}
	}
}

func TestVerifyDoesNotAllocate(t *testing.T) {
	secret, _ := NewSecret()
	enc, _ := HashSecret(secret)
	h, _ := ParseHash(enc)
	if n := testing.AllocsPerRun(100, func() { h.Verify(secret) }); n != 0 {
		t.Errorf("Verify allocates %v times, want 0", n)
	}
}

func BenchmarkVerify(b *testing.B) {
	secret, _ := NewSecret()
	enc, _ := HashSecret(secret)
	h, _ := ParseHash(enc)
	b.ReportAllocs()
	for b.Loop() {
		if !h.Verify(secret) {
			b.Fatal("Verify failed")
		}
	}
}

func BenchmarkHashSecret(b *testing.B) {
	secret, _ := NewSecret()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := HashSecret(secret); err != nil {
			b.Fatal(err)
		}
	}
}
