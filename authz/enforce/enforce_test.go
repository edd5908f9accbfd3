package enforce

import (
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/kafka-auth-proxy/kafka-auth-proxy/authz"
)

// subjectChecker is a Checker straight on a Subject, as the proxy's is
// without metrics and audit.
type subjectChecker struct{ s *authz.Subject }

func (c subjectChecker) Authorize(rt authz.ResourceType, name string, op authz.Operation) bool {
	return c.s.Authorize(rt, name, op).Allowed
}
func (c subjectChecker) Visible(rt authz.ResourceType, name string, op authz.Operation) bool {
	return c.s.Authorize(rt, name, op).Allowed
}
func (c subjectChecker) AuthorizeAny(rt authz.ResourceType, op authz.Operation) bool {
	return c.s.AuthorizeAny(rt, op).Allowed
}
func (c subjectChecker) PolicyVersion() uint64      { return c.s.Table().Version() }
func (c subjectChecker) Reserved(topic string) bool { return c.s.Table().Reserved(topic) }

// patchChecker fails a test when a response patch makes an audited check:
// patches run on the response path and may only filter.
type patchChecker struct {
	Checker
	t        *testing.T
	patching bool
}

func (c *patchChecker) Authorize(rt authz.ResourceType, name string, op authz.Operation) bool {
	if c.patching {
		c.t.Errorf("a response patch called Authorize(%s, %q, %s)", rt, name, op)
	}
	return c.Checker.Authorize(rt, name, op)
}

func (c *patchChecker) AuthorizeAny(rt authz.ResourceType, op authz.Operation) bool {
	if c.patching {
		c.t.Errorf("a response patch called AuthorizeAny(%s, %s)", rt, op)
	}
	return c.Checker.AuthorizeAny(rt, op)
}

type fakeTopics map[[16]byte]string

func (f fakeTopics) TopicName(id [16]byte) (string, bool) { n, ok := f[id]; return n, ok }

// AllTopics lists the topics of the ids.
func (f fakeTopics) AllTopics() ([]string, error) {
	var out []string
	for _, n := range f {
		out = append(out, n)
	}
	return out, nil
}

var (
	idOrders  = [16]byte{1}
	idPayment = [16]byte{2}
	idSecret  = [16]byte{3}
)

