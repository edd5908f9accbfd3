package audit

import (
	"cmp"
	"time"
)

// TypeManagement is the CloudEvents type of management API events.
const TypeManagement = "io.kafka-auth-proxy/management"

// ManagementEvent is one call of the management API. It never holds a
// secret: changed fields are named, and their values are only those the
// API shows.
type ManagementEvent struct {
	Time   time.Time // zero: now
	Caller string    // the caller's principal, or "local:<user>" for the CLI on the state file; empty before authentication
	Source string    // client address host:port
	Method string    // HTTP method
	Route  string    // the route's path pattern, such as /iam/v2/api-keys/{id}
	Action string    // list, describe, create, update or delete
	Kind   string    // the object kind, such as ApiKey
	Object string    // the object's id, when there is one
	// Changed names the fields a create or update set, with the values
	// the API shows (never a secret).
	Changed map[string]any
	Status  int    // the HTTP status of the answer
	Detail  string // why a call failed
}

type managementData struct {
	Caller        string         `json:"caller,omitempty"`
	SourceAddress string         `json:"source_address,omitempty"`
	Method        string         `json:"method"`
	Route         string         `json:"route"`
	Action        string         `json:"action"`
	Kind          string         `json:"kind"`
	Object        string         `json:"object,omitempty"`
	Changed       map[string]any `json:"changed,omitempty"`
	Result        string         `json:"result"` // success, denied, unauthenticated or failure
	Status        int            `json:"status"`
	Detail        string         `json:"detail,omitempty"`
}

// Management writes a management event. Its subject is the object, or
// else the caller.
func (s *Sink) Management(e ManagementEvent) {
	if s == nil {
		return
	}
	result := "failure"
	switch {
	case e.Status < 400:
		result = "success"
	case e.Status == 401 || e.Status == 429:
		result = "unauthenticated"
	case e.Status == 403:
		result = "denied"
	}
	s.emit(TypeManagement, cmp.Or(e.Object, e.Caller), e.Time, &managementData{
		Caller: e.Caller, SourceAddress: e.Source, Method: e.Method, Route: e.Route, Action: e.Action,
		Kind: e.Kind, Object: e.Object, Changed: e.Changed, Result: result, Status: e.Status, Detail: e.Detail,
	})
}
