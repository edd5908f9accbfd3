package proxy

import (
	"bufio"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"hash/crc32"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
	"github.com/twmb/franz-go/pkg/sasl/plain"

	"github.com/kafka-auth-proxy/kafka-auth-proxy/authn"
	"github.com/kafka-auth-proxy/kafka-auth-proxy/authz"
	"github.com/kafka-auth-proxy/kafka-auth-proxy/store"
)

// authzTestPolicy is the policy of the authorization tests: sa-app may
// read and write orders-*, but not read orders-secret; it is a member of
// group orders-app and owns transactional id orders-txn. sa-admin is a
// super user.
var authzTestPolicy = authz.Policy{
	SuperUsers: []string{"User:sa-admin"},
	ACLs: []authz.ACL{
		{Principal: "User:sa-app", Host: "*", ResourceType: authz.ResourceTopic, Name: "orders-", Pattern: authz.PatternPrefixed, Operation: authz.OpRead, Permission: authz.PermissionAllow},
		{Principal: "User:sa-app", Host: "*", ResourceType: authz.ResourceTopic, Name: "orders-secret", Pattern: authz.PatternLiteral, Operation: authz.OpRead, Permission: authz.PermissionDeny},
	},
	RoleBindings: []authz.RoleBinding{
		{Principal: "User:sa-app", Role: "DeveloperWrite", ResourceType: authz.ResourceTopic, Name: "orders-", Pattern: authz.PatternPrefixed},
		{Principal: "User:sa-app", Role: "DeveloperRead", ResourceType: authz.ResourceGroup, Name: "orders-app", Pattern: authz.PatternLiteral},
		{Principal: "User:sa-app", Role: "DeveloperWrite", ResourceType: authz.ResourceTransactionalID, Name: "orders-txn", Pattern: authz.PatternLiteral},
	},
}

type authzTestProxy struct {
	*testProxy
	app, admin apiKey
	stateFile  string
	auditFile  string
}

// newAuthzTestProxy runs a proxy enforcing authzTestPolicy in front of
// kfake, which holds topics orders-eu, orders-secret and payments.
func newAuthzTestProxy(t *testing.T, edits ...func(*testSetup)) *authzTestProxy {
	t.Helper()
	fake, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(2, "orders-eu", "orders-secret", "payments"),
		kfake.ClusterID(authTestCluster), kfake.AllowAutoTopicCreation())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(fake.Close)
	dir := t.TempDir()
	ap := &authzTestProxy{stateFile: filepath.Join(dir, "state.json"), auditFile: filepath.Join(dir, "audit.jsonl")}
	var keys []authn.Key
	for _, k := range []struct {
		account string
		key     *apiKey
	}{{"sa-app", &ap.app}, {"sa-admin", &ap.admin}} {
		var declared authn.Key
		*k.key, declared = makeAPIKey(t, k.account)
		keys = append(keys, declared)
	}
	ap.testProxy = startProxy(t, fake.ListenAddrs(), func(s *testSetup) {
		s.authn = testAuthn()
		s.authn.Accounts = []string{"sa-app", "sa-admin"}
		s.authn.Keys = keys
		s.stateFile = ap.stateFile
		s.auditOutput = ap.auditFile
		s.policy = authzTestPolicy
		s.policy.ACLs = slices.Clone(authzTestPolicy.ACLs)
		for _, edit := range edits {
			edit(s)
		}
	}, fake)
	return ap
}

// login opens a raw connection logged in with key.
func (p *authzTestProxy) login(t *testing.T, key apiKey) *rawConn {
	t.Helper()
	c := dialRaw(t, p.srv.BootstrapAddr())
	if resp := c.handshake(1, "PLAIN"); resp.ErrorCode != 0 {
		t.Fatalf("handshake: %v", kerr.ErrorForCode(resp.ErrorCode))
	}
	if resp, ok := c.authenticate(2, plainMsg(key)); !ok || resp.ErrorCode != 0 {
		t.Fatalf("login failed (answered: %v)", ok)
	}
	return c
}

// roundTrip sends req and returns the decoded response; it fails the test
// if the proxy closes the connection.
func roundTrip[R kmsg.Response](t *testing.T, c *rawConn, req kmsg.Request) R {
	t.Helper()
	resp := req.ResponseKind().(R)
	if !c.send(req, resp) {
		t.Fatalf("%s: the proxy closed the connection", kmsg.NameForKey(req.Key()))
	}
	return resp
}

