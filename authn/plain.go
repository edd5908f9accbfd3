package authn

import (
	"bytes"
	"context"
	"errors"
	"unicode/utf8"

	"github.com/kafka-auth-proxy/kafka-auth-proxy/authn/apikey"
)

// SASL/PLAIN (RFC 4616) logs a client in with an API key: the key id is
// the username, its secret the password, and the principal is the key's
// account.

// plain is PLAIN's entry in the mechanisms table.
var plain = mechanism{
	name:    MechanismPlain,
	check:   checkPlain,
	failure: "Authentication failed: Invalid username or password",
}

// dummyHash is verified against when a key id is unknown, so that unknown
// and known keys take the same time to refuse.
var dummyHash = func() apikey.Hash {
	h, err := apikey.HashSecret("kafka-auth-proxy timing equaliser")
	if err != nil {
		panic(err)
	}
	ph, err := apikey.ParseHash(h)
	if err != nil {
		panic(err)
	}
	return ph
}()

// checkPlain checks an API key login. A salted hash is as cheap to check
// when it fails as when it does not, so a key is always checked, whatever
// other clients' failures: only its own address being over its limit
// refuses it unchecked.
func checkPlain(_ context.Context, s *Session, d *directory, msg []byte) attempt {
	a, host := s.a, s.host
	at := attempt{mech: MechanismPlain}
	m, err := ParsePlain(msg)
	if err != nil {
		at.reason, at.cause = ReasonMalformed, err
		return at
	}
	if apikey.ValidKeyID(m.Username) {
		at.apiKey = m.Username
	}
	if a.throttle.sourceBlocked(a.now(), host) {
		at.reason = ReasonThrottled
		return at
	}
	k, ok := d.keys[m.Username]
	if !ok {
		dummyHash.Verify(m.Password)
		at.reason, at.cause = ReasonUnknownKey, errors.New("no such API key")
		return at
	}
	if !k.hash.Verify(m.Password) {
		at.reason, at.cause = ReasonBadSecret, errors.New("secret does not match")
		return at
	}
	if !d.accounts[k.account] {
		at.reason, at.cause = ReasonUnknownAccount, errors.New("the key's account "+k.account+" does not exist")
		return at
	}
	cluster := a.currentClusterID(d)
	switch {
	case s.admin && k.cluster != CloudKey:
		at.reason, at.cause = ReasonWrongCluster, errors.New("a cluster key ("+k.cluster+") cannot call the admin API; use a cloud key")
		return at
	case s.admin:
	case k.cluster == CloudKey:
		at.reason, at.cause = ReasonWrongCluster, errors.New("a cloud key cannot log in to Kafka; use a key of cluster "+cluster)
		return at
	case cluster == "":
		at.reason, at.cause = ReasonWrongCluster, errUnknownCluster
		return at
	case k.cluster != cluster:
		at.reason, at.cause = ReasonWrongCluster, errors.New("key is scoped to cluster "+k.cluster+", this is "+cluster)
		return at
	}
	at.identity = &Identity{Principal: "User:" + k.account, Mechanism: MechanismPlain, APIKey: k.id, Account: k.account}
	return at
}

// maxPlainField bounds each field of a PLAIN message (RFC 4616 allows 255
// UTF-8 characters; API key secrets are far shorter).
const maxPlainField = 1024

var errPlainFormat = errors.New("PLAIN message must be [authzid] NUL authcid NUL passwd")

// PlainMessage is a decoded SASL/PLAIN client message (RFC 4616).
type PlainMessage struct {
	AuthzID  string
	Username string
	Password string
}

// ParsePlain decodes "[authzid] NUL authcid NUL passwd". The username and
// password must be non-empty, valid UTF-8 without NUL, and a non-empty
// authzid must equal the username (the proxy does not let one identity act
// as another).
func ParsePlain(msg []byte) (PlainMessage, error) {
	first := bytes.IndexByte(msg, 0)
	if first < 0 {
		return PlainMessage{}, errPlainFormat
	}
	rest := msg[first+1:]
	second := bytes.IndexByte(rest, 0)
	if second < 0 {
		return PlainMessage{}, errPlainFormat
	}
	authz, user, pass := msg[:first], rest[:second], rest[second+1:]
	switch {
	case bytes.IndexByte(pass, 0) >= 0:
		return PlainMessage{}, errPlainFormat
	case len(user) == 0:
		return PlainMessage{}, errors.New("PLAIN username is empty")
	case len(pass) == 0:
		return PlainMessage{}, errors.New("PLAIN password is empty")
	case len(authz) > maxPlainField || len(user) > maxPlainField || len(pass) > maxPlainField:
		return PlainMessage{}, errors.New("PLAIN field too long")
	case !utf8.Valid(authz) || !utf8.Valid(user) || !utf8.Valid(pass):
		return PlainMessage{}, errors.New("PLAIN message is not valid UTF-8")
	case len(authz) > 0 && !bytes.Equal(authz, user):
		return PlainMessage{}, errors.New("PLAIN authzid differs from the username")
	}
	return PlainMessage{AuthzID: string(authz), Username: string(user), Password: string(pass)}, nil
}
