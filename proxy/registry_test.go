package proxy

import (
	"testing"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/kafka-auth-proxy/kafka-auth-proxy/authz"
	"github.com/kafka-auth-proxy/kafka-auth-proxy/authz/enforce"
)

// testAPIs is the registry, indexed as a server indexes it.
func testAPIs(tb testing.TB) *apiTable {
	tb.Helper()
	t, err := newAPITable(registry())
	if err != nil {
		tb.Fatal(err)
	}
	return t
}

// The registry names a version ceiling that somebody reviewed for every
// API. When kmsg (franz-go) learns a newer version of a request, it may
// carry fields that the API's rule, rewrite or walk do not know: a topic
// id beside a name, a new "all" form, a field naming brokers. This test
// then fails until the new versions are reviewed and the ceiling raised.
func TestEveryAPIVersionTheProxyAcceptsWasReviewed(t *testing.T) {
	for _, row := range registry() {
		name := kmsg.NameForKey(row.req.Key())
		if known := row.req.MaxVersion(); known > row.reviewed {
			t.Errorf("kmsg decodes %s up to v%d, but the registry (proxy/apis.go) reviewed it up to v%d only. "+
				"Review v%d..v%d: read the new fields in kmsg's generated.go and in Kafka's %sRequest.json and "+
				"KafkaApis; check that the API's rule in authz/enforce authorizes what the broker will act on "+
				"(ids beside names, \"all\" forms, regexes, cursors, sessions) and filters what the answer "+
				"shows; check any rewrite or walk for new fields naming brokers; then raise reviewed to v%d.",
				name, known, row.reviewed, row.reviewed+1, known, name, known)
		}
	}
}

// The registry itself is consistent: one row per API, a rule on each.
func TestRegistryRowsAreComplete(t *testing.T) {
	seen := map[int16]bool{}
	for _, row := range registry() {
		key := row.req.Key()
		if seen[key] {
			t.Errorf("%s has two rows", kmsg.NameForKey(key))
		}
		seen[key] = true
		if row.rule == nil {
			t.Errorf("%s has no authorization rule", kmsg.NameForKey(key))
		}
	}
	for _, key := range []kmsg.Key{kmsg.DescribeUserSCRAMCredentials, kmsg.AlterUserSCRAMCredentials,
		kmsg.CreateDelegationToken, kmsg.ShareFetch, kmsg.StreamsGroupHeartbeat, kmsg.LeaderAndISR} {
		if seen[key.Int16()] {
			t.Errorf("%s is in the registry; it must stay out (proxy identity, or not for clients)", kmsg.NameForKey(key.Int16()))
		}
	}
}

// ruleChecker answers a rule's questions straight from a Subject.
type ruleChecker struct{ s *authz.Subject }

func (c ruleChecker) Authorize(rt authz.ResourceType, name string, op authz.Operation) bool {
	return c.s.Authorize(rt, name, op).Allowed
}
func (c ruleChecker) Visible(rt authz.ResourceType, name string, op authz.Operation) bool {
	return c.s.Authorize(rt, name, op).Allowed
}
func (c ruleChecker) AuthorizeAny(rt authz.ResourceType, op authz.Operation) bool {
	return c.s.AuthorizeAny(rt, op).Allowed
}
func (c ruleChecker) PolicyVersion() uint64      { return c.s.Table().Version() }
func (c ruleChecker) Reserved(topic string) bool { return c.s.Table().Reserved(topic) }

// ruleTopics knows one topic id.
type ruleTopics struct{}

func (ruleTopics) TopicName(id [16]byte) (string, bool) { return "orders-eu", id == [16]byte{1} }
func (ruleTopics) AllTopics() ([]string, error)         { return []string{"orders-eu", "payments"}, nil }

// FuzzEnforce runs every registry rule on arbitrary decodable requests of
// every version the proxy accepts: no rule may panic, an edited request
// must encode, and so must the answer the client would get.
func FuzzEnforce(f *testing.F) {
	for _, req := range []kmsg.Request{
		&kmsg.ProduceRequest{Version: 9, Acks: -1, Topics: []kmsg.ProduceRequestTopic{{Topic: "payments", Partitions: []kmsg.ProduceRequestTopicPartition{{}}}}},
		&kmsg.MetadataRequest{Version: 12, Topics: []kmsg.MetadataRequestTopic{{Topic: kmsg.StringPtr("x")}, {TopicID: [16]byte{1}}}},
		&kmsg.OffsetFetchRequest{Version: 8, Groups: []kmsg.OffsetFetchRequestGroup{{Group: "orders-app"}}},
		&kmsg.FetchRequest{Version: 13, ReplicaID: -1, SessionID: 5, SessionEpoch: 2, Topics: []kmsg.FetchRequestTopic{{TopicID: [16]byte{2}}}},
		&kmsg.DescribeTopicPartitionsRequest{Cursor: &kmsg.DescribeTopicPartitionsRequestCursor{Topic: "orders-eu"}},
		&kmsg.DeleteTopicsRequest{Version: 6, Topics: []kmsg.DeleteTopicsRequestTopic{{Topic: kmsg.StringPtr("x"), TopicID: [16]byte{1}}}},
	} {
		f.Add(byte(req.Key()), byte(req.GetVersion()), req.AppendTo(nil))
	}
	tbl, err := authz.Compile(authz.Policy{ACLs: []authz.ACL{{Principal: "User:sa-app", Host: "*", ResourceType: authz.ResourceTopic,
		Name: "orders-", Pattern: authz.PatternPrefixed, Operation: authz.OpAll, Permission: authz.PermissionAllow}}})
	if err != nil {
		f.Fatal(err)
	}
	apis := testAPIs(f)
	f.Fuzz(func(t *testing.T, key, version byte, body []byte) {
		spec := apis.lookup(int16(key))
		if spec == nil || int16(version) > spec.reviewed {
			return
		}
		req := spec.newRequest()
		req.SetVersion(int16(version))
		if req.ReadFrom(body) != nil {
			return
		}
		c := &enforce.Client{Check: ruleChecker{tbl.Subject("User:sa-app", "10.0.0.1")}, Topics: ruleTopics{}}
		v := spec.rule(c, req)
		if v.Action() == enforce.ActForwardEdited {
			req.AppendTo(nil)
		}
		resp := v.Answer()
		if resp == nil && v.Patch() != nil {
			resp = req.ResponseKind()
			resp.SetVersion(req.GetVersion())
			v.Patch()(resp)
		}
		if resp != nil {
			resp.AppendTo(nil)
		}
		c.TakeFetch().Answered(0, 1)
	})
}