// batch is a valid record batch holding one record.
func batch(value string) []byte {
	rec := kmsg.NewRecord()
	rec.Value = []byte(value)
	body := rec.AppendTo(nil)[1:] // without the length, a one-byte zero
	rec.Length = int32(len(body))
	b := kmsg.NewRecordBatch()
	b.Magic = 2
	b.PartitionLeaderEpoch, b.ProducerID, b.ProducerEpoch, b.FirstSequence = -1, -1, -1, -1
	b.FirstTimestamp = time.Now().UnixMilli()
	b.MaxTimestamp = b.FirstTimestamp
	b.NumRecords = 1
	b.Records = rec.AppendTo(nil)
	out := b.AppendTo(nil)
	binary.BigEndian.PutUint32(out[8:], uint32(len(out)-12))
	binary.BigEndian.PutUint32(out[17:], crc32.Checksum(out[21:], crc32.MakeTable(crc32.Castagnoli)))
	return out
}

func produceRequest(acks int16, topics ...string) *kmsg.ProduceRequest {
	req := kmsg.NewPtrProduceRequest()
	req.Version, req.Acks, req.TimeoutMillis = 9, acks, 5000
	for _, name := range topics {
		t := kmsg.NewProduceRequestTopic()
		t.Topic = name
		p := kmsg.NewProduceRequestTopicPartition()
		p.Records = batch("hello " + name)
		t.Partitions = append(t.Partitions, p)
		req.Topics = append(req.Topics, t)
	}
	return req
}

// produceCodes maps each topic of a Produce answer to its first
// partition's error.
func produceCodes(resp *kmsg.ProduceResponse) map[string]int16 {
	out := map[string]int16{}
	for _, t := range resp.Topics {
		for _, p := range t.Partitions {
			out[t.Topic] = p.ErrorCode
		}
	}
	return out
}

func TestProduceToAllowedAndDeniedTopicsInOneRequest(t *testing.T) {
	p := newAuthzTestProxy(t)
	c := p.login(t, p.app)
	for _, tc := range []struct {
		name   string
		topics []string
		want   map[string]int16
	}{
		{"allowed topic", []string{"orders-eu"}, map[string]int16{"orders-eu": 0}},
		{"denied topic answered by the proxy", []string{"payments"}, map[string]int16{"payments": 29}},
		{"one allowed one denied: partial success", []string{"orders-eu", "payments"}, map[string]int16{"orders-eu": 0, "payments": 29}},
		{"denied first", []string{"payments", "orders-secret"}, map[string]int16{"payments": 29, "orders-secret": 0}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp := roundTrip[*kmsg.ProduceResponse](t, c, produceRequest(-1, tc.topics...))
			if got := produceCodes(resp); !maps.Equal(got, tc.want) {
				t.Errorf("partition errors: got %v, want %v", got, tc.want)
			}
		})
	}
}

func TestAcksZeroProduceToDeniedTopicClosesTheConnection(t *testing.T) {
	p := newAuthzTestProxy(t)
	c := p.login(t, p.app)
	c.corr++
	frame := kmsg.NewRequestFormatter(kmsg.FormatterClientID("raw")).AppendRequest(nil, produceRequest(0, "payments"), c.corr)
	if _, err := c.nc.Write(frame); err != nil {
		t.Fatal(err)
	}
	_ = c.nc.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := bufio.NewReader(c.nc).ReadByte(); err == nil {
		t.Fatal("the proxy answered an acks=0 produce")
	} else if strings.Contains(err.Error(), "timeout") {
		t.Fatal("the proxy kept the connection open after a denied acks=0 produce")
	}
}

func fetchRequest(topics ...string) *kmsg.FetchRequest {
	req := kmsg.NewPtrFetchRequest()
	req.Version, req.MaxWaitMillis, req.MaxBytes, req.SessionEpoch = 12, 10, 1<<20, -1
	for _, name := range topics {
		t := kmsg.NewFetchRequestTopic()
		t.Topic = name
		p := kmsg.NewFetchRequestTopicPartition()
		p.PartitionMaxBytes = 1 << 20
		t.Partitions = append(t.Partitions, p)
		req.Topics = append(req.Topics, t)
	}
	return req
}

