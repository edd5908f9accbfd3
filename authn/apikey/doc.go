// Package apikey owns the API key credential: how key ids and secrets are
// generated, and how a secret is hashed for storage and verified at login.
//
// A key id is 16 upper-case letters and digits (about 82 bits, but it is not
// secret: it is the SASL/PLAIN user name). A secret is 64 characters of the
// standard base64 alphabet encoding 48 bytes from crypto/rand: exactly 384
// bits of entropy.
//
// Only a salted hash of the secret is stored, in the self-describing form
//
//	sha256$<salt>$<digest>
//
// where salt is 16 random bytes, digest is SHA-256(salt || secret), and both
// are unpadded base64url.
//
// A fast hash is the right choice here, not bcrypt, scrypt or argon2. Slow
// key derivation functions exist to protect low-entropy, human-chosen
// passwords from offline guessing. Generated secrets have at least 256 bits
// of entropy, so guessing one is infeasible however fast the hash is, while
// a deliberately slow hash would run on every client connection and
// re-authentication, turning authentication into a CPU denial-of-service
// target for anyone who can reach the listener. This is the same reasoning
// applied to high-entropy API tokens elsewhere; the salt still keeps equal
// secrets from having equal hashes.
package apikey
