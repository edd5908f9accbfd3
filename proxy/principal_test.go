package proxy

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
	"github.com/twmb/franz-go/pkg/sasl/plain"

	"github.com/kafka-auth-proxy/kafka-auth-proxy/authz"
	"github.com/kafka-auth-proxy/kafka-auth-proxy/authz/enforce"
)

// The attacks of this file make a broker decide something by principal
// for the proxy's own identity, which it would never decide for the
// client's. sa-app (authzTestPolicy) may read orders-* but orders-secret,
// and may describe orders-secret but not payments; sa-admin is a super
// user and plays the other tenant.

// login logs a franz-go client in with the key.
func (k apiKey) login() kgo.Opt {
	return kgo.SASL(plain.Auth{User: k.id, Pass: k.secret}.AsMechanism())
}

// fetchFull is a full Fetch (v12) of partition 0 of topics that asks the
// broker for a new fetch session.
func fetchFull(topics ...string) *kmsg.FetchRequest {
	req := kmsg.NewPtrFetchRequest()
	req.Version, req.MaxWaitMillis, req.MaxBytes, req.SessionID, req.SessionEpoch = 12, 10, 1<<20, 0, 0
	for _, name := range topics {
		tp := kmsg.NewFetchRequestTopic()
		tp.Topic = name
		part := kmsg.NewFetchRequestTopicPartition()
		part.PartitionMaxBytes = 1 << 20
		tp.Partitions = append(tp.Partitions, part)
		req.Topics = append(req.Topics, tp)
	}
	return req
}

// fetchIncremental continues session id at epoch with no changes.
func fetchIncremental(id, epoch int32) *kmsg.FetchRequest {
	req := kmsg.NewPtrFetchRequest()
	req.Version, req.MaxWaitMillis, req.MaxBytes, req.SessionID, req.SessionEpoch = 12, 10, 1<<20, id, epoch
	return req
}

// recordsOf lists the topics of a Fetch answer that carry records.
func recordsOf(resp *kmsg.FetchResponse) []string {
	var out []string
	for _, t := range resp.Topics {
		for _, p := range t.Partitions {
			if len(p.RecordBatches) > 0 {
				out = append(out, t.Topic)
			}
		}
	}
	return out
}

// Attack: a broker's fetch sessions are shared by every connection and
// principal, so a client names another tenant's session id and epoch in
// an incremental fetch, and gets that session's records. Naming it in a
// full fetch closes it. A connection may use only its own sessions.
func TestAnotherConnectionsFetchSessionCannotBeUsedOrClosed(t *testing.T) {
	p := newAuthzTestProxy(t)
	admin := p.login(t, p.admin)
	roundTrip[*kmsg.ProduceResponse](t, admin, produceRequest(-1, "orders-secret"))

	victim := roundTrip[*kmsg.FetchResponse](t, admin, fetchFull("orders-secret"))
	if victim.ErrorCode != 0 || victim.SessionID == 0 {
		t.Fatalf("the victim's full fetch: error %d, session %d", victim.ErrorCode, victim.SessionID)
	}
	if got := recordsOf(victim); !slices.Equal(got, []string{"orders-secret"}) {
		t.Fatalf("the victim reads %v", got)
	}

	app := p.login(t, p.app)
	// The attacker has a session of its own, fetching what it may read...
	own := roundTrip[*kmsg.FetchResponse](t, app, fetchFull("orders-eu"))
	if own.ErrorCode != 0 || own.SessionID == 0 {
		t.Fatalf("the client's own full fetch: error %d, session %d", own.ErrorCode, own.SessionID)
	}
	// ...and knows (or guesses: ids are 31 bits, and a broker holds up
	// to 1000) the victim's session and next epoch.
	stolen := roundTrip[*kmsg.FetchResponse](t, app, fetchIncremental(victim.SessionID, 1))
	if stolen.ErrorCode != kerr.FetchSessionIDNotFound.Code || len(recordsOf(stolen)) > 0 {
		t.Errorf("another connection's session: error %v, records of %v; want FETCH_SESSION_ID_NOT_FOUND and none",
			kerr.ErrorForCode(stolen.ErrorCode), recordsOf(stolen))
	}
	// A full fetch that names the victim's session would close it.
	closing := fetchFull("orders-eu")
	closing.SessionID = victim.SessionID
	if resp := roundTrip[*kmsg.FetchResponse](t, app, closing); resp.ErrorCode != 0 {
		t.Errorf("the attacker's full fetch: %v", kerr.ErrorForCode(resp.ErrorCode))
	}
	// The victim's session is intact.
	if resp := roundTrip[*kmsg.FetchResponse](t, admin, fetchIncremental(victim.SessionID, 1)); resp.ErrorCode != 0 {
		t.Errorf("the victim's own session after the attack: %v", kerr.ErrorForCode(resp.ErrorCode))
	}

	// The attacker's own session works as on a broker.
	for epoch := int32(1); epoch <= 3; epoch++ {
		if resp := roundTrip[*kmsg.FetchResponse](t, app, fetchIncremental(own.SessionID, epoch)); resp.ErrorCode != 0 {
			t.Fatalf("the client's own session, epoch %d: %v", epoch, kerr.ErrorForCode(resp.ErrorCode))
		}
	}
}