func fetchCodes(resp *kmsg.FetchResponse) map[string]int16 {
	out := map[string]int16{}
	for _, t := range resp.Topics {
		for _, p := range t.Partitions {
			out[t.Topic] = p.ErrorCode
		}
	}
	return out
}

func TestFetchIsCheckedPerTopicAndDenyWins(t *testing.T) {
	p := newAuthzTestProxy(t)
	c := p.login(t, p.app)
	resp := roundTrip[*kmsg.FetchResponse](t, c, fetchRequest("orders-eu", "payments", "orders-secret"))
	want := map[string]int16{"orders-eu": 0, "payments": 29, "orders-secret": 29}
	if got := fetchCodes(resp); !maps.Equal(got, want) {
		t.Errorf("partition errors: got %v, want %v", got, want)
	}
}

func metadataRequest(topics ...string) *kmsg.MetadataRequest {
	req := kmsg.NewPtrMetadataRequest()
	req.Version = 12
	if topics == nil {
		return req // every topic
	}
	req.Topics = []kmsg.MetadataRequestTopic{}
	for _, name := range topics {
		t := kmsg.NewMetadataRequestTopic()
		t.Topic = kmsg.StringPtr(name)
		req.Topics = append(req.Topics, t)
	}
	return req
}

func metadataTopics(resp *kmsg.MetadataResponse) map[string]int16 {
	out := map[string]int16{}
	for _, t := range resp.Topics {
		out[*t.Topic] = t.ErrorCode
	}
	return out
}

func TestMetadataHidesWhatThePrincipalCannotDescribe(t *testing.T) {
	p := newAuthzTestProxy(t)
	c := p.login(t, p.app)
	t.Run("all topics: undescribable ones are left out", func(t *testing.T) {
		resp := roundTrip[*kmsg.MetadataResponse](t, c, metadataRequest())
		want := map[string]int16{"orders-eu": 0, "orders-secret": 0}
		if got := metadataTopics(resp); !maps.Equal(got, want) {
			t.Errorf("topics: got %v, want %v", got, want)
		}
		if len(resp.Brokers) == 0 {
			t.Error("no brokers in the answer")
		}
	})
	t.Run("a named denied topic gets 29 whether or not it exists", func(t *testing.T) {
		resp := roundTrip[*kmsg.MetadataResponse](t, c, metadataRequest("payments", "no-such-topic", "orders-eu"))
		want := map[string]int16{"payments": 29, "no-such-topic": 29, "orders-eu": 0}
		if got := metadataTopics(resp); !maps.Equal(got, want) {
			t.Errorf("topics: got %v, want %v", got, want)
		}
		for _, tp := range resp.Topics {
			if tp.ErrorCode == 29 && tp.TopicID != ([16]byte{}) {
				t.Errorf("denied topic %s carries its topic id", *tp.Topic)
			}
		}
		if len(resp.Brokers) == 0 {
			t.Error("no brokers in the answer")
		}
	})
	t.Run("auto-creation needs Create: the topic is not created", func(t *testing.T) {
		req := metadataRequest("orders-new")
		req.AllowAutoTopicCreation = true
		resp := roundTrip[*kmsg.MetadataResponse](t, c, req)
		if got := metadataTopics(resp)["orders-new"]; got != 29 {
			t.Errorf("orders-new: error %d, want 29", got)
		}
		admin := p.login(t, p.admin)
		all := roundTrip[*kmsg.MetadataResponse](t, admin, metadataRequest())
		if _, ok := metadataTopics(all)["orders-new"]; ok {
			t.Error("the broker created orders-new for a principal without Create")
		}
	})
}

