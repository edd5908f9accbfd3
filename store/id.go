package store

import (
	"crypto/rand"
	"fmt"
	"strings"
)

// Id prefixes, without their dash.
const (
	ServiceAccountPrefix = "sa"
	UserAccountPrefix    = "u"
	ProviderPrefix       = "op"
	RoleBindingPrefix    = "rb"
)

// PoolPrefix starts every identity pool id.
const PoolPrefix = "pool-"

// accountIDAlphabet is the characters after the prefix: lower-case base36.
const accountIDAlphabet = "abcdefghijklmnopqrstuvwxyz0123456789"

// accountIDRandom is the number of random characters, about 31 bits.
// Callers check a new id against the existing accounts.
const accountIDRandom = 6

// NewAccountID returns a random account id with prefix ServiceAccountPrefix
// or UserAccountPrefix, like "sa-k3x9q0".
func NewAccountID(prefix string) (string, error) {
	if prefix != ServiceAccountPrefix && prefix != UserAccountPrefix {
		return "", fmt.Errorf("account id prefix %q: want %q or %q", prefix, ServiceAccountPrefix, UserAccountPrefix)
	}
	return NewID(prefix)
}

// NewID returns a random id with a prefix of this file ("op", "rb",
// "pool" and the account prefixes), like "rb-k3x9q0".
func NewID(prefix string) (string, error) {
	switch prefix {
	case ServiceAccountPrefix, UserAccountPrefix, ProviderPrefix, RoleBindingPrefix, strings.TrimSuffix(PoolPrefix, "-"):
	default:
		return "", fmt.Errorf("id prefix %q is not one of the store's", prefix)
	}
	b := make([]byte, accountIDRandom)
	// Bytes at or above 252, the largest multiple of 36, are rejected so
	// that every character is equally likely.
	limit := byte(256 - 256%len(accountIDAlphabet))
	var r [1]byte
	for i := 0; i < len(b); {
		if _, err := rand.Read(r[:]); err != nil {
			return "", fmt.Errorf("new account id: %w", err)
		}
		if r[0] < limit {
			b[i] = accountIDAlphabet[int(r[0])%len(accountIDAlphabet)]
			i++
		}
	}
	return prefix + "-" + string(b), nil
}
