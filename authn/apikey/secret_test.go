package apikey

import (
	"encoding/base64"
	"testing"
)

func TestNewSecret(t *testing.T) {
	seen := map[string]bool{}
	for range 100 {
		s, err := NewSecret()
		if err != nil {
			t.Fatal(err)
		}
		if len(s) != SecretLength {
			t.Fatalf("len(NewSecret()) = %d, want %d", len(s), SecretLength)
		}
		raw, err := base64.StdEncoding.DecodeString(s)
		if err != nil {
			t.Fatalf("NewSecret() is not standard base64: %v", err)
		}
		if len(raw)*8 < 256 {
			t.Fatalf("NewSecret() carries %d bits, want at least 256", len(raw)*8)
		}
		if seen[s] {
			t.Fatal("NewSecret() repeated a secret")
		}
		seen[s] = true
	}
}