// ruleTestContext is sa-app's view of a policy like the proxy tests':
// orders-* readable and writable, group orders-app, transactional id
// orders-txn.
func ruleTestContext(t testing.TB) *Client {
	t.Helper()
	tbl, err := authz.Compile(authz.Policy{
		ACLs: []authz.ACL{
			{Principal: "User:sa-app", Host: "*", ResourceType: authz.ResourceTopic, Name: "orders-", Pattern: authz.PatternPrefixed, Operation: authz.OpAll, Permission: authz.PermissionAllow},
			{Principal: "User:sa-app", Host: "*", ResourceType: authz.ResourceTopic, Name: "payments", Pattern: authz.PatternLiteral, Operation: authz.OpDescribe, Permission: authz.PermissionAllow},
			{Principal: "User:sa-app", Host: "*", ResourceType: authz.ResourceGroup, Name: "orders-app", Pattern: authz.PatternLiteral, Operation: authz.OpRead, Permission: authz.PermissionAllow},
			{Principal: "User:sa-app", Host: "*", ResourceType: authz.ResourceTransactionalID, Name: "orders-txn", Pattern: authz.PatternLiteral, Operation: authz.OpWrite, Permission: authz.PermissionAllow},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	return &Client{Check: subjectChecker{tbl.Subject("User:sa-app", "10.0.0.1")}, Topics: fakeTopics{idOrders: "orders-eu", idPayment: "payments", idSecret: "secret"}}
}

// operatorTestContext is the view of a principal that may describe and
// alter the cluster's configs, and nothing else.
func operatorTestContext(t testing.TB) *Client {
	t.Helper()
	var acls []authz.ACL
	for _, op := range []authz.Operation{authz.OpDescribeConfigs, authz.OpAlterConfigs} {
		acls = append(acls, authz.ACL{Principal: "User:sa-ops", Host: "*", ResourceType: authz.ResourceCluster, Name: authz.ClusterName,
			Pattern: authz.PatternLiteral, Operation: op, Permission: authz.PermissionAllow})
	}
	tbl, err := authz.Compile(authz.Policy{ACLs: acls})
	if err != nil {
		t.Fatal(err)
	}
	return &Client{Check: subjectChecker{tbl.Subject("User:sa-ops", "10.0.0.2")}, Topics: fakeTopics{}}
}

// outcome describes a verdict: "forward", "edit", "answer" or "drop", the
// edited request's items, and the error codes the client will see (from
// the local answer, or merged into an empty upstream answer).
func outcome(req kmsg.Request, v Verdict) string {
	kind := map[Action]string{ActForward: "forward", ActForwardEdited: "edit", ActAnswer: "answer", ActDrop: "drop"}[v.Action()]
	resp := v.Answer()
	if resp == nil && v.Patch() != nil {
		resp = req.ResponseKind()
		resp.SetVersion(req.GetVersion())
		v.Patch()(resp)
	}
	out := kind
	if v.Action() == ActForwardEdited {
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

// Every API's rule, on requests the policy allows, partly allows and
// denies: what is forwarded and which errors the client sees.
func TestRulesPerAPI(t *testing.T) {
	str := kmsg.StringPtr
	tests := []struct {
		name     string
		rule     Rule
		req      kmsg.Request
		want     string
		operator bool // as operatorTestContext's principal
	}{
		{"AddPartitionsToTxn: one denied topic fails the request, the others are not attempted", AddPartitionsToTxn, &kmsg.AddPartitionsToTxnRequest{Version: 3, TransactionalID: "orders-txn",
			Topics: []kmsg.AddPartitionsToTxnRequestTopic{{Topic: "orders-eu", Partitions: []int32{0}}, {Topic: "payments", Partitions: []int32{0}}}},
			"answer resp[orders-eu=55 payments=29]", false},
		{"AddPartitionsToTxn: denied transactional id", AddPartitionsToTxn, &kmsg.AddPartitionsToTxnRequest{Version: 3, TransactionalID: "other",
			Topics: []kmsg.AddPartitionsToTxnRequestTopic{{Topic: "orders-eu", Partitions: []int32{0}}}},
			"answer resp[orders-eu=53]", false},
		{"AddPartitionsToTxn v4 (brokers' form) needs ClusterAction", AddPartitionsToTxn, &kmsg.AddPartitionsToTxnRequest{Version: 4}, "answer resp[top=31]", false},
		{"AddOffsetsToTxn: group checked after the transactional id", AddOffsetsToTxn, &kmsg.AddOffsetsToTxnRequest{TransactionalID: "orders-txn", Group: "other"}, "answer resp[top=30]", false},
		{"AddOffsetsToTxn: allowed", AddOffsetsToTxn, &kmsg.AddOffsetsToTxnRequest{TransactionalID: "orders-txn", Group: "orders-app"}, "forward", false},
		{"EndTxn: denied", EndTxn, &kmsg.EndTxnRequest{TransactionalID: "other"}, "answer resp[top=53]", false},
		{"TxnOffsetCommit: denied topic merged", TxnOffsetCommit, &kmsg.TxnOffsetCommitRequest{Version: 3, TransactionalID: "orders-txn", Group: "orders-app",
			Topics: []kmsg.TxnOffsetCommitRequestTopic{{Topic: "orders-eu", Partitions: []kmsg.TxnOffsetCommitRequestTopicPartition{{}}}, {Topic: "secret", Partitions: []kmsg.TxnOffsetCommitRequestTopicPartition{{}}}}},
			"edit req[orders-app orders-eu] resp[secret=29]", false},
		{"DeleteTopics by id: an unknown id is UNKNOWN_TOPIC_ID; one that may not be deleted is 29, named only when describable", DeleteTopics, &kmsg.DeleteTopicsRequest{Version: 6,
			Topics: []kmsg.DeleteTopicsRequestTopic{{TopicID: idOrders}, {TopicID: idPayment}, {TopicID: idSecret}, {TopicID: [16]byte{9}}}},
			"edit req[id1] resp[id3=29 id9=100 payments=29]", false},
		{"DeleteTopics with both a name and an id, or neither, is invalid", DeleteTopics, &kmsg.DeleteTopicsRequest{Version: 6,
			Topics: []kmsg.DeleteTopicsRequestTopic{{Topic: str("orders-eu"), TopicID: idSecret}, {}}},
			"answer resp[orders-eu=42 top=42]", false},
		{"DeleteTopics by name", DeleteTopics, &kmsg.DeleteTopicsRequest{Version: 5, TopicNames: []string{"orders-old", "payments"}}, "edit req[orders-old] resp[payments=29]", false},
		{"CreatePartitions: Alter", CreatePartitions, &kmsg.CreatePartitionsRequest{Topics: []kmsg.CreatePartitionsRequestTopic{{Topic: "payments", Count: 3}}}, "answer resp[payments=29]", false},
		{"DescribeGroups: per group", DescribeGroups, &kmsg.DescribeGroupsRequest{Version: 5, Groups: []string{"orders-app", "other"}}, "edit req[orders-app] resp[other=30]", false},
		{"DeleteGroups: Delete", DeleteGroups, &kmsg.DeleteGroupsRequest{Groups: []string{"orders-app"}}, "answer resp[orders-app=30]", false},
		{"OffsetDelete: Delete on the group", OffsetDelete, &kmsg.OffsetDeleteRequest{Group: "orders-app"}, "answer resp[top=30]", false},
		{"ConsumerGroupHeartbeat: Read on the group", ConsumerGroupHeartbeat, &kmsg.ConsumerGroupHeartbeatRequest{Group: "other"}, "answer resp[top=30]", false},
		{"ConsumerGroupHeartbeat: subscribed topics need Describe", ConsumerGroupHeartbeat, &kmsg.ConsumerGroupHeartbeatRequest{Group: "orders-app", SubscribedTopicNames: []string{"orders-eu", "secret"}}, "answer resp[top=29]", false},
		{"ConsumerGroupHeartbeat: allowed", ConsumerGroupHeartbeat, &kmsg.ConsumerGroupHeartbeatRequest{Group: "orders-app", SubscribedTopicNames: []string{"orders-eu", "payments"}}, "forward", false},
		{"OffsetFetch v7: denied group", OffsetFetch, &kmsg.OffsetFetchRequest{Version: 7, Group: "other"}, "answer resp[top=30]", false},
		{"OffsetFetch v8: per group, denied topics merged", OffsetFetch, &kmsg.OffsetFetchRequest{Version: 8, Groups: []kmsg.OffsetFetchRequestGroup{
			{Group: "orders-app", Topics: []kmsg.OffsetFetchRequestGroupTopic{{Topic: "orders-eu", Partitions: []int32{0}}, {Topic: "secret", Partitions: []int32{0}}}},
			{Group: "other"}}},
			"edit req[orders-app orders-eu] resp[other=30 secret=29]", false},
		{"DescribeTransactions: per id", DescribeTransactions, &kmsg.DescribeTransactionsRequest{TransactionalIDs: []string{"orders-txn", "other"}}, "edit req[orders-txn] resp[other=53]", false},
		{"DescribeProducers: Read", DescribeProducers, &kmsg.DescribeProducersRequest{Topics: []kmsg.DescribeProducersRequestTopic{{Topic: "payments", Partitions: []int32{0}}}}, "answer resp[payments=29]", false},
		{"DeleteRecords: Delete", DeleteRecords, &kmsg.DeleteRecordsRequest{Topics: []kmsg.DeleteRecordsRequestTopic{{Topic: "orders-eu"}, {Topic: "payments", Partitions: []kmsg.DeleteRecordsRequestTopicPartition{{}}}}}, "edit req[orders-eu] resp[payments=29]", false},
		{"ListOffsets: Describe", ListOffsets, &kmsg.ListOffsetsRequest{Version: 7, Topics: []kmsg.ListOffsetsRequestTopic{{Topic: "secret", Partitions: []kmsg.ListOffsetsRequestTopicPartition{{}}}}}, "answer resp[secret=29]", false},
		{"IncrementalAlterConfigs: cluster resources report 31", IncrementalAlterConfigs, &kmsg.IncrementalAlterConfigsRequest{Resources: []kmsg.IncrementalAlterConfigsRequestResource{
			{ResourceType: kmsg.ConfigResourceTypeBroker, ResourceName: "1"}, {ResourceType: kmsg.ConfigResourceTypeTopic, ResourceName: "orders-eu"}}},
			"edit req[orders-eu] resp[1=31]", false},
		{"AlterConfigs: an unknown resource type is refused", AlterConfigs, &kmsg.AlterConfigsRequest{Resources: []kmsg.AlterConfigsRequestResource{{ResourceType: 99, ResourceName: "x"}}}, "answer resp[x=42]", false},
		{"ElectLeaders v0: per partition", ElectLeaders, &kmsg.ElectLeadersRequest{Topics: []kmsg.ElectLeadersRequestTopic{{Topic: "orders-eu", Partitions: []int32{0}}}}, "answer resp[orders-eu=31 top=31]", false},
		{"AlterPartitionAssignments: Alter on the cluster", AlterPartitionAssignments, &kmsg.AlterPartitionAssignmentsRequest{}, "answer resp[top=31]", false},
		{"DescribeLogDirs v4: Describe on the cluster", DescribeLogDirs, &kmsg.DescribeLogDirsRequest{Version: 4}, "answer resp[top=31]", false},
		{"AlterClientQuotas: per entry", AlterClientQuotas, &kmsg.AlterClientQuotasRequest{Entries: []kmsg.AlterClientQuotasRequestEntry{{}}}, "answer resp[top=31]", false},
		{"FindCoordinator v3: denied transactional id", FindCoordinator, &kmsg.FindCoordinatorRequest{Version: 3, CoordinatorType: 1, CoordinatorKey: "other"}, "answer resp[top=53]", false},
		{"FindCoordinator: share groups are not supported", FindCoordinator, &kmsg.FindCoordinatorRequest{Version: 6, CoordinatorType: 2, CoordinatorKeys: []string{"g:x:0"}}, "answer resp[g:x:0=42]", false},
		{"Produce by topic id (v13)", Produce, &kmsg.ProduceRequest{Version: 13, Acks: -1, Topics: []kmsg.ProduceRequestTopic{{TopicID: idOrders, Partitions: []kmsg.ProduceRequestTopicPartition{{}}}, {TopicID: idPayment, Partitions: []kmsg.ProduceRequestTopicPartition{{}}}}}, "edit req[id1] resp[id2=29]", false},
		{"transactional Produce without Write on the id fails every partition", Produce, &kmsg.ProduceRequest{Version: 9, Acks: -1, TransactionID: str("other"),
			Topics: []kmsg.ProduceRequestTopic{{Topic: "orders-eu", Partitions: []kmsg.ProduceRequestTopicPartition{{}}}}}, "answer resp[orders-eu=53]", false},
		{"acks=0 Produce, every topic denied: nothing forwarded, connection closed", Produce, &kmsg.ProduceRequest{Version: 9, Acks: 0, Topics: []kmsg.ProduceRequestTopic{{Topic: "payments"}}}, "drop", false},
		{"Fetch from a replica needs ClusterAction", Fetch, &kmsg.FetchRequest{Version: 12, ReplicaID: 1, Topics: []kmsg.FetchRequestTopic{{Topic: "orders-eu", Partitions: []kmsg.FetchRequestTopicPartition{{}}}}}, "answer resp[orders-eu=29]", false},
		{"InitProducerId: transactional id denied", InitProducerID, &kmsg.InitProducerIDRequest{Version: 4, TransactionalID: str("other")}, "answer resp[top=53]", false},
		{"Metadata, named: a denied name is 29", Metadata, &kmsg.MetadataRequest{Version: 12, IncludeTopicAuthorizedOperations: true,
			Topics: []kmsg.MetadataRequestTopic{{Topic: str("orders-eu")}, {Topic: str("secret")}}},
			"edit req[orders-eu] resp[secret=29]", false},
		{"Metadata by id: only ids count, as on a broker; denied and unknown ids are answered without a name", Metadata, &kmsg.MetadataRequest{Version: 12,
			Topics: []kmsg.MetadataRequestTopic{{TopicID: idOrders}, {TopicID: idSecret}, {TopicID: [16]byte{9}}, {Topic: str("payments")}}},
			"edit req[id1] resp[id3=29 id9=100]", false},
		{"Metadata with an allowed name beside a denied id authorizes the id the broker describes", Metadata, &kmsg.MetadataRequest{Version: 12,
			Topics: []kmsg.MetadataRequestTopic{{Topic: str("orders-eu"), TopicID: idSecret}}},
			"edit req[] resp[id3=29]", false},
		{"ConsumerGroupHeartbeat: a regular expression subscription is refused", ConsumerGroupHeartbeat, &kmsg.ConsumerGroupHeartbeatRequest{Version: 1, Group: "orders-app", SubscribedTopicRegex: str(".*")},
			"answer resp[top=128]", false},
		{"ConsumerGroupHeartbeat: an empty regular expression leaves the subscription", ConsumerGroupHeartbeat, &kmsg.ConsumerGroupHeartbeatRequest{Version: 1, Group: "orders-app", SubscribedTopicRegex: str("")},
			"forward", false},
		{"IncrementalAlterConfigs: a broker's listeners may not be changed", IncrementalAlterConfigs, &kmsg.IncrementalAlterConfigsRequest{Resources: []kmsg.IncrementalAlterConfigsRequestResource{
			{ResourceType: kmsg.ConfigResourceTypeBroker, ResourceName: "1", Configs: []kmsg.IncrementalAlterConfigsRequestResourceConfig{{Name: "advertised.listeners", Value: str("PLAINTEXT://evil:9092")}}}}},
			"answer resp[1=44]", true},
		{"IncrementalAlterConfigs: other broker configs may be changed, per-listener ones not", IncrementalAlterConfigs, &kmsg.IncrementalAlterConfigsRequest{Resources: []kmsg.IncrementalAlterConfigsRequestResource{
			{ResourceType: kmsg.ConfigResourceTypeBroker, ResourceName: "1", Configs: []kmsg.IncrementalAlterConfigsRequestResourceConfig{{Name: "log.cleaner.threads", Value: str("2")}}},
			{ResourceType: kmsg.ConfigResourceTypeBroker, ResourceName: "2", Configs: []kmsg.IncrementalAlterConfigsRequestResourceConfig{{Name: "listener.name.external.sasl.enabled.mechanisms", Value: str("PLAIN")}}}}},
			"edit req[1] resp[2=44]", true},
		{"AlterConfigs: super.users may not be set", AlterConfigs, &kmsg.AlterConfigsRequest{Resources: []kmsg.AlterConfigsRequestResource{
			{ResourceType: kmsg.ConfigResourceTypeBroker, ResourceName: "", Configs: []kmsg.AlterConfigsRequestResourceConfig{{Name: "super.users", Value: str("User:me")}}}}},
			"answer resp[top=44]", true},
		{"DescribeTopicPartitions for every topic names the describable ones", DescribeTopicPartitions, &kmsg.DescribeTopicPartitionsRequest{},
			"edit req[orders-eu payments] resp[]", false},
		{"DescribeTopicPartitions for every topic from a cursor", DescribeTopicPartitions, &kmsg.DescribeTopicPartitionsRequest{Cursor: &kmsg.DescribeTopicPartitionsRequestCursor{Topic: "p", Partition: 3}},
			"edit req[payments] resp[]", false},
		{"DescribeTopicPartitions: a cursor on a denied topic moves to the next", DescribeTopicPartitions, &kmsg.DescribeTopicPartitionsRequest{Cursor: &kmsg.DescribeTopicPartitionsRequestCursor{Topic: "aardvark", Partition: 1},
			Topics: []kmsg.DescribeTopicPartitionsRequestTopic{{Topic: "payments"}, {Topic: "aardvark"}, {Topic: "aaa-before-the-cursor"}, {Topic: "orders-eu"}, {Topic: "aardvark"}}},
			"edit req[payments orders-eu] resp[aardvark=29]", false},
		{"Metadata v0-3 cannot disable auto-creation: a topic without Create is denied", Metadata, &kmsg.MetadataRequest{Version: 3,
			Topics: []kmsg.MetadataRequestTopic{{Topic: str("orders-eu")}, {Topic: str("payments")}}},
			"edit req[orders-eu] resp[payments=29]", false},
		{"DescribeTopicPartitions: named denied topic", DescribeTopicPartitions, &kmsg.DescribeTopicPartitionsRequest{Topics: []kmsg.DescribeTopicPartitionsRequestTopic{{Topic: "orders-eu"}, {Topic: "secret"}}},
			"edit req[orders-eu] resp[secret=29]", false},
		{"CreateTopics: Create on the topic, configs shown", CreateTopics, &kmsg.CreateTopicsRequest{Version: 7, Topics: []kmsg.CreateTopicsRequestTopic{{Topic: "orders-new"}, {Topic: "other"}}},
			"edit req[orders-new] resp[other=29]", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := ruleTestContext(t)
			if tc.operator {
				c = operatorTestContext(t)
			}
			strict := &patchChecker{Checker: c.Check, t: t}
			c.Check = strict
			v := tc.rule(c, tc.req)
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
	for op := authz.OpAll; op <= authz.OpIdempotentWrite; op++ {
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
		rule     Rule
		req      kmsg.Request
		upstream kmsg.Response
		render   func(kmsg.Response) string
		want     string
		operator bool // as operatorTestContext's principal
	}{
		{"Metadata for every topic: undescribable topics are left out, operations are the principal's",
			Metadata, &kmsg.MetadataRequest{Version: 12, IncludeTopicAuthorizedOperations: true},
			&kmsg.MetadataResponse{Version: 12, Topics: []kmsg.MetadataResponseTopic{topic("orders-eu", 0), topic("payments", 0), topic("secret", 0)}},
			func(r kmsg.Response) string {
				var out []string
				for _, x := range r.(*kmsg.MetadataResponse).Topics {
					out = append(out, *x.Topic+"="+opNames(x.AuthorizedOperations))
				}
				return strings.Join(out, " ")
			},
			"orders-eu=Read,Write,Create,Delete,Alter,Describe,DescribeConfigs,AlterConfigs payments=Describe", false},
		{"Metadata auto-creating a topic without Create: the broker's unknown topic becomes 29",
			Metadata, &kmsg.MetadataRequest{Version: 12, AllowAutoTopicCreation: true, Topics: []kmsg.MetadataRequestTopic{{Topic: kmsg.StringPtr("payments")}}},
			&kmsg.MetadataResponse{Version: 12, Topics: []kmsg.MetadataResponseTopic{topic("payments", 3)}},
			func(r kmsg.Response) string { return fmt.Sprint(metadataErrors(r)) },
			"map[payments:29]", false},
		{"ListGroups without Describe on the cluster lists describable groups only",
			ListGroups, &kmsg.ListGroupsRequest{Version: 4},
			&kmsg.ListGroupsResponse{Version: 4, Groups: []kmsg.ListGroupsResponseGroup{{Group: "orders-app"}, {Group: "other"}}},
			func(r kmsg.Response) string {
				var out []string
				for _, g := range r.(*kmsg.ListGroupsResponse).Groups {
					out = append(out, g.Group)
				}
				return strings.Join(out, " ")
			},
			"orders-app", false},
		{"ListTransactions lists describable transactional ids only",
			ListTransactions, &kmsg.ListTransactionsRequest{},
			&kmsg.ListTransactionsResponse{TransactionStates: []kmsg.ListTransactionsResponseTransactionState{{TransactionalID: "orders-txn"}, {TransactionalID: "other"}}},
			func(r kmsg.Response) string {
				var out []string
				for _, x := range r.(*kmsg.ListTransactionsResponse).TransactionStates {
					out = append(out, x.TransactionalID)
				}
				return strings.Join(out, " ")
			},
			"orders-txn", false},
		{"DescribeTopicPartitions for every topic: a topic deleted since the list was read is left out, operations are the principal's",
			DescribeTopicPartitions, &kmsg.DescribeTopicPartitionsRequest{},
			&kmsg.DescribeTopicPartitionsResponse{Topics: []kmsg.DescribeTopicPartitionsResponseTopic{{Topic: kmsg.StringPtr("orders-eu")}, {Topic: kmsg.StringPtr("payments"), ErrorCode: 3}}},
			func(r kmsg.Response) string {
				var out []string
				for _, x := range r.(*kmsg.DescribeTopicPartitionsResponse).Topics {
					out = append(out, *x.Topic+"="+opNames(x.AuthorizedOperations))
				}
				return strings.Join(out, " ")
			},
			"orders-eu=Read,Write,Create,Delete,Alter,Describe,DescribeConfigs,AlterConfigs", false},
		{"Metadata v10: the cluster's authorized operations are 0 without Describe on the cluster",
			Metadata, &kmsg.MetadataRequest{Version: 10, IncludeClusterAuthorizedOperations: true},
			&kmsg.MetadataResponse{Version: 10, AuthorizedOperations: 0x7fffffff},
			func(r kmsg.Response) string { return fmt.Sprint(r.(*kmsg.MetadataResponse).AuthorizedOperations) },
			"0", false},
		{"DescribeTransactions lists a transaction's partitions of describable topics only",
			DescribeTransactions, &kmsg.DescribeTransactionsRequest{TransactionalIDs: []string{"orders-txn"}},
			&kmsg.DescribeTransactionsResponse{TransactionStates: []kmsg.DescribeTransactionsResponseTransactionState{{TransactionalID: "orders-txn",
				Topics: []kmsg.DescribeTransactionsResponseTransactionStateTopic{{Topic: "orders-eu", Partitions: []int32{0}}, {Topic: "secret", Partitions: []int32{0}}}}}},
			func(r kmsg.Response) string {
				var out []string
				for _, x := range r.(*kmsg.DescribeTransactionsResponse).TransactionStates[0].Topics {
					out = append(out, x.Topic)
				}
				return strings.Join(out, " ")
			},
			"orders-eu", false},
		{"ConsumerGroupDescribe: a group assigning an undescribable topic is 29, without its members",
			ConsumerGroupDescribe, &kmsg.ConsumerGroupDescribeRequest{Groups: []string{"orders-app", "orders-app"}},
			&kmsg.ConsumerGroupDescribeResponse{Groups: []kmsg.ConsumerGroupDescribeResponseGroup{
				{Group: "orders-app", Members: []kmsg.ConsumerGroupDescribeResponseGroupMember{{MemberID: "a",
					Assignment: kmsg.Assignment{TopicPartitions: []kmsg.AssignmentTopicPartition{{Topic: "orders-eu"}}}}}},
				{Group: "orders-app", Members: []kmsg.ConsumerGroupDescribeResponseGroupMember{{MemberID: "b",
					Assignment:       kmsg.Assignment{TopicPartitions: []kmsg.AssignmentTopicPartition{{Topic: "orders-eu"}}},
					TargetAssignment: kmsg.Assignment{TopicPartitions: []kmsg.AssignmentTopicPartition{{TopicID: idSecret}}}}}},
			}},
			func(r kmsg.Response) string {
				var out []string
				for _, g := range r.(*kmsg.ConsumerGroupDescribeResponse).Groups {
					out = append(out, fmt.Sprintf("%s:%d:members=%d", g.Group, g.ErrorCode, len(g.Members)))
				}
				return strings.Join(out, " ")
			},
			"orders-app:0:members=1 orders-app:29:members=0", false},
		{"DescribeConfigs of a broker: listeners, controller quorum and super users have no value",
			DescribeConfigs, &kmsg.DescribeConfigsRequest{Resources: []kmsg.DescribeConfigsRequestResource{{ResourceType: kmsg.ConfigResourceTypeBroker, ResourceName: "1"}}},
			&kmsg.DescribeConfigsResponse{Resources: []kmsg.DescribeConfigsResponseResource{{ResourceType: kmsg.ConfigResourceTypeBroker, ResourceName: "1",
				Configs: []kmsg.DescribeConfigsResponseResourceConfig{
					{Name: "advertised.listeners", Value: kmsg.StringPtr("SASL_SSL://kafka-1.internal:9093"),
						ConfigSynonyms: []kmsg.DescribeConfigsResponseResourceConfigConfigSynonym{{Name: "advertised.listeners", Value: kmsg.StringPtr("SASL_SSL://kafka-1.internal:9093")}}},
					{Name: "listeners", Value: kmsg.StringPtr("SASL_SSL://0.0.0.0:9093,CONTROLLER://0.0.0.0:9094")},
					{Name: "controller.quorum.bootstrap.servers", Value: kmsg.StringPtr("ctl-1:9094")},
					{Name: "super.users", Value: kmsg.StringPtr("User:kafka-auth-proxy")},
					{Name: "listener.name.sasl_ssl.ssl.keystore.location", Value: kmsg.StringPtr("/etc/kafka/ks.jks")},
					{Name: "log.retention.ms", Value: kmsg.StringPtr("604800000")},
				}}}},
			func(r kmsg.Response) string {
				var out []string
				for _, c := range r.(*kmsg.DescribeConfigsResponse).Resources[0].Configs {
					v := "<none>"
					if c.Value != nil {
						v = *c.Value
					}
					for _, syn := range c.ConfigSynonyms {
						if syn.Value != nil {
							v += "+synonym"
						}
					}
					out = append(out, fmt.Sprintf("%s=%s(sensitive=%v)", c.Name, v, c.IsSensitive))
				}
				return strings.Join(out, " ")
			},
			"advertised.listeners=<none>(sensitive=true) listeners=<none>(sensitive=true) controller.quorum.bootstrap.servers=<none>(sensitive=true) " +
				"super.users=<none>(sensitive=true) listener.name.sasl_ssl.ssl.keystore.location=<none>(sensitive=true) log.retention.ms=604800000(sensitive=false)", true},
		{"OffsetFetch of all of a group's topics is filtered",
			OffsetFetch, &kmsg.OffsetFetchRequest{Version: 8, Groups: []kmsg.OffsetFetchRequestGroup{{Group: "orders-app"}}},
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
			"orders-app/orders-eu", false},
		{"DescribeGroups: a group's authorized operations are the principal's",
			DescribeGroups, &kmsg.DescribeGroupsRequest{Version: 5, Groups: []string{"orders-app"}, IncludeAuthorizedOperations: true},
			&kmsg.DescribeGroupsResponse{Version: 5, Groups: []kmsg.DescribeGroupsResponseGroup{{Group: "orders-app", AuthorizedOperations: 0x7fffffff}}},
			func(r kmsg.Response) string {
				return opNames(r.(*kmsg.DescribeGroupsResponse).Groups[0].AuthorizedOperations)
			},
			"Read,Describe", false},
		{"DescribeCluster without Describe on the cluster: no authorized operations, as a broker answers",
			DescribeCluster, &kmsg.DescribeClusterRequest{IncludeClusterAuthorizedOperations: true},
			&kmsg.DescribeClusterResponse{ClusterAuthorizedOperations: 0x7fffffff},
			func(r kmsg.Response) string {
				return fmt.Sprint(r.(*kmsg.DescribeClusterResponse).ClusterAuthorizedOperations)
			},
			"0", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := ruleTestContext(t)
			if tc.operator {
				c = operatorTestContext(t)
			}
			strict := &patchChecker{Checker: c.Check, t: t}
			c.Check = strict
			v := tc.rule(c, tc.req)
			if v.Answer() != nil || v.Patch() == nil {
				t.Fatalf("want the request forwarded and its answer patched; got %s", outcome(tc.req, v))
			}
			strict.patching = true
			v.Patch()(tc.upstream)
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
		acls []authz.ACL
		want bool
	}{
		{"Write on a topic", []authz.ACL{{Principal: "User:a", Host: "*", ResourceType: authz.ResourceTopic, Name: "x", Pattern: authz.PatternLiteral, Operation: authz.OpWrite, Permission: authz.PermissionAllow}}, true},
		{"IdempotentWrite on the cluster", []authz.ACL{{Principal: "User:a", Host: "*", ResourceType: authz.ResourceCluster, Name: authz.ClusterName, Pattern: authz.PatternLiteral, Operation: authz.OpIdempotentWrite, Permission: authz.PermissionAllow}}, true},
		{"Read only", []authz.ACL{{Principal: "User:a", Host: "*", ResourceType: authz.ResourceTopic, Name: "x", Pattern: authz.PatternLiteral, Operation: authz.OpRead, Permission: authz.PermissionAllow}}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tbl, err := authz.Compile(authz.Policy{ACLs: tc.acls})
			if err != nil {
				t.Fatal(err)
			}
			c := &Client{Check: subjectChecker{tbl.Subject("User:a", "h")}}
			v := InitProducerID(c, &kmsg.InitProducerIDRequest{Version: 4})
			if got := v.Answer() == nil; got != tc.want {
				t.Errorf("allowed: got %v, want %v (%s)", got, tc.want, outcome(&kmsg.InitProducerIDRequest{}, v))
			}
		})
	}
}

// The per-request cost of authorization on the hot paths, allowed
// requests with the decisions memoised: it must not allocate.
func BenchmarkEnforce(b *testing.B) {
	for _, bc := range []struct {
		name string
		rule Rule
		req  kmsg.Request
	}{
		{"Produce", Produce, &kmsg.ProduceRequest{Version: 9, Acks: -1, Topics: []kmsg.ProduceRequestTopic{{Topic: "orders-eu", Partitions: []kmsg.ProduceRequestTopicPartition{{}}}}}},
		{"Fetch", Fetch, &kmsg.FetchRequest{Version: 12, ReplicaID: -1, Topics: []kmsg.FetchRequestTopic{{Topic: "orders-eu", Partitions: []kmsg.FetchRequestTopicPartition{{}}}}}},
		{"FetchByTopicID", Fetch, &kmsg.FetchRequest{Version: 13, ReplicaID: -1, Topics: []kmsg.FetchRequestTopic{{TopicID: idOrders, Partitions: []kmsg.FetchRequestTopicPartition{{}}}}}},
		// A consumer's steady state: incremental fetches in its own session.
		{"FetchIncremental", Fetch, &kmsg.FetchRequest{Version: 13, ReplicaID: -1, SessionID: 7, SessionEpoch: 5, Topics: []kmsg.FetchRequestTopic{{TopicID: idOrders, Partitions: []kmsg.FetchRequestTopicPartition{{}}}}}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			c := ruleTestContext(b)
			if r, ok := bc.req.(*kmsg.FetchRequest); ok && r.SessionEpoch > 0 {
				// The connection's own session, begun by a full fetch.
				Fetch(c, &kmsg.FetchRequest{Version: r.Version, ReplicaID: -1, Topics: r.Topics})
				c.TakeFetch().Answered(0, r.SessionID)
			}
			b.ReportAllocs()
			for b.Loop() {
				if v := bc.rule(c, bc.req); v.Action() != ActForward {
					b.Fatal("denied")
				}
			}
		})
	}
}
