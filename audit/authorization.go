package audit

import "time"

// TypeAuthorization is the CloudEvents type of authorization events.
const TypeAuthorization = "io.kafka-auth-proxy/authorization"

// AuthorizationEvent is one authorization decision on one resource.
type AuthorizationEvent struct {
	Time         time.Time // zero: now
	Principal    string    // "User:sa-abc123", "User:pool-xyz"
	Source       string    // client address host:port
	Listener     string    // optional
	API          string    // the Kafka API, such as "Produce"
	ResourceType string    // "Topic", "Group", "TransactionalId", "Cluster"
	ResourceName string
	Operation    string // "Read", "Write", ...
	Granted      bool
	// Pattern is the resource pattern of the ACL or role binding that
	// decided, such as "Topic:Prefixed:orders-"; empty for super users and
	// the default deny.
	Pattern string
	// Rule names what decided: the ACL, the role binding and its grant,
	// super_user, allow_if_no_acl or default_deny.
	Rule string
	// PolicyVersion is the version of the policy that decided.
	PolicyVersion uint64
}

type authorizationData struct {
	Principal     string `json:"principal"`
	SourceAddress string `json:"source_address,omitempty"`
	Listener      string `json:"listener,omitempty"`
	API           string `json:"api"`
	ResourceType  string `json:"resource_type"`
	ResourceName  string `json:"resource_name"`
	Operation     string `json:"operation"`
	Granted       bool   `json:"granted"`
	Result        string `json:"result"` // "granted" or "denied"
	Pattern       string `json:"pattern,omitempty"`
	Rule          string `json:"rule"`
	PolicyVersion uint64 `json:"policy_version"`
}

// Authorization writes an authorization event. Its subject is the
// principal.
func (s *Sink) Authorization(e AuthorizationEvent) {
	if s == nil {
		return
	}
	result := "denied"
	if e.Granted {
		result = "granted"
	}
	s.emit(TypeAuthorization, e.Principal, e.Time, &authorizationData{
		Principal:     e.Principal,
		SourceAddress: e.Source,
		Listener:      e.Listener,
		API:           e.API,
		ResourceType:  e.ResourceType,
		ResourceName:  e.ResourceName,
		Operation:     e.Operation,
		Granted:       e.Granted,
		Result:        result,
		Pattern:       e.Pattern,
		Rule:          e.Rule,
		PolicyVersion: e.PolicyVersion,
	})
}
