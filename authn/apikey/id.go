package apikey

import (
	"crypto/rand"
	"fmt"
)

// KeyIDLength is the number of characters of a key id.
const KeyIDLength = 16

// keyIDAlphabet is the characters of a key id.
const keyIDAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"

// NewKeyID returns a random key id: KeyIDLength upper-case letters and
// digits, each drawn uniformly from crypto/rand.
func NewKeyID() (string, error) {
	b := make([]byte, KeyIDLength)
	if err := randomFrom(b, keyIDAlphabet); err != nil {
		return "", fmt.Errorf("new key id: %w", err)
	}
	return string(b), nil
}

// ValidKeyID reports whether s has the form of a key id.
func ValidKeyID(s string) bool {
	if len(s) != KeyIDLength {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < 'A' || c > 'Z') && (c < '0' || c > '9') {
			return false
		}
	}
	return true
}

// randomFrom fills dst with characters drawn uniformly from alphabet (at
// most 256 characters). Random bytes at or above the largest multiple of
// len(alphabet) are rejected, so that the remainder is unbiased.
func randomFrom(dst []byte, alphabet string) error {
	n := len(alphabet)
	limit := 256 - 256%n
	buf := make([]byte, 2*len(dst))
	for i := 0; i < len(dst); {
		if _, err := rand.Read(buf); err != nil {
			return err
		}
		for _, r := range buf {
			if int(r) >= limit {
				continue
			}
			dst[i] = alphabet[int(r)%n]
			if i++; i == len(dst) {
				break
			}
		}
	}
	return nil
}
