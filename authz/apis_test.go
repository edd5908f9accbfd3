package authz

import (
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// subjectChecker is a Checker straight on a Subject, as the proxy's is
// without metrics and audit.
type subjectChecker struct{ s *Subject }

func (c subjectChecker) Authorize(rt ResourceType, name string, op Operation) bool {
	return c.s.Authorize(rt, name, op).Allowed
}
func (c subjectChecker) Filter(rt ResourceType, name string, op Operation) bool {
	return c.s.Authorize(rt, name, op).Allowed
}
func (c subjectChecker) AuthorizeAny(rt ResourceType, op Operation) bool {
	return c.s.AuthorizeAny(rt, op).Allowed
}

// patchChecker fails a test when a response patch makes an audited check:
// patches run on the response path and may only filter.
type patchChecker struct {
	Checker
	t        *testing.T
	patching bool
}

func (c *patchChecker) Authorize(rt ResourceType, name string, op Operation) bool {
	if c.patching {
		c.t.Errorf("a response patch called Authorize(%s, %q, %s)", rt, name, op)
	}
	return c.Checker.Authorize(rt, name, op)
}

func (c *patchChecker) AuthorizeAny(rt ResourceType, op Operation) bool {
	if c.patching {
		c.t.Errorf("a response patch called AuthorizeAny(%s, %s)", rt, op)
	}
	return c.Checker.AuthorizeAny(rt, op)
}

type fakeTopics map[[16]byte]string

func (f fakeTopics) TopicName(id [16]byte) (string, bool) { n, ok := f[id]; return n, ok }

var (
	idOrders  = [16]byte{1}
	idPayment = [16]byte{2}
)

// ruleTestContext is sa-app's view of a policy like the proxy tests':
// orders-* readable and writable, group orders-app, transactional id
// orders-txn.
func ruleTestContext(t *testing.T) *Context {
	t.Helper()
	tbl, err := Compile(Policy{
		ACLs: []ACL{
			{Principal: "User:sa-app", Host: "*", ResourceType: ResourceTopic, Name: "orders-", Pattern: PatternPrefixed, Operation: OpAll, Permission: PermissionAllow},
			{Principal: "User:sa-app", Host: "*", ResourceType: ResourceTopic, Name: "payments", Pattern: PatternLiteral, Operation: OpDescribe, Permission: PermissionAllow},
			{Principal: "User:sa-app", Host: "*", ResourceType: ResourceGroup, Name: "orders-app", Pattern: PatternLiteral, Operation: OpRead, Permission: PermissionAllow},
			{Principal: "User:sa-app", Host: "*", ResourceType: ResourceTransactionalID, Name: "orders-txn", Pattern: PatternLiteral, Operation: OpWrite, Permission: PermissionAllow},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	return &Context{Check: subjectChecker{tbl.Subject("User:sa-app", "10.0.0.1")}, Topics: fakeTopics{idOrders: "orders-eu", idPayment: "payments"}}
}

// outcome describes a verdict: "forward", "edit", "answer" or "drop", the
// edited request's items, and the error codes the client will see (from
// the local answer, or merged into an empty upstream answer).
func outcome(req kmsg.Request, v Verdict) string {
	kind := "forward"
	switch {
	case v.Drop:
		kind = "drop"
	case v.Answer != nil:
		kind = "answer"
	case v.Edited:
		kind = "edit"
	}
	resp := v.Answer
	if resp == nil && v.Patch != nil {
		resp = req.ResponseKind()
		resp.SetVersion(req.GetVersion())
		v.Patch(resp)
	}
	out := kind
	if v.Edited {
		out += " req" + fmt.Sprint(names(reflect.ValueOf(req)))
	}
	if resp != nil {
		out += " resp" + fmt.Sprint(codes(reflect.ValueOf(resp), ""))
	}
	return out
}

// names lists the item names a request still holds.
func names(v reflect.Value) []string {
	var out []string
	walk(v, "", func(owner string, code int64) {}, func(name string) { out = append(out, name) })
	return out
}

// codes lists "name=code" for every non-zero-named error code of a
// response, the name being the nearest enclosing item's.
func codes(v reflect.Value, _ string) []string {
	var out []string
	walk(v, "", func(owner string, code int64) { out = append(out, fmt.Sprintf("%s=%d", owner, code)) }, nil)
	slices.Sort(out)
	return out
}

func walk(v reflect.Value, owner string, code func(string, int64), name func(string)) {
	switch v.Kind() {
	case reflect.Pointer:
		if !v.IsNil() {
			walk(v.Elem(), owner, code, name)
		}
	case reflect.Slice:
		if v.Type().Elem().Kind() == reflect.String {
			for i := 0; i < v.Len(); i++ {
				if name != nil {
					name(v.Index(i).String())
				}
			}
			return
		}
		for i := 0; i < v.Len(); i++ {
			walk(v.Index(i), owner, code, name)
		}
	case reflect.Struct:
		for _, f := range []string{"Topic", "Group", "Key", "TransactionalID", "ResourceName"} {
			fv := v.FieldByName(f)
			if fv.Kind() == reflect.Pointer && !fv.IsNil() {
				fv = fv.Elem()
			}
			if fv.Kind() == reflect.String && fv.String() != "" {
				owner = fv.String()
				if name != nil && v.FieldByName("ErrorCode").Kind() == reflect.Invalid {
					name(owner)
				}
				break
			}
		}
		if id := v.FieldByName("TopicID"); id.IsValid() && owner == "" {
			if b := id.Interface().([16]byte); b != ([16]byte{}) {
				owner = fmt.Sprintf("id%d", b[0])
				if name != nil {
					name(owner)
				}
			}
		}
		for i := 0; i < v.NumField(); i++ {
			f := v.Type().Field(i)
			switch {
			case f.Name == "ErrorCode" && code != nil:
				if c := v.Field(i).Int(); c != 0 {
					code(cmpOr(owner, "top"), c)
				}
			case f.Type.Kind() == reflect.Slice || f.Type.Kind() == reflect.Pointer && f.Type.Elem().Kind() == reflect.Struct:
				walk(v.Field(i), owner, code, name)
			}
		}
	}
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

func topic[T any](name string, id [16]byte, set func(*T, string, [16]byte)) T {
	var t T
	set(&t, name, id)
	return t
}

// Every API's rule, on requests the policy allows, partly allows and
// denies: what is forwarded and which errors the client sees.
func TestRulesPerAPI(t *testing.T) {
	str := kmsg.StringPtr
	tests := []struct {
		name string
		req  kmsg.Request
		want string
	}{
		{"AddPartitionsToTxn: one denied topic fails the request, the others are not attempted", &kmsg.AddPartitionsToTxnRequest{Version: 3, TransactionalID: "orders-txn",
			Topics: []kmsg.AddPartitionsToTxnRequestTopic{{Topic: "orders-eu", Partitions: []int32{0}}, {Topic: "payments", Partitions: []int32{0}}}},
			"answer resp[orders-eu=55 payments=29]"},
		{"AddPartitionsToTxn: denied transactional id", &kmsg.AddPartitionsToTxnRequest{Version: 3, TransactionalID: "other",
			Topics: []kmsg.AddPartitionsToTxnRequestTopic{{Topic: "orders-eu", Partitions: []int32{0}}}},
			"answer resp[orders-eu=53]"},
		{"AddPartitionsToTxn v4 (brokers' form) needs ClusterAction", &kmsg.AddPartitionsToTxnRequest{Version: 4}, "answer resp[top=31]"},
		{"AddOffsetsToTxn: group checked after the transactional id", &kmsg.AddOffsetsToTxnRequest{TransactionalID: "orders-txn", Group: "other"}, "answer resp[top=30]"},
		{"AddOffsetsToTxn: allowed", &kmsg.AddOffsetsToTxnRequest{TransactionalID: "orders-txn", Group: "orders-app"}, "forward"},
		{"EndTxn: denied", &kmsg.EndTxnRequest{TransactionalID: "other"}, "answer resp[top=53]"},
		{"TxnOffsetCommit: denied topic merged", &kmsg.TxnOffsetCommitRequest{Version: 3, TransactionalID: "orders-txn", Group: "orders-app",
			Topics: []kmsg.TxnOffsetCommitRequestTopic{{Topic: "orders-eu", Partitions: []kmsg.TxnOffsetCommitRequestTopicPartition{{}}}, {Topic: "secret", Partitions: []kmsg.TxnOffsetCommitRequestTopicPartition{{}}}}},
			"edit req[orders-app orders-eu] resp[secret=29]"},
		{"DeleteTopics by id: an undescribable id is unknown, a describable one without Delete is 29", &kmsg.DeleteTopicsRequest{Version: 6,
			Topics: []kmsg.DeleteTopicsRequestTopic{{TopicID: idOrders}, {TopicID: idPayment}, {TopicID: [16]byte{9}}}},
			"edit req[id1] resp[id2=29 id9=100]"},
		{"DeleteTopics by name", &kmsg.DeleteTopicsRequest{Version: 5, TopicNames: []string{"orders-old", "payments"}}, "edit req[orders-old] resp[payments=29]"},
		{"CreatePartitions: Alter", &kmsg.CreatePartitionsRequest{Topics: []kmsg.CreatePartitionsRequestTopic{{Topic: "payments", Count: 3}}}, "answer resp[payments=29]"},
		{"DescribeGroups: per group", &kmsg.DescribeGroupsRequest{Version: 5, Groups: []string{"orders-app", "other"}}, "edit req[orders-app] resp[other=30]"},
		{"DeleteGroups: Delete", &kmsg.DeleteGroupsRequest{Groups: []string{"orders-app"}}, "answer resp[orders-app=30]"},
		{"OffsetDelete: Delete on the group", &kmsg.OffsetDeleteRequest{Group: "orders-app"}, "answer resp[top=30]"},
		{"ConsumerGroupHeartbeat: Read on the group", &kmsg.ConsumerGroupHeartbeatRequest{Group: "other"}, "answer resp[top=30]"},
		{"ConsumerGroupHeartbeat: subscribed topics need Describe", &kmsg.ConsumerGroupHeartbeatRequest{Group: "orders-app", SubscribedTopicNames: []string{"orders-eu", "secret"}}, "answer resp[top=29]"},
		{"ConsumerGroupHeartbeat: allowed", &kmsg.ConsumerGroupHeartbeatRequest{Group: "orders-app", SubscribedTopicNames: []string{"orders-eu", "payments"}}, "forward"},
		{"OffsetFetch v7: denied group", &kmsg.OffsetFetchRequest{Version: 7, Group: "other"}, "answer resp[top=30]"},
		{"OffsetFetch v8: per group, denied topics merged", &kmsg.OffsetFetchRequest{Version: 8, Groups: []kmsg.OffsetFetchRequestGroup{
			{Group: "orders-app", Topics: []kmsg.OffsetFetchRequestGroupTopic{{Topic: "orders-eu", Partitions: []int32{0}}, {Topic: "secret", Partitions: []int32{0}}}},
			{Group: "other"}}},
			"edit req[orders-app orders-eu] resp[other=30 secret=29]"},
		{"DescribeTransactions: per id", &kmsg.DescribeTransactionsRequest{TransactionalIDs: []string{"orders-txn", "other"}}, "edit req[orders-txn] resp[other=53]"},
		{"DescribeProducers: Read", &kmsg.DescribeProducersRequest{Topics: []kmsg.DescribeProducersRequestTopic{{Topic: "payments", Partitions: []int32{0}}}}, "answer resp[payments=29]"},
		{"DeleteRecords: Delete", &kmsg.DeleteRecordsRequest{Topics: []kmsg.DeleteRecordsRequestTopic{{Topic: "orders-eu"}, {Topic: "payments", Partitions: []kmsg.DeleteRecordsRequestTopicPartition{{}}}}}, "edit req[orders-eu] resp[payments=29]"},
		{"ListOffsets: Describe", &kmsg.ListOffsetsRequest{Version: 7, Topics: []kmsg.ListOffsetsRequestTopic{{Topic: "secret", Partitions: []kmsg.ListOffsetsRequestTopicPartition{{}}}}}, "answer resp[secret=29]"},
		{"IncrementalAlterConfigs: cluster resources report 31", &kmsg.IncrementalAlterConfigsRequest{Resources: []kmsg.IncrementalAlterConfigsRequestResource{
			{ResourceType: kmsg.ConfigResourceTypeBroker, ResourceName: "1"}, {ResourceType: kmsg.ConfigResourceTypeTopic, ResourceName: "orders-eu"}}},
			"edit req[orders-eu] resp[1=31]"},
		{"AlterConfigs: an unknown resource type is refused", &kmsg.AlterConfigsRequest{Resources: []kmsg.AlterConfigsRequestResource{{ResourceType: 99, ResourceName: "x"}}}, "answer resp[x=42]"},
		{"ElectLeaders v0: per partition", &kmsg.ElectLeadersRequest{Topics: []kmsg.ElectLeadersRequestTopic{{Topic: "orders-eu", Partitions: []int32{0}}}}, "answer resp[orders-eu=31 top=31]"},
		{"AlterPartitionAssignments: Alter on the cluster", &kmsg.AlterPartitionAssignmentsRequest{}, "answer resp[top=31]"},
		{"DescribeLogDirs v4: Describe on the cluster", &kmsg.DescribeLogDirsRequest{Version: 4}, "answer resp[top=31]"},
		{"AlterClientQuotas: per entry", &kmsg.AlterClientQuotasRequest{Entries: []kmsg.AlterClientQuotasRequestEntry{{}}}, "answer resp[top=31]"},
		{"FindCoordinator v3: denied transactional id", &kmsg.FindCoordinatorRequest{Version: 3, CoordinatorType: 1, CoordinatorKey: "other"}, "answer resp[top=53]"},
		{"FindCoordinator: share groups are not supported", &kmsg.FindCoordinatorRequest{Version: 6, CoordinatorType: 2, CoordinatorKeys: []string{"g:x:0"}}, "answer resp[g:x:0=42]"},
		{"Produce by topic id (v13)", &kmsg.ProduceRequest{Version: 13, Acks: -1, Topics: []kmsg.ProduceRequestTopic{{TopicID: idOrders, Partitions: []kmsg.ProduceRequestTopicPartition{{}}}, {TopicID: idPayment, Partitions: []kmsg.ProduceRequestTopicPartition{{}}}}}, "edit req[id1] resp[id2=29]"},
		{"transactional Produce without Write on the id fails every partition", &kmsg.ProduceRequest{Version: 9, Acks: -1, TransactionID: str("other"),
			Topics: []kmsg.ProduceRequestTopic{{Topic: "orders-eu", Partitions: []kmsg.ProduceRequestTopicPartition{{}}}}}, "answer resp[orders-eu=53]"},
		{"acks=0 Produce, every topic denied: nothing forwarded, connection closed", &kmsg.ProduceRequest{Version: 9, Acks: 0, Topics: []kmsg.ProduceRequestTopic{{Topic: "payments"}}}, "drop"},
		{"Fetch from a replica needs ClusterAction", &kmsg.FetchRequest{Version: 12, ReplicaID: 1, Topics: []kmsg.FetchRequestTopic{{Topic: "orders-eu", Partitions: []kmsg.FetchRequestTopicPartition{{}}}}}, "answer resp[orders-eu=29]"},
		{"InitProducerId: transactional id denied", &kmsg.InitProducerIDRequest{Version: 4, TransactionalID: str("other")}, "answer resp[top=53]"},
		{"Metadata, named: denied and unknown ids merged", &kmsg.MetadataRequest{Version: 12, IncludeTopicAuthorizedOperations: true,
			Topics: []kmsg.MetadataRequestTopic{{Topic: str("orders-eu")}, {Topic: str("secret")}, {TopicID: [16]byte{9}}}},
			"edit req[orders-eu] resp[id9=100 secret=29]"},
		{"Metadata v0-3 cannot disable auto-creation: a topic without Create is denied", &kmsg.MetadataRequest{Version: 3,
			Topics: []kmsg.MetadataRequestTopic{{Topic: str("orders-eu")}, {Topic: str("payments")}}},
			"edit req[orders-eu] resp[payments=29]"},
		{"DescribeTopicPartitions: named denied topic", &kmsg.DescribeTopicPartitionsRequest{Topics: []kmsg.DescribeTopicPartitionsRequestTopic{{Topic: "orders-eu"}, {Topic: "secret"}}},
			"edit req[orders-eu] resp[secret=29]"},
		{"CreateTopics: Create on the topic, configs shown", &kmsg.CreateTopicsRequest{Version: 7, Topics: []kmsg.CreateTopicsRequestTopic{{Topic: "orders-new"}, {Topic: "other"}}},
			"edit req[orders-new] resp[other=29]"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := ruleTestContext(t)
			strict := &patchChecker{Checker: c.Check, t: t}
			c.Check = strict
			v, ok := Enforce(c, tc.req)
			if !ok {
				t.Fatalf("%s has no rule", kmsg.NameForKey(tc.req.Key()))
			}
			strict.patching = true
			if got := outcome(tc.req, v); got != tc.want {
				t.Errorf("got  %s\nwant %s", got, tc.want)
			}
		})
	}
}

// opNames lists the operations of an authorized-operations bit field.
func opNames(bits int32) string {
	var out []string
	for op := OpAll; op <= OpIdempotentWrite; op++ {
		if bits&(1<<op) != 0 {
			out = append(out, op.String())
		}
	}
	return strings.Join(out, ",")
}

// Listings are filtered, and the fields the broker computed for the
// proxy's own identity are recomputed for the principal, in the broker's
// answer as it passes through.
func TestResponsePatches(t *testing.T) {
	topic := func(name string, code int16) kmsg.MetadataResponseTopic {
		x := kmsg.NewMetadataResponseTopic()
		x.Topic, x.ErrorCode, x.AuthorizedOperations = kmsg.StringPtr(name), code, 0x7fffffff
		return x
	}
	tests := []struct {
		name     string
		req      kmsg.Request
		upstream kmsg.Response
		render   func(kmsg.Response) string
		want     string
	}{
		{"Metadata for every topic: undescribable topics are left out, operations are the principal's",
			&kmsg.MetadataRequest{Version: 12, IncludeTopicAuthorizedOperations: true},
			&kmsg.MetadataResponse{Version: 12, Topics: []kmsg.MetadataResponseTopic{topic("orders-eu", 0), topic("payments", 0), topic("secret", 0)}},
			func(r kmsg.Response) string {
				var out []string
				for _, x := range r.(*kmsg.MetadataResponse).Topics {
					out = append(out, *x.Topic+"="+opNames(x.AuthorizedOperations))
				}
				return strings.Join(out, " ")
			},
			"orders-eu=Read,Write,Create,Delete,Alter,Describe,DescribeConfigs,AlterConfigs payments=Describe"},
		{"Metadata auto-creating a topic without Create: the broker's unknown topic becomes 29",
			&kmsg.MetadataRequest{Version: 12, AllowAutoTopicCreation: true, Topics: []kmsg.MetadataRequestTopic{{Topic: kmsg.StringPtr("payments")}}},
			&kmsg.MetadataResponse{Version: 12, Topics: []kmsg.MetadataResponseTopic{topic("payments", 3)}},
			func(r kmsg.Response) string { return fmt.Sprint(metadataErrors(r)) },
			"map[payments:29]"},
		{"ListGroups without Describe on the cluster lists describable groups only",
			&kmsg.ListGroupsRequest{Version: 4},
			&kmsg.ListGroupsResponse{Version: 4, Groups: []kmsg.ListGroupsResponseGroup{{Group: "orders-app"}, {Group: "other"}}},
			func(r kmsg.Response) string {
				var out []string
				for _, g := range r.(*kmsg.ListGroupsResponse).Groups {
					out = append(out, g.Group)
				}
				return strings.Join(out, " ")
			},
			"orders-app"},
		{"ListTransactions lists describable transactional ids only",
			&kmsg.ListTransactionsRequest{},
			&kmsg.ListTransactionsResponse{TransactionStates: []kmsg.ListTransactionsResponseTransactionState{{TransactionalID: "orders-txn"}, {TransactionalID: "other"}}},
			func(r kmsg.Response) string {
				var out []string
				for _, x := range r.(*kmsg.ListTransactionsResponse).TransactionStates {
					out = append(out, x.TransactionalID)
				}
				return strings.Join(out, " ")
			},
			"orders-txn"},
		{"DescribeTopicPartitions for every topic is filtered",
			&kmsg.DescribeTopicPartitionsRequest{},
			&kmsg.DescribeTopicPartitionsResponse{Topics: []kmsg.DescribeTopicPartitionsResponseTopic{{Topic: kmsg.StringPtr("orders-eu")}, {Topic: kmsg.StringPtr("secret")}}},
			func(r kmsg.Response) string {
				var out []string
				for _, x := range r.(*kmsg.DescribeTopicPartitionsResponse).Topics {
					out = append(out, *x.Topic+"="+opNames(x.AuthorizedOperations))
				}
				return strings.Join(out, " ")
			},
			"orders-eu=Read,Write,Create,Delete,Alter,Describe,DescribeConfigs,AlterConfigs"},
		{"OffsetFetch of all of a group's topics is filtered",
			&kmsg.OffsetFetchRequest{Version: 8, Groups: []kmsg.OffsetFetchRequestGroup{{Group: "orders-app"}}},
			&kmsg.OffsetFetchResponse{Version: 8, Groups: []kmsg.OffsetFetchResponseGroup{{Group: "orders-app",
				Topics: []kmsg.OffsetFetchResponseGroupTopic{{Topic: "orders-eu"}, {Topic: "secret"}}}}},
			func(r kmsg.Response) string {
				var out []string
				for _, g := range r.(*kmsg.OffsetFetchResponse).Groups {
					for _, x := range g.Topics {
						out = append(out, g.Group+"/"+x.Topic)
					}
				}
				return strings.Join(out, " ")
			},
			"orders-app/orders-eu"},
		{"DescribeGroups: a group's authorized operations are the principal's",
			&kmsg.DescribeGroupsRequest{Version: 5, Groups: []string{"orders-app"}, IncludeAuthorizedOperations: true},
			&kmsg.DescribeGroupsResponse{Version: 5, Groups: []kmsg.DescribeGroupsResponseGroup{{Group: "orders-app", AuthorizedOperations: 0x7fffffff}}},
			func(r kmsg.Response) string {
				return opNames(r.(*kmsg.DescribeGroupsResponse).Groups[0].AuthorizedOperations)
			},
			"Read,Describe"},
		{"DescribeCluster without Describe on the cluster: no authorized operations, as a broker answers",
			&kmsg.DescribeClusterRequest{IncludeClusterAuthorizedOperations: true},
			&kmsg.DescribeClusterResponse{ClusterAuthorizedOperations: 0x7fffffff},
			func(r kmsg.Response) string {
				return fmt.Sprint(r.(*kmsg.DescribeClusterResponse).ClusterAuthorizedOperations)
			},
			"0"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := ruleTestContext(t)
			strict := &patchChecker{Checker: c.Check, t: t}
			c.Check = strict
			v, _ := Enforce(c, tc.req)
			if v.Answer != nil || v.Patch == nil {
				t.Fatalf("want the request forwarded and its answer patched; got %s", outcome(tc.req, v))
			}
			strict.patching = true
			v.Patch(tc.upstream)
			if got := tc.render(tc.upstream); got != tc.want {
				t.Errorf("got  %s\nwant %s", got, tc.want)
			}
		})
	}
}

func metadataErrors(r kmsg.Response) map[string]int16 {
	out := map[string]int16{}
	for _, x := range r.(*kmsg.MetadataResponse).Topics {
		out[*x.Topic] = x.ErrorCode
	}
	return out
}

// Idempotence needs Write on some topic (KIP-679) or IdempotentWrite on
// the cluster.
func TestIdempotentInitProducerID(t *testing.T) {
	for _, tc := range []struct {
		name string
		acls []ACL
		want bool
	}{
		{"Write on a topic", []ACL{{Principal: "User:a", Host: "*", ResourceType: ResourceTopic, Name: "x", Pattern: PatternLiteral, Operation: OpWrite, Permission: PermissionAllow}}, true},
		{"IdempotentWrite on the cluster", []ACL{{Principal: "User:a", Host: "*", ResourceType: ResourceCluster, Name: ClusterName, Pattern: PatternLiteral, Operation: OpIdempotentWrite, Permission: PermissionAllow}}, true},
		{"Read only", []ACL{{Principal: "User:a", Host: "*", ResourceType: ResourceTopic, Name: "x", Pattern: PatternLiteral, Operation: OpRead, Permission: PermissionAllow}}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tbl, err := Compile(Policy{ACLs: tc.acls})
			if err != nil {
				t.Fatal(err)
			}
			c := &Context{Check: subjectChecker{tbl.Subject("User:a", "h")}}
			v, _ := Enforce(c, &kmsg.InitProducerIDRequest{Version: 4})
			if got := v.Answer == nil; got != tc.want {
				t.Errorf("allowed: got %v, want %v (%s)", got, tc.want, outcome(&kmsg.InitProducerIDRequest{}, v))
			}
		})
	}
}

// A fetch session begun under an older policy is reset, so that its
// partitions are checked again.
func TestStaleFetchSessionIsReset(t *testing.T) {
	c := ruleTestContext(t)
	version := 1
	seen := 0
	c.FetchSessionStale = func(full bool) bool {
		if full {
			seen = version
			return false
		}
		return seen != version
	}
	incremental := &kmsg.FetchRequest{Version: 12, ReplicaID: -1, SessionID: 7, SessionEpoch: 3}
	full := &kmsg.FetchRequest{Version: 12, ReplicaID: -1, SessionEpoch: 0}
	steps := []struct {
		req  *kmsg.FetchRequest
		bump bool
		want string
	}{
		{full, false, "forward"},
		{incremental, false, "forward"},
		{incremental, true, "answer resp[top=70]"},
		{full, false, "forward"},
		{incremental, false, "forward"},
	}
	for i, s := range steps {
		if s.bump {
			version++
		}
		v, _ := Enforce(c, s.req)
		if got := outcome(s.req, v); got != s.want {
			t.Errorf("step %d: got %s, want %s", i, got, s.want)
		}
	}
}

// FuzzEnforce runs every rule on arbitrary decodable requests: no rule
// may panic, and its verdict must encode.
func FuzzEnforce(f *testing.F) {
	for _, req := range []kmsg.Request{
		&kmsg.ProduceRequest{Version: 9, Acks: -1, Topics: []kmsg.ProduceRequestTopic{{Topic: "payments", Partitions: []kmsg.ProduceRequestTopicPartition{{}}}}},
		&kmsg.MetadataRequest{Version: 12, Topics: []kmsg.MetadataRequestTopic{{Topic: kmsg.StringPtr("x")}, {TopicID: idOrders}}},
		&kmsg.OffsetFetchRequest{Version: 8, Groups: []kmsg.OffsetFetchRequestGroup{{Group: "orders-app"}}},
		&kmsg.FetchRequest{Version: 13, ReplicaID: -1, Topics: []kmsg.FetchRequestTopic{{TopicID: idPayment}}},
	} {
		f.Add(byte(req.Key()), byte(req.GetVersion()), req.AppendTo(nil))
	}
	f.Fuzz(func(t *testing.T, key, version byte, body []byte) {
		req := kmsg.RequestForKey(int16(key))
		if req == nil || int16(version) > req.MaxVersion() || !Enforced(req.Key()) {
			return
		}
		req.SetVersion(int16(version))
		if req.ReadFrom(body) != nil {
			return
		}
		c := ruleTestContext(t)
		c.FetchSessionStale = func(bool) bool { return false }
		v, _ := Enforce(c, req)
		if v.Edited {
			req.AppendTo(nil)
		}
		resp := v.Answer
		if resp == nil && v.Patch != nil {
			resp = req.ResponseKind()
			resp.SetVersion(req.GetVersion())
			v.Patch(resp)
		}
		if resp != nil {
			resp.AppendTo(nil)
		}
	})
}

// The per-request cost of authorization on the hot paths, allowed
// requests with the decisions memoised: it must not allocate.
func BenchmarkEnforce(b *testing.B) {
	t := &testing.T{}
	for _, bc := range []struct {
		name string
		req  kmsg.Request
	}{
		{"Produce", &kmsg.ProduceRequest{Version: 9, Acks: -1, Topics: []kmsg.ProduceRequestTopic{{Topic: "orders-eu", Partitions: []kmsg.ProduceRequestTopicPartition{{}}}}}},
		{"Fetch", &kmsg.FetchRequest{Version: 12, ReplicaID: -1, Topics: []kmsg.FetchRequestTopic{{Topic: "orders-eu", Partitions: []kmsg.FetchRequestTopicPartition{{}}}}}},
		{"FetchByTopicID", &kmsg.FetchRequest{Version: 13, ReplicaID: -1, Topics: []kmsg.FetchRequestTopic{{TopicID: idOrders, Partitions: []kmsg.FetchRequestTopicPartition{{}}}}}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			c := ruleTestContext(t)
			c.FetchSessionStale = func(bool) bool { return false }
			b.ReportAllocs()
			for b.Loop() {
				if v, _ := Enforce(c, bc.req); v.Answer != nil || v.Edited {
					b.Fatal("denied")
				}
			}
		})
	}
}
