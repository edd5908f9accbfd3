package authn

import (
	"bytes"
	"errors"
	"unicode/utf8"
)

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
