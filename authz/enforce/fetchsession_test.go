package enforce

import (
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/kafka-auth-proxy/kafka-auth-proxy/authz"
)

// A connection may use only the fetch sessions the broker created for it,
// and only while it may still read every topic they hold. The steps are
// one connection's requests; answered is what the broker said to the
// forwarded request (its error code and session id), and policy, when
// set, changes the policy before the step.
func TestFetchSessionsBelongToTheirConnection(t *testing.T) {
	readable := authz.Policy{ACLs: []authz.ACL{{Principal: "User:sa-app", Host: "*", ResourceType: authz.ResourceTopic,
		Name: "orders-", Pattern: authz.PatternPrefixed, Operation: authz.OpRead, Permission: authz.PermissionAllow}}}
	revoked := authz.Policy{ACLs: append(readable.ACLs, authz.ACL{Principal: "User:sa-app", Host: "*", ResourceType: authz.ResourceTopic,
		Name: "orders-eu", Pattern: authz.PatternLiteral, Operation: authz.OpRead, Permission: authz.PermissionDeny})}
	unrelated := authz.Policy{ACLs: append(readable.ACLs, authz.ACL{Principal: "User:sa-other", Host: "*", ResourceType: authz.ResourceGroup,
		Name: "g", Pattern: authz.PatternLiteral, Operation: authz.OpRead, Permission: authz.PermissionAllow})}
	az, err := authz.NewAuthorizer(readable)
	if err != nil {
		t.Fatal(err)
	}
	c := &Client{Topics: fakeTopics{idOrders: "orders-eu"}}
	setPolicy := func(p authz.Policy) {
		if err := az.Update(p); err != nil {
			t.Fatal(err)
		}
		c.Check = subjectChecker{az.Load().Subject("User:sa-app", "10.0.0.1")}
	}
	setPolicy(readable)

	fetch := func(session, epoch int32, topics ...string) *kmsg.FetchRequest {
		r := &kmsg.FetchRequest{Version: 12, ReplicaID: -1, SessionID: session, SessionEpoch: epoch}
		for _, name := range topics {
			r.Topics = append(r.Topics, kmsg.FetchRequestTopic{Topic: name, Partitions: []kmsg.FetchRequestTopicPartition{{}}})
		}
		return r
	}
	type answer struct {
		code    int16
		session int32
	}
	notFound := kerr.FetchSessionIDNotFound.Code
	steps := []struct {
		name     string
		policy   *authz.Policy
		req      *kmsg.FetchRequest
		want     string
		answered *answer
	}{
		{"another connection's session, guessed", nil, fetch(7, 3), "answer resp[top=70]", nil},
		{"a full fetch starts a session", nil, fetch(0, 0, "orders-eu"), "forward", &answer{0, 42}},
		{"its own session", nil, fetch(42, 1), "forward", &answer{0, 42}},
		{"adding a topic it may read", nil, fetch(42, 2, "orders-us"), "forward", &answer{0, 42}},
		{"a full fetch naming someone else's session does not close it", nil, fetch(99, 0, "orders-eu"), "edit req[orders-eu]", &answer{0, 43}},
		{"both sessions are its own", nil, fetch(43, 1), "forward", &answer{0, 43}},
		{"a policy change that leaves its topics readable", &unrelated, fetch(42, 3), "forward", &answer{0, 42}},
		{"a policy change that denies a topic of the session", &revoked, fetch(42, 4), "answer resp[top=70]", nil},
		{"the reset session is gone", &readable, fetch(42, 5), "answer resp[top=70]", nil},
		{"the broker lost a session", nil, fetch(43, 2), "forward", &answer{notFound, 0}},
		{"which then is not its own", nil, fetch(43, 3), "answer resp[top=70]", nil},
		{"a new session", nil, fetch(0, 0, "orders-eu"), "forward", &answer{0, 44}},
		{"closed by its own full fetch", nil, fetch(44, -1, "orders-eu"), "forward", &answer{0, 0}},
		{"after which it is gone", nil, fetch(44, 1), "answer resp[top=70]", nil},
	}
	for _, s := range steps {
		if s.policy != nil {
			setPolicy(*s.policy)
		}
		v := Fetch(c, s.req)
		if got := outcome(s.req, v); got != s.want {
			t.Fatalf("%s: got %s, want %s", s.name, got, s.want)
		}
		if s.req.SessionID == 99 {
			t.Fatalf("%s: forwarded naming session 99", s.name)
		}
		if s.answered != nil {
			c.TakeFetch().Answered(s.answered.code, s.answered.session)
		}
	}
}

// A connection holds a bounded number of sessions: the oldest goes.
func TestFetchSessionsAreBounded(t *testing.T) {
	c := ruleTestContext(t)
	for id := int32(1); id <= maxFetchSessions+1; id++ {
		Fetch(c, &kmsg.FetchRequest{Version: 12, ReplicaID: -1})
		c.TakeFetch().Answered(0, id)
	}
	if v := Fetch(c, &kmsg.FetchRequest{Version: 12, ReplicaID: -1, SessionID: 1, SessionEpoch: 1}); v.Action() != ActAnswer {
		t.Errorf("the oldest session is still usable")
	}
	if v := Fetch(c, &kmsg.FetchRequest{Version: 12, ReplicaID: -1, SessionID: maxFetchSessions + 1, SessionEpoch: 1}); v.Action() != ActForward {
		t.Errorf("the newest session is not usable: %s", outcome(&kmsg.FetchRequest{}, v))
	}
}
