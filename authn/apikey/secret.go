package apikey

import (
	"crypto/rand"
	"encoding/base64"
	"fmt"
)

// SecretLength is the number of characters of a generated secret.
const SecretLength = 64

// secretBytes is the random bytes a secret encodes: 48 bytes are 384 bits,
// exactly SecretLength base64 characters with no padding.
const secretBytes = SecretLength * 6 / 8

// NewSecret returns a random secret: SecretLength characters of the
// standard base64 alphabet [A-Za-z0-9+/], carrying 384 bits from
// crypto/rand.
func NewSecret() (string, error) {
	var b [secretBytes]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("new secret: %w", err)
	}
	return base64.StdEncoding.EncodeToString(b[:]), nil
}