// A real consumer keeps working across its fetch sessions.
func TestConsumerWithFetchSessionsReadsThroughTheProxy(t *testing.T) {
	p := newAuthzTestProxy(t)
	admin := p.client(t, p.admin.login())
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for i := range 20 {
		if err := admin.ProduceSync(ctx, &kgo.Record{Topic: "orders-eu", Value: []byte{byte(i)}}).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	cl := p.client(t, p.app.login(), kgo.ConsumeTopics("orders-eu"), kgo.FetchMaxWait(50*time.Millisecond),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	got := 0
	for got < 20 && ctx.Err() == nil {
		fs := cl.PollFetches(ctx)
		if errs := fs.Errors(); len(errs) > 0 {
			t.Fatal(errs[0].Err)
		}
		got += fs.NumRecords()
	}
	if got != 20 {
		t.Fatalf("consumed %d records, want 20", got)
	}
}

// Attack: Metadata v12 may name a topic by name and by id in one entry.
// The broker describes the id; the proxy used to authorize the name, so
// an allowed name beside another topic's id described that topic.
func TestMetadataWithAnAllowedNameBesideAnotherTopicsIDRevealsNothing(t *testing.T) {
	p := newAuthzTestProxy(t)
	ids := upstreamTopicIDs(t, p.upstream)
	app := p.login(t, p.app)
	req := kmsg.NewPtrMetadataRequest()
	req.Version = 12
	tp := kmsg.NewMetadataRequestTopic()
	tp.Topic, tp.TopicID = kmsg.StringPtr("orders-eu"), ids["payments"]
	req.Topics = append(req.Topics, tp)
	resp := roundTrip[*kmsg.MetadataResponse](t, app, req)
	if len(resp.Topics) != 1 {
		t.Fatalf("topics answered: %d, want 1", len(resp.Topics))
	}
	got := resp.Topics[0]
	if got.ErrorCode != kerr.TopicAuthorizationFailed.Code || got.Topic != nil || len(got.Partitions) > 0 {
		name := "<none>"
		if got.Topic != nil {
			name = *got.Topic
		}
		t.Errorf("answered %v for topic %q with %d partitions; want TOPIC_AUTHORIZATION_FAILED, no name, no partitions",
			kerr.ErrorForCode(got.ErrorCode), name, len(got.Partitions))
	}
	if got.TopicID != ids["payments"] {
		t.Errorf("the denied entry names id %x, want the one asked for", got.TopicID)
	}
}

// Attack: a KIP-848 member subscribes by regular expression; the broker
// resolves it against every topic the proxy's identity sees and assigns
// them all. The proxy refuses such subscriptions, with a clear error.
func TestRegexSubscriptionsAreRefusedWithAClearError(t *testing.T) {
	p := newAuthzTestProxy(t)
	forwarded := 0
	p.fake.ControlKey(kmsg.ConsumerGroupHeartbeat.Int16(), func(kmsg.Request) (kmsg.Response, error, bool) {
		p.fake.KeepControl()
		forwarded++
		return nil, nil, false
	})
	app := p.login(t, p.app)
	req := kmsg.NewPtrConsumerGroupHeartbeatRequest()
	req.Version, req.Group, req.MemberEpoch, req.RebalanceTimeoutMillis = 1, "orders-app", 0, 10000
	req.SubscribedTopicRegex = kmsg.StringPtr(".*")
	req.Topics = []kmsg.ConsumerGroupHeartbeatRequestTopic{}
	resp := roundTrip[*kmsg.ConsumerGroupHeartbeatResponse](t, app, req)
	if resp.ErrorCode != kerr.InvalidRegularExpression.Code || resp.ErrorMessage == nil || *resp.ErrorMessage != enforce.MsgRegexSubscription {
		t.Errorf("answered %v %v; want INVALID_REGULAR_EXPRESSION and the proxy's explanation", kerr.ErrorForCode(resp.ErrorCode), resp.ErrorMessage)
	}
	if forwarded != 0 {
		t.Errorf("the heartbeat reached the broker")
	}
}

// Attack: ConsumerGroupDescribe of a group the client may describe shows
// the assignments the broker made for other members, naming topics the
// client may not describe. A broker answers TOPIC_AUTHORIZATION_FAILED
// for such a group, without members.
func TestConsumerGroupDescribeHidesAGroupAssigningTopicsTheClientCannotDescribe(t *testing.T) {
	p := newAuthzTestProxy(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	// Another tenant's member, straight at the broker, consumes payments
	// in group orders-app.
	direct, err := kgo.NewClient(kgo.SeedBrokers(p.upstream...))
	if err != nil {
		t.Fatal(err)
	}
	defer direct.Close()
	join := kmsg.NewPtrConsumerGroupHeartbeatRequest()
	join.Group, join.MemberID, join.MemberEpoch, join.RebalanceTimeoutMillis = "orders-app", "other-tenant", 0, 30000
	join.SubscribedTopicNames = []string{"payments"}
	join.Topics = []kmsg.ConsumerGroupHeartbeatRequestTopic{}
	for {
		resp, err := join.RequestWith(ctx, direct)
		if err != nil {
			t.Fatal(err)
		}
		if resp.ErrorCode != 0 {
			t.Fatalf("direct heartbeat: %v", kerr.ErrorForCode(resp.ErrorCode))
		}
		if resp.Assignment != nil && len(resp.Assignment.Topics) > 0 {
			break
		}
		join.MemberEpoch = resp.MemberEpoch
		join.SubscribedTopicNames, join.Topics = nil, nil
		time.Sleep(50 * time.Millisecond)
	}

	app := p.login(t, p.app)
	describe := kmsg.NewPtrConsumerGroupDescribeRequest()
	describe.Groups = []string{"orders-app"}
	resp := roundTrip[*kmsg.ConsumerGroupDescribeResponse](t, app, describe)
	if len(resp.Groups) != 1 {
		t.Fatalf("groups answered: %d", len(resp.Groups))
	}
	g := resp.Groups[0]
	if g.ErrorCode != kerr.TopicAuthorizationFailed.Code || len(g.Members) != 0 {
		t.Errorf("group orders-app: %v with %d members; want TOPIC_AUTHORIZATION_FAILED and none", kerr.ErrorForCode(g.ErrorCode), len(g.Members))
	}
	// The super user sees the group as it is.
	admin := p.login(t, p.admin)
	if resp := roundTrip[*kmsg.ConsumerGroupDescribeResponse](t, admin, describe); resp.Groups[0].ErrorCode != 0 || len(resp.Groups[0].Members) != 1 {
		t.Errorf("the super user's view: %v, %d members", kerr.ErrorForCode(resp.Groups[0].ErrorCode), len(resp.Groups[0].Members))
	}
}

// Attack: DescribeTopicPartitions pages with a cursor that names the next
// topic. The broker pages through every topic the proxy's identity sees;
// with a page of one partition, the cursors walked every topic's name and
// partition count. A broker filters by Describe before paging.
func TestDescribeTopicPartitionsCursorsNameOnlyDescribableTopics(t *testing.T) {
	p := newAuthzTestProxy(t)
	admin := p.login(t, p.admin)
	create := kmsg.NewPtrCreateTopicsRequest()
	for _, name := range []string{"aaa-audit", "orders-zz", "zzz-payroll"} {
		ct := kmsg.NewCreateTopicsRequestTopic()
		ct.Topic, ct.NumPartitions, ct.ReplicationFactor = name, 2, 1
		create.Topics = append(create.Topics, ct)
	}
	roundTrip[*kmsg.CreateTopicsResponse](t, admin, create)

	app := p.login(t, p.app)
	var seen []string
	req := kmsg.NewPtrDescribeTopicPartitionsRequest()
	req.ResponsePartitionLimit = 1
	for range 50 {
		resp := roundTrip[*kmsg.DescribeTopicPartitionsResponse](t, app, req)
		for _, tp := range resp.Topics {
			if tp.Topic != nil {
				seen = append(seen, "topic:"+*tp.Topic)
			}
		}
		if resp.NextCursor == nil {
			break
		}
		seen = append(seen, "cursor:"+resp.NextCursor.Topic)
		req.Cursor = &kmsg.DescribeTopicPartitionsRequestCursor{Topic: resp.NextCursor.Topic, Partition: resp.NextCursor.Partition}
	}
	for _, s := range seen {
		if name := s[strings.IndexByte(s, ':')+1:]; !strings.HasPrefix(name, "orders-") {
			t.Errorf("the listing named %q, which sa-app may not describe (all: %v)", name, seen)
		}
	}
	want := []string{"topic:orders-eu", "cursor:orders-eu", "topic:orders-eu", "cursor:orders-secret", "topic:orders-secret",
		"cursor:orders-secret", "topic:orders-secret", "cursor:orders-zz", "topic:orders-zz", "cursor:orders-zz", "topic:orders-zz"}
	if !slices.Equal(seen, want) {
		t.Errorf("pages:\n got  %v\n want %v", seen, want)
	}
}

// Attack: DescribeTransactions of a transactional id the client may
// describe lists the transaction's partitions, including topics it may
// not describe. A broker keeps only the describable ones.
func TestDescribeTransactionsListsOnlyDescribableTopics(t *testing.T) {
	p := newAuthzTestProxy(t)
	admin := p.login(t, p.admin)
	init := kmsg.NewPtrInitProducerIDRequest()
	init.TransactionalID, init.TransactionTimeoutMillis = kmsg.StringPtr("orders-txn"), 60000
	pid := roundTrip[*kmsg.InitProducerIDResponse](t, admin, init)
	if pid.ErrorCode != 0 {
		t.Fatalf("init producer id: %v", kerr.ErrorForCode(pid.ErrorCode))
	}
	add := kmsg.NewPtrAddPartitionsToTxnRequest()
	add.Version, add.TransactionalID, add.ProducerID, add.ProducerEpoch = 3, "orders-txn", pid.ProducerID, pid.ProducerEpoch
	for _, name := range []string{"orders-eu", "payments"} {
		at := kmsg.NewAddPartitionsToTxnRequestTopic()
		at.Topic, at.Partitions = name, []int32{0}
		add.Topics = append(add.Topics, at)
	}
	roundTrip[*kmsg.AddPartitionsToTxnResponse](t, admin, add)

	describe := kmsg.NewPtrDescribeTransactionsRequest()
	describe.TransactionalIDs = []string{"orders-txn"}
	topicsOf := func(resp *kmsg.DescribeTransactionsResponse) []string {
		var out []string
		for _, tp := range resp.TransactionStates[0].Topics {
			out = append(out, tp.Topic)
		}
		slices.Sort(out)
		return out
	}
	if got := topicsOf(roundTrip[*kmsg.DescribeTransactionsResponse](t, admin, describe)); !slices.Equal(got, []string{"orders-eu", "payments"}) {
		t.Fatalf("the super user sees %v", got)
	}
	if got := topicsOf(roundTrip[*kmsg.DescribeTransactionsResponse](t, p.login(t, p.app), describe)); !slices.Equal(got, []string{"orders-eu"}) {
		t.Errorf("sa-app sees the transaction's topics %v, want [orders-eu]", got)
	}
}

// Metadata v8-10 reports the cluster's authorized operations; a broker
// reports none (0) without Describe on the cluster.
func TestMetadataClusterOperationsAreEmptyWithoutDescribeOnTheCluster(t *testing.T) {
	p := newAuthzTestProxy(t, func(s *testSetup) {
		s.policy.ACLs = append(s.policy.ACLs, authz.ACL{Principal: "User:sa-app", Host: "*", ResourceType: authz.ResourceCluster,
			Name: authz.ClusterName, Pattern: authz.PatternLiteral, Operation: authz.OpAlterConfigs, Permission: authz.PermissionAllow})
	})
	req := kmsg.NewPtrMetadataRequest()
	req.Version, req.IncludeClusterAuthorizedOperations = 10, true
	req.Topics = []kmsg.MetadataRequestTopic{}
	if got := roundTrip[*kmsg.MetadataResponse](t, p.login(t, p.app), req).AuthorizedOperations; got != 0 {
		t.Errorf("sa-app's cluster operations: %b, want 0", got)
	}
}

// Attack: DescribeConfigs of a broker shows its listeners, controller
// quorum and super users, that is real broker addresses and the proxy's
// own identity; changing advertised.listeners would make the proxy send
// its own credentials to a host of the client's choosing.
func TestBrokerConfigsNeverNameBrokersOrTheProxyAndCannotBeRedirected(t *testing.T) {
	p := newAuthzTestProxy(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	direct, err := kgo.NewClient(kgo.SeedBrokers(p.upstream...))
	if err != nil {
		t.Fatal(err)
	}
	defer direct.Close()
	set := kmsg.NewPtrIncrementalAlterConfigsRequest()
	res := kmsg.NewIncrementalAlterConfigsRequestResource()
	res.ResourceType, res.ResourceName = kmsg.ConfigResourceTypeBroker, "0"
	cfg := kmsg.NewIncrementalAlterConfigsRequestResourceConfig()
	cfg.Name, cfg.Value = "super.users", kmsg.StringPtr("User:kafka-auth-proxy")
	res.Configs = append(res.Configs, cfg)
	set.Resources = append(set.Resources, res)
	if resp, err := set.RequestWith(ctx, direct); err != nil || resp.Resources[0].ErrorCode != 0 {
		t.Fatalf("setting super.users on the broker: %v %v", err, resp)
	}

	admin := p.login(t, p.admin)
	describe := kmsg.NewPtrDescribeConfigsRequest()
	dr := kmsg.NewDescribeConfigsRequestResource()
	dr.ResourceType, dr.ResourceName = kmsg.ConfigResourceTypeBroker, "0"
	describe.Resources = append(describe.Resources, dr)
	described := roundTrip[*kmsg.DescribeConfigsResponse](t, admin, describe)
	found := false
	for _, c := range described.Resources[0].Configs {
		if c.Name == "super.users" {
			found = true
			if c.Value != nil || !c.IsSensitive {
				t.Errorf("super.users answered %q (sensitive %v); want no value, sensitive", *c.Value, c.IsSensitive)
			}
		}
	}
	if !found {
		t.Fatal("the broker did not answer super.users")
	}

	// Changing a protected broker config is refused, and never reaches
	// the broker.
	res.Configs[0].Value = kmsg.StringPtr("User:sa-admin")
	if resp := roundTrip[*kmsg.IncrementalAlterConfigsResponse](t, admin, set); resp.Resources[0].ErrorCode != kerr.PolicyViolation.Code {
		t.Errorf("changing super.users through the proxy: %v, want POLICY_VIOLATION", kerr.ErrorForCode(resp.Resources[0].ErrorCode))
	}
	check := kmsg.NewPtrDescribeConfigsRequest()
	check.Resources = describe.Resources
	resp, err := check.RequestWith(ctx, direct)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range resp.Resources[0].Configs {
		if c.Name == "super.users" && (c.Value == nil || *c.Value != "User:kafka-auth-proxy") {
			t.Errorf("the broker's super.users changed to %v", c.Value)
		}
	}
}
