package audit

import (
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
)

// specVersion is the CloudEvents specification the events follow.
const specVersion = "1.0"

// envelope is a CloudEvent in the JSON format. specversion, id, source and
// type are the attributes CloudEvents 1.0 requires; the others are
// optional.
type envelope struct {
	SpecVersion     string `json:"specversion"`
	ID              string `json:"id"`
	Source          string `json:"source"`
	Type            string `json:"type"`
	Time            string `json:"time"`
	DataContentType string `json:"datacontenttype"`
	Subject         string `json:"subject,omitempty"`
	Data            any    `json:"data"`
}

// newID returns a random (version 4) UUID, which makes source+id unique as
// CloudEvents requires.
func newID() string {
	var u [16]byte
	rand.Read(u[:]) // never fails (crypto/rand crashes the program instead)
	u[6] = u[6]&0x0f | 0x40
	u[8] = u[8]&0x3f | 0x80
	var s [36]byte
	hex.Encode(s[0:8], u[0:4])
	s[8] = '-'
	hex.Encode(s[9:13], u[4:6])
	s[13] = '-'
	hex.Encode(s[14:18], u[6:8])
	s[18] = '-'
	hex.Encode(s[19:23], u[8:10])
	s[23] = '-'
	hex.Encode(s[24:], u[10:])
	return string(s[:])
}

// defaultSource is "//kafka-auth-proxy/<hostname>", or "kafka-auth-proxy"
// when the host name is unknown.
func defaultSource() string {
	h, err := os.Hostname()
	if err != nil || h == "" {
		return "kafka-auth-proxy"
	}
	return "//kafka-auth-proxy/" + url.PathEscape(h)
}
