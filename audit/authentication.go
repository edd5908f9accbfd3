package audit

import (
	"cmp"
	"time"
)

// TypeAuthentication is the CloudEvents type of authentication events.
const TypeAuthentication = "io.kafka-auth-proxy/authentication"

// AuthenticationEvent is one authentication or re-authentication attempt.
// It never holds a secret or a token.
type AuthenticationEvent struct {
	Time             time.Time // zero: now
	Principal        string    // "User:sa-abc123", "User:pool-xyz"; empty on failure when unknown
	Mechanism        string    // "PLAIN" or "OAUTHBEARER"
	APIKey           string    // key id, PLAIN only
	IdentityPool     string    // pool id, OAUTHBEARER only
	Identity         string    // the identity claim value, such as the token's sub
	Provider         string    // OIDC provider name
	Source           string    // client address host:port
	Listener         string    // optional
	Success          bool
	Reason           string // failure reason, a stable low-cardinality string; empty on success
	Reauthentication bool
}

// authenticationData is the data of an authentication event.
type authenticationData struct {
	Principal        string `json:"principal,omitempty"`
	Mechanism        string `json:"mechanism"`
	APIKey           string `json:"api_key,omitempty"`
	IdentityPool     string `json:"identity_pool,omitempty"`
	Identity         string `json:"identity,omitempty"`
	Provider         string `json:"provider,omitempty"`
	SourceAddress    string `json:"source_address,omitempty"`
	Listener         string `json:"listener,omitempty"`
	Result           string `json:"result"` // "success" or "failure"
	Reason           string `json:"reason,omitempty"`
	Reauthentication bool   `json:"reauthentication"`
}

// Authentication writes an authentication event. Its subject is the
// principal, or else the API key or identity pool that was tried.
func (s *Sink) Authentication(e AuthenticationEvent) {
	if s == nil {
		return
	}
	result := "failure"
	if e.Success {
		result = "success"
	}
	subject := cmp.Or(e.Principal, e.APIKey, e.IdentityPool)
	s.emit(TypeAuthentication, subject, e.Time, &authenticationData{
		Principal:        e.Principal,
		Mechanism:        e.Mechanism,
		APIKey:           e.APIKey,
		IdentityPool:     e.IdentityPool,
		Identity:         e.Identity,
		Provider:         e.Provider,
		SourceAddress:    e.Source,
		Listener:         e.Listener,
		Result:           result,
		Reason:           e.Reason,
		Reauthentication: e.Reauthentication,
	})
}