func TestGroupAndTransactionalIDDenials(t *testing.T) {
	p := newAuthzTestProxy(t)
	c := p.login(t, p.app)
	join := func(group string) int16 {
		req := kmsg.NewPtrJoinGroupRequest()
		req.Version, req.Group, req.SessionTimeoutMillis, req.RebalanceTimeoutMillis = 6, group, 10000, 10000
		req.ProtocolType = "consumer"
		req.Protocols = []kmsg.JoinGroupRequestProtocol{{Name: "range", Metadata: []byte{0, 1, 0, 0, 0, 0, 0, 0, 0, 0}}}
		return roundTrip[*kmsg.JoinGroupResponse](t, c, req).ErrorCode
	}
	findCoordinator := func(typ int8, keys ...string) map[string]int16 {
		req := kmsg.NewPtrFindCoordinatorRequest()
		req.Version, req.CoordinatorType, req.CoordinatorKeys = 4, typ, keys
		out := map[string]int16{}
		for _, x := range roundTrip[*kmsg.FindCoordinatorResponse](t, c, req).Coordinators {
			out[x.Key] = x.ErrorCode
		}
		return out
	}
	initProducerID := func(txn *string) int16 {
		req := kmsg.NewPtrInitProducerIDRequest()
		req.Version, req.TransactionalID, req.TransactionTimeoutMillis = 4, txn, 10000
		return roundTrip[*kmsg.InitProducerIDResponse](t, c, req).ErrorCode
	}
	for _, tc := range []struct {
		name string
		got  func() any
		want any
	}{
		{"JoinGroup without Read on the group", func() any { return join("other-app") }, int16(30)},
		{"FindCoordinator, groups: per key", func() any { return findCoordinator(0, "orders-app", "other-app") }, map[string]int16{"orders-app": 0, "other-app": 30}},
		{"FindCoordinator, transactional ids: per key", func() any { return findCoordinator(1, "orders-txn", "other-txn") }, map[string]int16{"orders-txn": 0, "other-txn": 53}},
		{"InitProducerId without Write on the transactional id", func() any { return initProducerID(kmsg.StringPtr("other-txn")) }, int16(53)},
		{"InitProducerId with Write on the transactional id", func() any { return initProducerID(kmsg.StringPtr("orders-txn")) }, int16(0)},
		{"idempotent InitProducerId: Write on some topic is enough", func() any { return initProducerID(nil) }, int16(0)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := tc.got()
			if m, ok := got.(map[string]int16); ok {
				if !maps.Equal(m, tc.want.(map[string]int16)) {
					t.Errorf("got %v, want %v", got, tc.want)
				}
			} else if got != tc.want {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
}

func TestOffsetCommitChecksTheGroupThenEachTopic(t *testing.T) {
	p := newAuthzTestProxy(t)
	c := p.login(t, p.app)
	commit := func(group string, topics ...string) map[string]int16 {
		req := kmsg.NewPtrOffsetCommitRequest()
		req.Version, req.Group, req.Generation = 8, group, -1
		for _, name := range topics {
			tp := kmsg.NewOffsetCommitRequestTopic()
			tp.Topic = name
			part := kmsg.NewOffsetCommitRequestTopicPartition()
			part.Offset = 0
			tp.Partitions = append(tp.Partitions, part)
			req.Topics = append(req.Topics, tp)
		}
		out := map[string]int16{}
		for _, tp := range roundTrip[*kmsg.OffsetCommitResponse](t, c, req).Topics {
			out[tp.Topic] = tp.Partitions[0].ErrorCode
		}
		return out
	}
	if got, want := commit("other-app", "orders-eu"), map[string]int16{"orders-eu": 30}; !maps.Equal(got, want) {
		t.Errorf("denied group: got %v, want %v", got, want)
	}
	if got, want := commit("orders-app", "orders-eu", "payments"), map[string]int16{"orders-eu": 0, "payments": 29}; !maps.Equal(got, want) {
		t.Errorf("allowed group: got %v, want %v", got, want)
	}
}

func TestListingsAreFiltered(t *testing.T) {
	p := newAuthzTestProxy(t)
	admin := p.login(t, p.admin)
	// Two groups exist: commit offsets as the super user.
	for _, g := range []string{"orders-app", "other-app"} {
		req := kmsg.NewPtrOffsetCommitRequest()
		req.Version, req.Group, req.Generation = 8, g, -1
		tp := kmsg.NewOffsetCommitRequestTopic()
		tp.Topic = "orders-eu"
		tp.Partitions = []kmsg.OffsetCommitRequestTopicPartition{kmsg.NewOffsetCommitRequestTopicPartition()}
		req.Topics = append(req.Topics, tp)
		roundTrip[*kmsg.OffsetCommitResponse](t, admin, req)
	}
	list := func(c *rawConn) []string {
		req := kmsg.NewPtrListGroupsRequest()
		req.Version = 4
		var out []string
		for _, g := range roundTrip[*kmsg.ListGroupsResponse](t, c, req).Groups {
			out = append(out, g.Group)
		}
		slices.Sort(out)
		return out
	}
	if got := list(admin); !slices.Equal(got, []string{"orders-app", "other-app"}) {
		t.Errorf("super user's ListGroups: %v", got)
	}
	if got := list(p.login(t, p.app)); !slices.Equal(got, []string{"orders-app"}) {
		t.Errorf("sa-app's ListGroups: got %v, want only orders-app", got)
	}
}

func TestAdminAPIsUseTheirOwnErrorCodes(t *testing.T) {
	p := newAuthzTestProxy(t)
	c := p.login(t, p.app)
	t.Run("CreateTopics without Create: per topic 29", func(t *testing.T) {
		req := kmsg.NewPtrCreateTopicsRequest()
		req.Version, req.TimeoutMillis = 7, 5000
		tp := kmsg.NewCreateTopicsRequestTopic()
		tp.Topic, tp.NumPartitions, tp.ReplicationFactor = "orders-new", 1, 1
		req.Topics = append(req.Topics, tp)
		resp := roundTrip[*kmsg.CreateTopicsResponse](t, c, req)
		if len(resp.Topics) != 1 || resp.Topics[0].ErrorCode != 29 {
			t.Errorf("got %+v, want orders-new with error 29", resp.Topics)
		}
	})
	t.Run("DescribeConfigs: a denied topic gets 29, a broker 31", func(t *testing.T) {
		req := kmsg.NewPtrDescribeConfigsRequest()
		req.Version = 4
		for _, r := range []struct {
			t    kmsg.ConfigResourceType
			name string
		}{{kmsg.ConfigResourceTypeTopic, "payments"}, {kmsg.ConfigResourceTypeBroker, "0"}} {
			x := kmsg.NewDescribeConfigsRequestResource()
			x.ResourceType, x.ResourceName = r.t, r.name
			req.Resources = append(req.Resources, x)
		}
		got := map[string]int16{}
		for _, r := range roundTrip[*kmsg.DescribeConfigsResponse](t, c, req).Resources {
			got[r.ResourceName] = r.ErrorCode
		}
		if want := map[string]int16{"payments": 29, "0": 31}; !maps.Equal(got, want) {
			t.Errorf("got %v, want %v", got, want)
		}
	})
	t.Run("CreateAcls without Alter on the cluster: 31", func(t *testing.T) {
		req := kmsg.NewPtrCreateACLsRequest()
		req.Version = 3
		req.Creations = []kmsg.CreateACLsRequestCreation{aclCreation("User:sa-app", "payments", kmsg.ACLOperationWrite)}
		resp := roundTrip[*kmsg.CreateACLsResponse](t, c, req)
		if len(resp.Results) != 1 || resp.Results[0].ErrorCode != 31 {
			t.Errorf("got %+v, want one result with error 31", resp.Results)
		}
	})
	t.Run("DescribeAcls without Describe on the cluster: 31", func(t *testing.T) {
		req := kmsg.NewPtrDescribeACLsRequest()
		req.Version = 3
		req.ResourceType, req.ResourcePatternType = kmsg.ACLResourceTypeAny, kmsg.ACLResourcePatternTypeAny
		req.Operation, req.PermissionType = kmsg.ACLOperationAny, kmsg.ACLPermissionTypeAny
		if resp := roundTrip[*kmsg.DescribeACLsResponse](t, c, req); resp.ErrorCode != 31 {
			t.Errorf("got error %d, want 31", resp.ErrorCode)
		}
	})
}

func aclCreation(principal, topic string, op kmsg.ACLOperation) kmsg.CreateACLsRequestCreation {
	x := kmsg.NewCreateACLsRequestCreation()
	x.ResourceType, x.ResourceName, x.ResourcePatternType = kmsg.ACLResourceTypeTopic, topic, kmsg.ACLResourcePatternTypeLiteral
	x.Principal, x.Host, x.Operation, x.PermissionType = principal, "*", op, kmsg.ACLPermissionTypeAllow
	return x
}

func TestACLsCreatedThroughTheProxyApplyToLiveConnections(t *testing.T) {
	p := newAuthzTestProxy(t)
	app := p.login(t, p.app)
	if got := produceCodes(roundTrip[*kmsg.ProduceResponse](t, app, produceRequest(-1, "payments")))["payments"]; got != 29 {
		t.Fatalf("before the ACL: error %d, want 29", got)
	}
	admin := p.login(t, p.admin)
	create := kmsg.NewPtrCreateACLsRequest()
	create.Version = 3
	create.Creations = []kmsg.CreateACLsRequestCreation{aclCreation("User:sa-app", "payments", kmsg.ACLOperationWrite)}
	if resp := roundTrip[*kmsg.CreateACLsResponse](t, admin, create); resp.Results[0].ErrorCode != 0 {
		t.Fatalf("CreateAcls: %v", kerr.ErrorForCode(resp.Results[0].ErrorCode))
	}
	if got := produceCodes(roundTrip[*kmsg.ProduceResponse](t, app, produceRequest(-1, "payments")))["payments"]; got != 0 {
		t.Errorf("after the ACL, on the same connection: error %d, want 0", got)
	}

	describe := kmsg.NewPtrDescribeACLsRequest()
	describe.Version = 3
	describe.ResourceType, describe.ResourcePatternType = kmsg.ACLResourceTypeTopic, kmsg.ACLResourcePatternTypeAny
	describe.Operation, describe.PermissionType = kmsg.ACLOperationAny, kmsg.ACLPermissionTypeAny
	var listed []string
	for _, r := range roundTrip[*kmsg.DescribeACLsResponse](t, admin, describe).Resources {
		for _, a := range r.ACLs {
			listed = append(listed, r.ResourceName+":"+a.Principal+":"+a.Operation.String()+":"+a.PermissionType.String())
		}
	}
	slices.Sort(listed)
	want := []string{"orders-:User:sa-app:READ:ALLOW", "orders-secret:User:sa-app:READ:DENY", "payments:User:sa-app:WRITE:ALLOW"}
	if !slices.Equal(listed, want) {
		t.Errorf("DescribeAcls: got %v, want %v", listed, want)
	}

	st, err := store.OpenFile(p.stateFile)
	if err != nil {
		t.Fatal(err)
	}
	if acls := st.Snapshot().ACLs(); len(acls) != 1 || acls[0].ResourceName != "payments" || acls[0].Operation != "WRITE" {
		t.Errorf("state file ACLs: %+v", acls)
	}

	del := kmsg.NewPtrDeleteACLsRequest()
	del.Version = 3
	f := kmsg.NewDeleteACLsRequestFilter()
	f.ResourceType, f.ResourceName, f.ResourcePatternType = kmsg.ACLResourceTypeTopic, nil, kmsg.ACLResourcePatternTypeAny
	f.Principal = kmsg.StringPtr("User:sa-app")
	f.Operation, f.PermissionType = kmsg.ACLOperationAny, kmsg.ACLPermissionTypeAny
	del.Filters = append(del.Filters, f)
	resp := roundTrip[*kmsg.DeleteACLsResponse](t, admin, del)
	var deleted, fixed int
	for _, m := range resp.Results[0].MatchingACLs {
		if m.ErrorCode == 0 {
			deleted++
		} else {
			fixed++
		}
	}
	if deleted != 1 || fixed != 2 {
		t.Errorf("DeleteAcls: %d deleted, %d reported as fixed by the configuration; want 1 and 2", deleted, fixed)
	}
	if got := produceCodes(roundTrip[*kmsg.ProduceResponse](t, app, produceRequest(-1, "payments")))["payments"]; got != 29 {
		t.Errorf("after DeleteAcls: error %d, want 29", got)
	}
}

// authzEvent is the part of an authorization audit event the tests read.
type authzEvent struct {
	Type string `json:"type"`
	Data struct {
		Principal    string `json:"principal"`
		API          string `json:"api"`
		ResourceType string `json:"resource_type"`
		ResourceName string `json:"resource_name"`
		Operation    string `json:"operation"`
		Granted      bool   `json:"granted"`
		Pattern      string `json:"pattern"`
		Rule         string `json:"rule"`
	} `json:"data"`
}

func readAuthzEvents(t *testing.T, path string) []authzEvent {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []authzEvent
	for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		var ev authzEvent
		if err := json.Unmarshal([]byte(line), &ev); err != nil {
			t.Fatalf("audit line %q: %v", line, err)
		}
		if ev.Type == "io.kafka-auth-proxy/authorization" {
			out = append(out, ev)
		}
	}
	return out
}

func TestDenialsAreAuditedAndAllowsSampled(t *testing.T) {
	for _, tc := range []struct {
		name       string
		sampleRate float64
		wantAllows bool
	}{
		{"allows not sampled by default", 0, false},
		{"every allow sampled", 1, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := newAuthzTestProxy(t, func(s *testSetup) { s.allowSampleRate = tc.sampleRate })
			c := p.login(t, p.app)
			roundTrip[*kmsg.ProduceResponse](t, c, produceRequest(-1, "payments", "orders-eu"))
			var denied, allowed bool
			for _, ev := range readAuthzEvents(t, p.auditFile) {
				d := ev.Data
				if d.Principal != "User:sa-app" || d.API != "Produce" || d.ResourceType != "Topic" || d.Operation != "Write" {
					continue
				}
				switch {
				case d.ResourceName == "payments" && !d.Granted && strings.HasPrefix(d.Rule, "default_deny"):
					denied = true
				case d.ResourceName == "orders-eu" && d.Granted && d.Pattern == "Topic:Prefixed:orders-" && strings.Contains(d.Rule, "DeveloperWrite"):
					allowed = true
				}
			}
			if !denied {
				t.Error("no event for the denied write to payments")
			}
			if allowed != tc.wantAllows {
				t.Errorf("event for the allowed write to orders-eu: %v, want %v", allowed, tc.wantAllows)
			}
		})
	}
}

func TestFetchByTopicIDResolvesNames(t *testing.T) {
	p := newAuthzTestProxy(t)
	// The ids come from the broker itself: the proxy has seen no Metadata
	// answer naming them, and resolves them by asking upstream.
	ids := upstreamTopicIDs(t, p.upstream)
	c := p.login(t, p.app)
	unknown := [16]byte{1, 2, 3}
	req := kmsg.NewPtrFetchRequest()
	req.Version, req.MaxWaitMillis, req.MaxBytes, req.SessionEpoch = 13, 10, 1<<20, -1
	for _, id := range [][16]byte{ids["orders-eu"], ids["payments"], unknown} {
		tp := kmsg.NewFetchRequestTopic()
		tp.TopicID = id
		part := kmsg.NewFetchRequestTopicPartition()
		part.PartitionMaxBytes = 1 << 20
		tp.Partitions = append(tp.Partitions, part)
		req.Topics = append(req.Topics, tp)
	}
	got := map[[16]byte]int16{}
	for _, tp := range roundTrip[*kmsg.FetchResponse](t, c, req).Topics {
		got[tp.TopicID] = tp.Partitions[0].ErrorCode
	}
	want := map[[16]byte]int16{ids["orders-eu"]: 0, ids["payments"]: 29, unknown: kerr.UnknownTopicID.Code}
	if !maps.Equal(got, want) {
		t.Errorf("partition errors by topic id: got %v, want %v", got, want)
	}
}

// upstreamTopicIDs asks the broker, not the proxy, for its topic ids.
func upstreamTopicIDs(t *testing.T, upstream []string) map[string][16]byte {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(upstream...))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	resp, err := kmsg.NewPtrMetadataRequest().RequestWith(ctx, cl)
	if err != nil {
		t.Fatal(err)
	}
	ids := map[string][16]byte{}
	for _, tp := range resp.Topics {
		ids[*tp.Topic] = tp.TopicID
	}
	return ids
}

// Response patches run on the writing goroutine while the reading one
// authorizes the next pipelined requests (run with -race).
func TestPipelinedRequestsWithPatchedResponses(t *testing.T) {
	p := newAuthzTestProxy(t)
	cl := p.client(t, kgo.SASL(plain.Auth{User: p.app.id, Pass: p.app.secret}.AsMechanism()))
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 50 {
				all := kmsg.NewPtrMetadataRequest()
				resp, err := cl.Broker(0).Request(ctx, all)
				if err != nil {
					errs <- err
					return
				}
				for _, tp := range resp.(*kmsg.MetadataResponse).Topics {
					if *tp.Topic == "payments" {
						errs <- errors.New("payments listed")
						return
					}
				}
				if _, err := cl.Broker(0).Request(ctx, produceRequest(-1, "orders-eu", "payments")); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}
