package apikey

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
)

const (
	// algorithm is the first field of an encoded hash.
	algorithm = "sha256"
	saltSize  = 16
)

// b64 encodes salts and digests: base64url, unpadded, canonical.
var b64 = base64.RawURLEncoding.Strict()

// Hash is a parsed secret hash. The zero Hash matches no secret.
type Hash struct {
	salt   [saltSize]byte
	digest [sha256.Size]byte
	set    bool
}

// HashSecret returns the encoded, salted hash of secret, for storage in
// the state or configuration file.
func HashSecret(secret string) (string, error) {
	var salt [saltSize]byte
	if _, err := rand.Read(salt[:]); err != nil {
		return "", fmt.Errorf("hash secret: salt: %w", err)
	}
	d := digest(&salt, secret)
	return algorithm + "$" + b64.EncodeToString(salt[:]) + "$" + b64.EncodeToString(d[:]), nil
}

// ParseHash parses the output of HashSecret. Errors never quote s, in case
// a secret was pasted where its hash belongs.
func ParseHash(s string) (Hash, error) {
	var h Hash
	alg, rest, ok := strings.Cut(s, "$")
	if !ok {
		if s == "" {
			return h, errors.New("secret hash is empty")
		}
		return h, errors.New("secret hash is not of the form sha256$<salt>$<digest> (a plain secret? store the output of `api-key hash`)")
	}
	if alg != algorithm {
		return h, fmt.Errorf("secret hash: unsupported algorithm; want %s", algorithm)
	}
	salt, dig, ok := strings.Cut(rest, "$")
	if !ok {
		return h, errors.New("secret hash: missing digest; want sha256$<salt>$<digest>")
	}
	if err := decodeInto(h.salt[:], salt); err != nil {
		return h, fmt.Errorf("secret hash: salt: %w", err)
	}
	if err := decodeInto(h.digest[:], dig); err != nil {
		return h, fmt.Errorf("secret hash: digest: %w", err)
	}
	h.set = true
	return h, nil
}

// decodeInto decodes the base64url field s, which must fill dst exactly.
func decodeInto(dst []byte, s string) error {
	if n := b64.EncodedLen(len(dst)); len(s) != n {
		return fmt.Errorf("want %d base64url characters (%d bytes), got %d characters", n, len(dst), len(s))
	}
	if _, err := b64.Decode(dst, []byte(s)); err != nil {
		return err
	}
	return nil
}

// Verify reports whether secret is the one h was made from. The digests
// are compared in constant time.
func (h Hash) Verify(secret string) bool {
	if !h.set {
		return false
	}
	d := digest(&h.salt, secret)
	return subtle.ConstantTimeCompare(d[:], h.digest[:]) == 1
}

// inlineSecret is the longest secret digested without a heap allocation;
// generated secrets are SecretLength characters.
const inlineSecret = 240

// digest returns SHA-256(salt || secret). salt and secret are concatenated
// in a stack buffer so that verifying a login does not allocate.
func digest(salt *[saltSize]byte, secret string) [sha256.Size]byte {
	var buf [saltSize + inlineSecret]byte
	b := append(buf[:0], salt[:]...)
	b = append(b, secret...)
	return sha256.Sum256(b)
}
