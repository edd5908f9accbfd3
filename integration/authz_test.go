//go:build integration

package integration

import (
	"bufio"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"math/rand/v2"
	"net"
	"os"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/kafka-auth-proxy/kafka-auth-proxy/config"
	"github.com/kafka-auth-proxy/kafka-auth-proxy/integration/clients"
	"github.com/kafka-auth-proxy/kafka-auth-proxy/integration/harness"
	"github.com/kafka-auth-proxy/kafka-auth-proxy/integration/oidc"
	"github.com/kafka-auth-proxy/kafka-auth-proxy/store"
)

// The authorization tests run the proxy (startAuthProxy) in front of the
// shared single-broker cluster, which has no authorizer of its own: every
// decision they observe is the proxy's. Each test writes its own policy in
// startAuthProxy's edit function, replacing the default one, and names its
// topics and groups with a tag unique to the run (the cluster is shared
// with the other tests, and with -count=N with itself).

// principal is a service account with one API key.
type principal struct {
	account, key, secret string
}

// name is the principal as ACLs and role bindings name it.
func (p principal) name() string { return "User:" + p.account }

func (p principal) login() kgo.Opt { return plainLogin(p.key, p.secret) }

// newAccountID returns a service account id for a policy written before
// the proxy starts; addPrincipal then puts the account in the state file.
func newAccountID(t testing.TB) string {
	t.Helper()
	id, err := store.NewAccountID("sa")
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// addPrincipal adds the service account id to the proxy's state file, with
// an API key, and waits until the proxy has loaded both.
func (ap *authProxy) addPrincipal(t testing.TB, id string) principal {
	t.Helper()
	ap.addAccount(t, id)
	key, secret := ap.createKey(t, id)
	return principal{account: id, key: key, secret: secret}
}

// runTag returns a short tag that makes topic and group names unique to
// one test run on a shared cluster.
func runTag() string { return "az" + strconv.Itoa(rand.IntN(1e6)) }

// upstreamClient is a client of the cluster's PLAINTEXT listener: the
// broker's admin (User:ANONYMOUS, a super user even where an authorizer
// runs), used to set up and check what the tests do through the proxy.
func upstreamClient(t testing.TB, c *harness.Cluster, opts ...kgo.Opt) *kgo.Client {
	t.Helper()
	cl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(c.Bootstrap...)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	return cl
}

// createTopics creates topics with the given partition count (replication
// factor 1) through admin, waits until every partition's leader serves it
// (a leader named in Metadata may still answer NOT_LEADER_FOR_PARTITION
// for a moment), and returns their topic ids.
func createTopics(t testing.TB, admin *kgo.Client, partitions int32, topics ...string) map[string][16]byte {
	t.Helper()
	adm := kadm.NewClient(admin)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	resps, err := adm.CreateTopics(ctx, partitions, 1, nil, topics...)
	if err != nil {
		t.Fatalf("create topics %v: %v", topics, err)
	}
	for _, r := range resps {
		if r.Err != nil && !errors.Is(r.Err, kerr.TopicAlreadyExists) {
			t.Fatalf("create topic %s: %v", r.Topic, r.Err)
		}
	}
	for {
		md, err := adm.Metadata(ctx, topics...)
		ready := err == nil
		ids := map[string][16]byte{}
		for _, topic := range topics {
			td := md.Topics[topic]
			ready = ready && td.Err == nil && len(td.Partitions) == int(partitions)
			for _, p := range td.Partitions {
				ready = ready && p.Err == nil && p.Leader >= 0
			}
			ids[topic] = td.ID
		}
		if ready {
			listed, lerr := adm.ListEndOffsets(ctx, topics...)
			ready = lerr == nil && listed.Error() == nil
			listed.Each(func(o kadm.ListedOffset) { ready = ready && o.Err == nil })
			err = errors.Join(lerr, listed.Error())
		}
		if ready {
			return ids
		}
		select {
		case <-ctx.Done():
			t.Fatalf("topics %v never all had serving leaders: %v", topics, err)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// produceTo writes values to topic through cl, failing the test on error.
func produceTo(t testing.TB, cl *kgo.Client, topic string, values ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var rs []*kgo.Record
	for _, v := range values {
		rs = append(rs, &kgo.Record{Topic: topic, Value: []byte(v)})
	}
	if err := cl.ProduceSync(ctx, rs...).FirstErr(); err != nil {
		t.Fatalf("produce to %s: %v", topic, err)
	}
}

// commitGroup commits offset 0 of every partition of topic for group
// through admin, which creates the group.
func commitGroup(t testing.TB, admin *kgo.Client, group, topic string, partitions int32) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var offsets kadm.Offsets
	for p := range partitions {
		offsets.Add(kadm.Offset{Topic: topic, Partition: p, At: 0, LeaderEpoch: -1})
	}
	resp, err := kadm.NewClient(admin).CommitOffsets(ctx, group, offsets)
	if err == nil {
		err = resp.Error()
	}
	if err != nil {
		t.Fatalf("commit offsets of group %s: %v", group, err)
	}
}

// endOffsets returns the end offset of every partition of topic, read
// through admin.
func endOffsets(t testing.TB, admin *kgo.Client, topic string) map[int32]int64 {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	listed, err := kadm.NewClient(admin).ListEndOffsets(ctx, topic)
	if err != nil {
		t.Fatal(err)
	}
	out := map[int32]int64{}
	listed.Each(func(o kadm.ListedOffset) { out[o.Partition] = o.Offset })
	return out
}

// loginClient is a franz-go client of the proxy that logs in with login
// and has learned the broker list, so broker(cl, id) can address a broker.
func loginClient(t testing.TB, ap *authProxy, login kgo.Opt, opts ...kgo.Opt) *kgo.Client {
	t.Helper()
	cl := newClient(t, ap.srv, append([]kgo.Opt{login, kgo.RetryTimeout(10 * time.Second)}, opts...)...)
	discoverBrokers(t, cl)
	return cl
}

// discoverBrokers sends a Metadata request for no topics, which any
// authenticated principal may, so that cl knows every broker.
func discoverBrokers(t testing.TB, cl *kgo.Client) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	req := kmsg.NewPtrMetadataRequest()
	req.Topics = []kmsg.MetadataRequestTopic{}
	if _, err := req.RequestWith(ctx, cl); err != nil {
		t.Fatalf("metadata: %v", err)
	}
}

// errName names a Kafka error code the way the protocol does, "OK" for 0.
func errName(code int16) string {
	if code == 0 {
		return "OK"
	}
	var ke *kerr.Error
	if errors.As(kerr.ErrorForCode(code), &ke) {
		return ke.Message
	}
	return "ERROR_" + strconv.Itoa(int(code))
}

// errOf names the Kafka error in err, "OK" for nil, or quotes a non-Kafka
// error.
func errOf(err error) string {
	if err == nil {
		return "OK"
	}
	var ke *kerr.Error
	if errors.As(err, &ke) {
		return ke.Message
	}
	return "error: " + err.Error()
}

// recordBatch encodes one uncompressed record batch (magic 2) holding
// values, without a producer id, as kmsg leaves it to the caller.
func recordBatch(values ...string) []byte {
	now := time.Now().UnixMilli()
	var records []byte
	for i, v := range values {
		r := kmsg.Record{OffsetDelta: int32(i), Value: []byte(v)}
		r.Length = int32(len(r.AppendTo(nil)) - 1) // everything after the one-byte zero length
		records = r.AppendTo(records)
	}
	b := kmsg.RecordBatch{
		PartitionLeaderEpoch: -1, Magic: 2,
		LastOffsetDelta: int32(len(values) - 1), FirstTimestamp: now, MaxTimestamp: now,
		ProducerID: -1, ProducerEpoch: -1, FirstSequence: -1,
		NumRecords: int32(len(values)), Records: records,
	}
	raw := b.AppendTo(nil)
	binary.BigEndian.PutUint32(raw[8:], uint32(len(raw)-12))                                          // length: after the length field
	binary.BigEndian.PutUint32(raw[17:], crc32.Checksum(raw[21:], crc32.MakeTable(crc32.Castagnoli))) // CRC-32C from attributes on
	return raw
}

// tp is a topic partition.
type tp struct {
	topic     string
	partition int32
}

// produceRequest is one ProduceRequest writing one record to each
// partition, topics named both by name and by id (Produce v13+).
func produceRequest(ids map[string][16]byte, parts ...tp) *kmsg.ProduceRequest {
	req := kmsg.NewPtrProduceRequest()
	req.Acks = -1
	req.TimeoutMillis = 10000
	for _, p := range parts {
		i := slices.IndexFunc(req.Topics, func(t kmsg.ProduceRequestTopic) bool { return t.Topic == p.topic })
		if i < 0 {
			rt := kmsg.NewProduceRequestTopic()
			rt.Topic, rt.TopicID = p.topic, ids[p.topic]
			req.Topics = append(req.Topics, rt)
			i = len(req.Topics) - 1
		}
		rp := kmsg.NewProduceRequestTopicPartition()
		rp.Partition = p.partition
		rp.Records = recordBatch(fmt.Sprintf("one request, %s/%d", p.topic, p.partition))
		req.Topics[i].Partitions = append(req.Topics[i].Partitions, rp)
	}
	return req
}

// produceCodes names the error of each partition of a ProduceResponse.
func produceCodes(resp *kmsg.ProduceResponse, ids map[string][16]byte) []string {
	return partitionCodes(resp.Topics, ids)
}

// partitionCodes names the error of each partition of an answer's topics,
// "topic/partition=ERROR", sorted. topics is a slice of kmsg topic entries
// (Topic and maybe TopicID, then Partitions with Partition and ErrorCode),
// whichever API they belong to.
func partitionCodes(topics any, ids map[string][16]byte) []string {
	var out []string
	ts := reflect.ValueOf(topics)
	for i := range ts.Len() {
		t := ts.Index(i)
		var id [16]byte
		if f := t.FieldByName("TopicID"); f.IsValid() {
			id = f.Interface().([16]byte)
		}
		name := topicByNameOrID(t.FieldByName("Topic").String(), id, ids)
		ps := t.FieldByName("Partitions")
		for j := range ps.Len() {
			part := ps.Index(j)
			out = append(out, fmt.Sprintf("%s/%d=%s", name, part.FieldByName("Partition").Int(), errName(int16(part.FieldByName("ErrorCode").Int()))))
		}
	}
	slices.Sort(out)
	return out
}

// fetchRequest is a sessionless FetchRequest from offset 0 of each
// partition, topics named both by name and by id (Fetch v13+).
func fetchRequest(ids map[string][16]byte, parts ...tp) *kmsg.FetchRequest {
	req := kmsg.NewPtrFetchRequest()
	req.MaxWaitMillis = 200
	req.MinBytes = 1
	req.MaxBytes = 1 << 20
	req.SessionID, req.SessionEpoch = 0, -1
	for _, p := range parts {
		i := slices.IndexFunc(req.Topics, func(t kmsg.FetchRequestTopic) bool { return t.Topic == p.topic })
		if i < 0 {
			rt := kmsg.NewFetchRequestTopic()
			rt.Topic, rt.TopicID = p.topic, ids[p.topic]
			req.Topics = append(req.Topics, rt)
			i = len(req.Topics) - 1
		}
		rp := kmsg.NewFetchRequestTopicPartition()
		rp.Partition, rp.FetchOffset, rp.PartitionMaxBytes = p.partition, 0, 1<<20
		rp.CurrentLeaderEpoch, rp.LogStartOffset = -1, -1
		req.Topics[i].Partitions = append(req.Topics[i].Partitions, rp)
	}
	return req
}

// fetchCodes names the error of each partition of a FetchResponse,
// "topic/partition=ERROR", sorted, after the top-level error if any.
func fetchCodes(resp *kmsg.FetchResponse, ids map[string][16]byte) []string {
	out := partitionCodes(resp.Topics, ids)
	if resp.ErrorCode != 0 {
		out = append(out, "request="+errName(resp.ErrorCode))
		slices.Sort(out)
	}
	return out
}

// topicByNameOrID is name, or the name of id in ids when the answer names
// topics by id.
func topicByNameOrID(name string, id [16]byte, ids map[string][16]byte) string {
	if name != "" {
		return name
	}
	for n, i := range ids {
		if i == id {
			return n
		}
	}
	return fmt.Sprintf("id:%x", id)
}

// offsetCommitRequest commits offset 1 of partition 0 of each topic for
// group, as a client outside the group (generation -1) does.
func offsetCommitRequest(ids map[string][16]byte, group string, topics ...string) *kmsg.OffsetCommitRequest {
	req := kmsg.NewPtrOffsetCommitRequest()
	req.Group, req.Generation, req.MemberID = group, -1, ""
	for _, topic := range topics {
		rt := kmsg.NewOffsetCommitRequestTopic()
		rt.Topic, rt.TopicID = topic, ids[topic]
		rp := kmsg.NewOffsetCommitRequestTopicPartition()
		rp.Partition, rp.Offset, rp.LeaderEpoch = 0, 1, -1
		rt.Partitions = append(rt.Partitions, rp)
		req.Topics = append(req.Topics, rt)
	}
	return req
}

func offsetCommitCodes(resp *kmsg.OffsetCommitResponse, ids map[string][16]byte) []string {
	return partitionCodes(resp.Topics, ids)
}

// metadataRequest asks for the named topics (nil: all topics).
func metadataRequest(autoCreate bool, topics ...string) *kmsg.MetadataRequest {
	req := kmsg.NewPtrMetadataRequest()
	req.AllowAutoTopicCreation = autoCreate
	if topics != nil {
		req.Topics = []kmsg.MetadataRequestTopic{}
	}
	for _, topic := range topics {
		rt := kmsg.NewMetadataRequestTopic()
		rt.Topic = kmsg.StringPtr(topic)
		req.Topics = append(req.Topics, rt)
	}
	return req
}

// metadataCodes names each topic of a Metadata answer with its error,
// "topic=ERROR", sorted; a refused topic that still carries a topic id is
// marked "+id" (Kafka answers a zero id so as not to reveal the topic).
func metadataCodes(resp *kmsg.MetadataResponse) []string {
	var out []string
	for _, rt := range resp.Topics {
		s := fmt.Sprintf("id:%x=%s", rt.TopicID, errName(rt.ErrorCode))
		if rt.Topic != nil {
			s = *rt.Topic + "=" + errName(rt.ErrorCode)
		}
		if rt.ErrorCode != 0 && rt.TopicID != [16]byte{} {
			s += "+id"
		}
		out = append(out, s)
	}
	slices.Sort(out)
	return out
}

// brokerRequest sends req to broker id without any client-side routing,
// sharding or retries, so the answer is exactly what that broker (or the
// proxy's port for it) said.
func brokerRequest(ctx context.Context, cl *kgo.Client, id int32, req kmsg.Request) (kmsg.Response, error) {
	return cl.Broker(int(id)).Request(ctx, req)
}

// ask sends req to broker node and formats the answer with f, items
// joined by spaces; a failed request is "error: ...". An answer naming a
// transient error (a busy broker, or a coordinator moving) is asked again,
// for 15s at most: the tests compare authorization decisions, not load.
func ask[R kmsg.Response](ctx context.Context, cl *kgo.Client, node int32, req kmsg.Request, f func(R) []string) string {
	return settled(ctx, func() string {
		resp, err := brokerRequest(ctx, cl, node, req)
		if err != nil {
			return errOf(err)
		}
		r, ok := resp.(R)
		if !ok {
			return fmt.Sprintf("error: response %T", resp)
		}
		return strings.Join(f(r), " ")
	})
}

// transientErrors are what a broker answers for a moment while it is busy
// or moves a coordinator or a partition leader.
var transientErrors = []string{
	"NOT_COORDINATOR", "COORDINATOR_LOAD_IN_PROGRESS", "COORDINATOR_NOT_AVAILABLE",
	"NOT_LEADER_FOR_PARTITION", "LEADER_NOT_AVAILABLE", "REQUEST_TIMED_OUT", "CONCURRENT_TRANSACTIONS",
}

// settled calls f until its answer names no transient error, for 15s at
// most, and returns the last answer.
func settled(ctx context.Context, f func() string) string {
	deadline := time.Now().Add(15 * time.Second)
	for {
		s := f()
		if !slices.ContainsFunc(transientErrors, func(e string) bool { return strings.Contains(s, e) }) ||
			time.Now().After(deadline) || ctx.Err() != nil {
			return s
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// authzEvent is the part of an authorization audit line the tests read.
type authzEvent struct {
	Type string `json:"type"`
	Data struct {
		Principal    string `json:"principal"`
		API          string `json:"api"`
		ResourceType string `json:"resource_type"`
		ResourceName string `json:"resource_name"`
		Operation    string `json:"operation"`
		Granted      *bool  `json:"granted"`
		Rule         string `json:"rule"`
	} `json:"data"`
}

// authzEventType is the CloudEvents type of authorization decisions.
const authzEventType = "io.kafka-auth-proxy/authorization"

// readAuthzAudit returns the authorization events of the audit log,
// skipping the authentication events.
func readAuthzAudit(t testing.TB, path string) []authzEvent {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []authzEvent
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var e authzEvent
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			t.Fatalf("audit line %q: %v", sc.Text(), err)
		}
		if e.Type == authzEventType {
			out = append(out, e)
		}
	}
	return out
}

// sameName compares names of APIs, resource types and operations the way
// a reader would: "TransactionalId", "TRANSACTIONAL_ID" and
// "transactional_id" are the same.
func sameName(a, b string) bool {
	norm := func(s string) string { return strings.ToLower(strings.ReplaceAll(s, "_", "")) }
	return norm(a) == norm(b)
}

// denial describes an audit event a test expects; empty fields match
// anything.
type denial struct {
	principal, api, resourceType, resourceName, operation string
}

func (d denial) matches(e authzEvent) bool {
	return e.Data.Granted != nil && !*e.Data.Granted && e.Data.Rule != "" &&
		e.Data.Principal == d.principal && e.Data.ResourceName == d.resourceName &&
		sameName(e.Data.ResourceType, d.resourceType) &&
		(d.api == "" || sameName(e.Data.API, d.api)) &&
		(d.operation == "" || sameName(e.Data.Operation, d.operation))
}

// waitDenials waits (up to 5s, audit writes may lag) until the audit log
// holds an event for each denial, naming the rule that decided.
func waitDenials(t testing.TB, auditFile string, want ...denial) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		events := readAuthzAudit(t, auditFile)
		var missing []denial
		for _, d := range want {
			if !slices.ContainsFunc(events, d.matches) {
				missing = append(missing, d)
			}
		}
		if len(missing) == 0 {
			return
		}
		if time.Now().After(deadline) {
			var denied []string
			for _, e := range events {
				if e.Data.Granted != nil && !*e.Data.Granted {
					denied = append(denied, fmt.Sprintf("%s %s %s:%s %s", e.Data.Principal, e.Data.API, e.Data.ResourceType, e.Data.ResourceName, e.Data.Operation))
				}
			}
			t.Errorf("no %s audit event with granted=false for %+v; the denials logged are %q", authzEventType, missing, denied)
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// pollUntilError polls cl until a fetch error arrives, for a consumer
// that should be refused; it fails the test if records arrive instead or
// nothing happens within 20s.
func pollUntilError(t testing.TB, cl *kgo.Client) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatal("the consumer got no error within 20s")
		}
		if n := fs.NumRecords(); n > 0 {
			t.Fatalf("the consumer read %d records", n)
		}
		if errs := fs.Errors(); len(errs) > 0 {
			return errs[0].Err
		}
	}
}

// A principal bound DeveloperRead on a topic prefix and on one group
// consumes a topic of that prefix in that group, committing offsets; it
// gets TOPIC_AUTHORIZATION_FAILED for a topic outside the prefix,
// GROUP_AUTHORIZATION_FAILED in another group, and may not produce
// (CLUSTER_AUTHORIZATION_FAILED for an idempotent producer's id,
// TOPIC_AUTHORIZATION_FAILED otherwise). The same holds for an OAuth
// identity pool bound the same way.
func TestDeveloperReadConsumesItsTopicPrefixInItsGroupAndNothingElse(t *testing.T) {
	tag := runTag()
	n := func(s string) string { return tag + "-" + s }
	ordersEU, payments := n("orders-eu"), n("payments")
	const pool = "pool-analytics" // the analytics client's tokens land here (pools are tried in id order)
	keyAccount := newAccountID(t)
	var reader principal // keyAccount's API key, once the proxy runs
	logins := []struct {
		name      string
		principal string
		group     string
		login     func() kgo.Opt
	}{
		{"API key", "User:" + keyAccount, n("orders-app"), func() kgo.Opt { return reader.login() }},
		{"OAuth token", "User:" + pool, n("orders-app-oauth"), func() kgo.Opt {
			return tokenLogin(clientCredentials(t, oidc.AnalyticsClientID, oidc.AnalyticsClientSecret), nil)
		}},
	}
	ap := startAuthProxy(t, single.Bootstrap, func(cfg *config.Config) {
		var bindings []config.RoleBinding
		for _, l := range logins {
			bindings = append(bindings,
				config.RoleBinding{Principal: l.principal, Role: "DeveloperRead", ResourceType: "topic", Name: n("orders-"), Pattern: "prefixed"},
				config.RoleBinding{Principal: l.principal, Role: "DeveloperRead", ResourceType: "group", Name: l.group})
		}
		cfg.Authorization = config.Authorization{RoleBindings: bindings}
	})
	reader = ap.addPrincipal(t, keyAccount)
	admin := upstreamClient(t, single)
	ids := createTopics(t, admin, 2, ordersEU, payments)
	produceTo(t, admin, ordersEU, "r0", "r1", "r2", "r3", "r4")
	produceTo(t, admin, payments, "p0")
	node := single.NodeIDs[0]

	for _, l := range logins {
		login := l.login()
		t.Run(l.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
			defer cancel()

			t.Run("consumes in its group with commits", func(t *testing.T) {
				cons := loginClient(t, ap, login, kgo.ConsumeTopics(ordersEU), kgo.ConsumerGroup(l.group),
					kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.DisableAutoCommit())
				seen := map[string]bool{}
				for len(seen) < 5 {
					fs := cons.PollFetches(ctx)
					if ctx.Err() != nil {
						t.Fatalf("consumed %v of 5 records", keys(seen))
					}
					fs.EachError(func(topic string, p int32, err error) { t.Fatalf("fetch %s/%d: %v", topic, p, err) })
					fs.EachRecord(func(r *kgo.Record) { seen[string(r.Value)] = true })
				}
				if err := cons.CommitUncommittedOffsets(ctx); err != nil {
					t.Fatalf("commit: %v", err)
				}
				cons.Close() // leaves the group
				committed, err := kadm.NewClient(admin).FetchOffsets(ctx, l.group)
				if err != nil {
					t.Fatal(err)
				}
				var sum int64
				committed.Each(func(o kadm.OffsetResponse) { sum += o.At })
				if sum != 5 {
					t.Fatalf("the group committed offsets summing to %d, want 5", sum)
				}
			})

			t.Run("TOPIC_AUTHORIZATION_FAILED outside its prefix", func(t *testing.T) {
				cons := loginClient(t, ap, login, kgo.ConsumeTopics(payments), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
				if err := pollUntilError(t, cons); !errors.Is(err, kerr.TopicAuthorizationFailed) {
					t.Errorf("consumer of %s got %v, want TOPIC_AUTHORIZATION_FAILED", payments, err)
				}
				// One Fetch for both topics: only the other prefix is refused.
				cl := loginClient(t, ap, login)
				got := ask(ctx, cl, node, fetchRequest(ids, tp{ordersEU, 0}, tp{payments, 0}),
					func(r *kmsg.FetchResponse) []string { return fetchCodes(r, ids) })
				if want := ordersEU + "/0=OK " + payments + "/0=TOPIC_AUTHORIZATION_FAILED"; got != want {
					t.Errorf("fetch answered %s, want %s", got, want)
				}
			})

			t.Run("GROUP_AUTHORIZATION_FAILED in another group", func(t *testing.T) {
				other := n("other-app")
				cons := loginClient(t, ap, login, kgo.ConsumeTopics(ordersEU), kgo.ConsumerGroup(other),
					kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
				if err := pollUntilError(t, cons); !errors.Is(err, kerr.GroupAuthorizationFailed) {
					t.Errorf("consumer in group %s got %v, want GROUP_AUTHORIZATION_FAILED", other, err)
				}
				cl := loginClient(t, ap, login)
				got := ask(ctx, cl, node, offsetCommitRequest(ids, other, ordersEU),
					func(r *kmsg.OffsetCommitResponse) []string { return offsetCommitCodes(r, ids) })
				if got != ordersEU+"/0=GROUP_AUTHORIZATION_FAILED" {
					t.Errorf("offset commit in group %s answered %s, want GROUP_AUTHORIZATION_FAILED", other, got)
				}
				committed, err := kadm.NewClient(admin).FetchOffsets(ctx, other)
				if err == nil && len(committed) > 0 {
					t.Errorf("group %s has committed offsets %v: the refused commit reached the broker", other, committed)
				}
			})

			t.Run("may not produce", func(t *testing.T) {
				// An idempotent producer needs IdempotentWrite on the
				// cluster or Write on some topic for its producer id.
				idempotent := loginClient(t, ap, login, kgo.DefaultProduceTopic(ordersEU))
				if err := idempotent.ProduceSync(ctx, kgo.StringRecord("denied")).FirstErr(); !errors.Is(err, kerr.ClusterAuthorizationFailed) {
					t.Errorf("idempotent produce with DeveloperRead only: %v, want CLUSTER_AUTHORIZATION_FAILED", err)
				}
				plain := loginClient(t, ap, login, kgo.DefaultProduceTopic(ordersEU), kgo.DisableIdempotentWrite())
				if err := plain.ProduceSync(ctx, kgo.StringRecord("denied")).FirstErr(); !errors.Is(err, kerr.TopicAuthorizationFailed) {
					t.Errorf("produce with DeveloperRead only: %v, want TOPIC_AUTHORIZATION_FAILED", err)
				}
			})

			waitDenials(t, ap.auditFile,
				denial{principal: l.principal, api: "Fetch", resourceType: "topic", resourceName: payments, operation: "read"},
				denial{principal: l.principal, resourceType: "group", resourceName: n("other-app")},
				denial{principal: l.principal, api: "InitProducerId", resourceType: "cluster", resourceName: "kafka-cluster", operation: "idempotent_write"},
				denial{principal: l.principal, api: "Produce", resourceType: "topic", resourceName: ordersEU, operation: "write"},
			)
		})
	}
	if got := endOffsets(t, admin, ordersEU); got[0]+got[1] != 5 {
		t.Errorf("%s holds %v records per partition, want 5 in all: a refused produce reached the broker", ordersEU, got)
	}
}

// One ProduceRequest that writes to a topic the producer may write
// (DeveloperWrite) and to one it may not: the allowed partitions are
// written, the others get TOPIC_AUTHORIZATION_FAILED, in the same answer.
// A franz-go producer gets the same error for the denied topic only.
func TestProduceRequestToAnAllowedAndADeniedTopicWritesOnlyTheAllowedPartitions(t *testing.T) {
	tag := runTag()
	allowed, denied := tag+"-allowed", tag+"-denied"
	account := newAccountID(t)
	ap := startAuthProxy(t, single.Bootstrap, func(cfg *config.Config) {
		cfg.Authorization = config.Authorization{RoleBindings: []config.RoleBinding{
			{Principal: "User:" + account, Role: "DeveloperWrite", ResourceType: "topic", Name: allowed},
		}}
	})
	writer := ap.addPrincipal(t, account)
	admin := upstreamClient(t, single)
	ids := createTopics(t, admin, 2, allowed, denied)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	cl := loginClient(t, ap, writer.login())
	resp, err := brokerRequest(ctx, cl, single.NodeIDs[0], produceRequest(ids, tp{allowed, 0}, tp{allowed, 1}, tp{denied, 0}, tp{denied, 1}))
	if err != nil {
		t.Fatal(err)
	}
	got := produceCodes(resp.(*kmsg.ProduceResponse), ids)
	want := []string{allowed + "/0=OK", allowed + "/1=OK", denied + "/0=TOPIC_AUTHORIZATION_FAILED", denied + "/1=TOPIC_AUTHORIZATION_FAILED"}
	if !slices.Equal(got, want) {
		t.Fatalf("produce answered %v, want %v", got, want)
	}
	if got := endOffsets(t, admin, allowed); got[0] != 1 || got[1] != 1 {
		t.Errorf("%s end offsets %v, want one record per partition", allowed, got)
	}
	if got := endOffsets(t, admin, denied); got[0] != 0 || got[1] != 0 {
		t.Errorf("%s end offsets %v, want none: the refused partitions reached the broker", denied, got)
	}

	// franz-go's idempotent producer (InitProducerId needs Write on some
	// topic) writes the allowed topic and gets the error for the other.
	prod := loginClient(t, ap, writer.login())
	if err := prod.ProduceSync(ctx, &kgo.Record{Topic: allowed, Value: []byte("ok")}).FirstErr(); err != nil {
		t.Errorf("produce to %s: %v", allowed, err)
	}
	if err := prod.ProduceSync(ctx, &kgo.Record{Topic: denied, Value: []byte("no")}).FirstErr(); !errors.Is(err, kerr.TopicAuthorizationFailed) {
		t.Errorf("produce to %s: %v, want TOPIC_AUTHORIZATION_FAILED", denied, err)
	}
	waitDenials(t, ap.auditFile, denial{principal: writer.name(), api: "Produce", resourceType: "topic", resourceName: denied, operation: "write"})
}

// A transactional producer needs Write on its transactional id: without
// it InitProducerId (and FindCoordinator for it) are refused with
// TRANSACTIONAL_ID_AUTHORIZATION_FAILED; with DeveloperWrite on the id it
// commits and aborts transactions, and a read_committed consumer reads
// exactly the committed records.
func TestTransactionalProducerNeedsWriteOnItsTransactionalID(t *testing.T) {
	tag := runTag()
	topic, txnOK, txnDenied := tag+"-txn", tag+"-txn-ok", tag+"-txn-denied"
	account := newAccountID(t)
	ap := startAuthProxy(t, single.Bootstrap, func(cfg *config.Config) {
		p := "User:" + account
		cfg.Authorization = config.Authorization{RoleBindings: []config.RoleBinding{
			{Principal: p, Role: "DeveloperWrite", ResourceType: "topic", Name: topic},
			{Principal: p, Role: "DeveloperRead", ResourceType: "topic", Name: topic},
			{Principal: p, Role: "DeveloperWrite", ResourceType: "transactional_id", Name: txnOK},
		}}
	})
	w := ap.addPrincipal(t, account)
	admin := upstreamClient(t, single)
	createTopics(t, admin, 2, topic)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()

	t.Run("refused without Write on the transactional id", func(t *testing.T) {
		// franz-go initializes a transactional producer id as soon as it
		// can, so the refusal may come from BeginTransaction already.
		txn := loginClient(t, ap, w.login(), kgo.TransactionalID(txnDenied), kgo.DefaultProduceTopic(topic))
		err := txn.BeginTransaction()
		if err == nil {
			err = txn.ProduceSync(ctx, kgo.StringRecord("denied")).FirstErr()
		}
		if !errors.Is(err, kerr.TransactionalIDAuthorizationFailed) {
			t.Errorf("transactional produce with %s: %v, want TRANSACTIONAL_ID_AUTHORIZATION_FAILED", txnDenied, err)
		}
		cl := loginClient(t, ap, w.login())
		init := kmsg.NewPtrInitProducerIDRequest()
		init.TransactionalID, init.TransactionTimeoutMillis = kmsg.StringPtr(txnDenied), 60000
		got := ask(ctx, cl, single.NodeIDs[0], init, func(r *kmsg.InitProducerIDResponse) []string { return []string{errName(r.ErrorCode)} })
		if got != "TRANSACTIONAL_ID_AUTHORIZATION_FAILED" {
			t.Errorf("InitProducerId for %s: %s", txnDenied, got)
		}
		if got := findCoordinator(ctx, cl, single.NodeIDs[0], 1, txnDenied); got != "TRANSACTIONAL_ID_AUTHORIZATION_FAILED" {
			t.Errorf("FindCoordinator for transactional id %s: %s", txnDenied, got)
		}
		waitDenials(t, ap.auditFile, denial{principal: w.name(), resourceType: "transactional_id", resourceName: txnDenied, operation: "write"})
	})

	t.Run("commits with DeveloperWrite on the transactional id", func(t *testing.T) {
		txn := loginClient(t, ap, w.login(), kgo.TransactionalID(txnOK), kgo.DefaultProduceTopic(topic))
		run := func(values []string, end kgo.TransactionEndTry) {
			if err := txn.BeginTransaction(); err != nil {
				t.Fatal(err)
			}
			for _, v := range values {
				if err := txn.ProduceSync(ctx, kgo.StringRecord(v)).FirstErr(); err != nil {
					t.Fatalf("transactional produce: %v", err)
				}
			}
			if err := txn.EndTransaction(ctx, end); err != nil {
				t.Fatalf("end transaction: %v", err)
			}
		}
		run([]string{"c1", "c2"}, kgo.TryCommit)
		run([]string{"aborted"}, kgo.TryAbort)
		run([]string{"c3"}, kgo.TryCommit)

		cons := loginClient(t, ap, w.login(), kgo.ConsumeTopics(topic), kgo.FetchIsolationLevel(kgo.ReadCommitted()),
			kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
		seen := map[string]bool{}
		for len(seen) < 3 {
			fs := cons.PollFetches(ctx)
			if ctx.Err() != nil {
				t.Fatalf("read %v of the 3 committed records", keys(seen))
			}
			fs.EachError(func(topic string, p int32, err error) { t.Fatalf("fetch %s/%d: %v", topic, p, err) })
			fs.EachRecord(func(r *kgo.Record) { seen[string(r.Value)] = true })
		}
		if seen["aborted"] || len(seen) != 3 {
			t.Fatalf("read_committed consumer read %v, want c1, c2, c3", keys(seen))
		}
	})
}

// findCoordinator asks broker node for the coordinator of key (type 0 group,
// 1 transactional id) and names the error of the answer for key.
func findCoordinator(ctx context.Context, cl *kgo.Client, node int32, keyType int8, key string) string {
	req := kmsg.NewPtrFindCoordinatorRequest()
	req.CoordinatorType = keyType
	req.CoordinatorKey = key            // v0-v3
	req.CoordinatorKeys = []string{key} // v4+
	return ask(ctx, cl, node, req, func(r *kmsg.FindCoordinatorResponse) []string {
		if len(r.Coordinators) == 0 {
			return []string{errName(r.ErrorCode)}
		}
		return []string{errName(r.Coordinators[0].ErrorCode)}
	})
}

// An all-topics Metadata answer leaves out the topics the principal cannot
// describe; naming such a topic gets TOPIC_AUTHORIZATION_FAILED with a zero
// topic id, whether it exists or not, and never creates it. ListGroups
// lists only the groups it can describe.
func TestMetadataAndListGroupsShowOnlyWhatThePrincipalMayDescribe(t *testing.T) {
	tag := runTag()
	n := func(s string) string { return tag + "-" + s }
	visible1, visible2, hidden := n("md-visible-1"), n("md-visible-2"), n("md-hidden")
	groupVisible, groupHidden := n("md-group-visible"), n("md-group-hidden")
	account := newAccountID(t)
	ap := startAuthProxy(t, single.Bootstrap, func(cfg *config.Config) {
		p := "User:" + account
		cfg.Authorization = config.Authorization{RoleBindings: []config.RoleBinding{
			{Principal: p, Role: "DeveloperRead", ResourceType: "topic", Name: n("md-visible-"), Pattern: "prefixed"},
			{Principal: p, Role: "DeveloperRead", ResourceType: "group", Name: n("md-group-visible"), Pattern: "prefixed"},
		}}
	})
	m := ap.addPrincipal(t, account)
	admin := upstreamClient(t, single)
	createTopics(t, admin, 1, visible1, visible2, hidden)
	commitGroup(t, admin, groupVisible, visible1, 1)
	commitGroup(t, admin, groupHidden, hidden, 1)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cl := loginClient(t, ap, m.login())
	node := single.NodeIDs[0]

	t.Run("all topics", func(t *testing.T) {
		// The cluster holds other tests' topics and __consumer_offsets
		// too: the principal may describe none of them.
		if got, want := ask(ctx, cl, node, metadataRequest(false), metadataCodes), visible1+"=OK "+visible2+"=OK"; got != want {
			t.Errorf("all-topics metadata lists %s, want exactly %s", got, want)
		}
		listed, err := kadm.NewClient(cl).ListTopics(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if got := listed.Names(); !slices.Equal(sorted(got), []string{visible1, visible2}) {
			t.Errorf("kadm ListTopics: %v", got)
		}
	})

	t.Run("named topics", func(t *testing.T) {
		missing := n("md-missing")
		want := hidden + "=TOPIC_AUTHORIZATION_FAILED " + missing + "=TOPIC_AUTHORIZATION_FAILED " + visible1 + "=OK"
		if got := ask(ctx, cl, node, metadataRequest(false, hidden, visible1, missing), metadataCodes); got != want {
			t.Errorf("metadata for %s, %s and %s: %s, want %s", hidden, visible1, missing, got, want)
		}
	})

	t.Run("auto-creation needs Create", func(t *testing.T) {
		// The broker auto-creates topics, and the proxy's own upstream
		// identity could; the principal may describe this name but not
		// create it.
		fresh := n("md-visible-new")
		if got, want := ask(ctx, cl, node, metadataRequest(true, fresh), metadataCodes), fresh+"=TOPIC_AUTHORIZATION_FAILED"; got != want {
			t.Errorf("metadata auto-creating %s: %s, want %s", fresh, got, want)
		}
		time.Sleep(500 * time.Millisecond)
		up, err := metadataRequest(false, fresh).RequestWith(ctx, admin)
		if err != nil {
			t.Fatal(err)
		}
		if len(up.Topics) != 1 || up.Topics[0].ErrorCode != kerr.UnknownTopicOrPartition.Code {
			t.Errorf("the broker has topic %s: %v", fresh, metadataCodes(up))
		}
	})

	t.Run("list and describe groups", func(t *testing.T) {
		got := ask(ctx, cl, node, kmsg.NewPtrListGroupsRequest(), func(r *kmsg.ListGroupsResponse) []string {
			out := []string{errName(r.ErrorCode)}
			for _, g := range r.Groups {
				out = append(out, g.Group)
			}
			slices.Sort(out[1:])
			return out
		})
		if want := "OK " + groupVisible; got != want {
			t.Errorf("ListGroups: %s, want only %s", got, want)
		}
		dg := kmsg.NewPtrDescribeGroupsRequest()
		dg.Groups = []string{groupVisible, groupHidden}
		got = ask(ctx, cl, node, dg, func(r *kmsg.DescribeGroupsResponse) []string {
			var out []string
			for _, g := range r.Groups {
				out = append(out, g.Group+"="+errName(g.ErrorCode))
			}
			slices.Sort(out)
			return out
		})
		if want := groupHidden + "=GROUP_AUTHORIZATION_FAILED " + groupVisible + "=OK"; got != want {
			t.Errorf("DescribeGroups: %s, want %s", got, want)
		}
	})
}

func sorted(s []string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return s
}

// aclAdmin runs the Java client's AclAdmin (the Admin API: CreateAcls,
// DescribeAcls, DeleteAcls) against the proxy with an API key.
func aclAdmin(t testing.TB, ap *authProxy, as principal, actions ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	return harness.RunJavaClient(ctx, "io.kafkaauthproxy.it.AclAdmin",
		append([]string{"--bootstrap", ap.srv.BootstrapAddr()}, actions...), clients.JavaPlainProps(as.key, as.secret))
}

// rawProduce sends a Produce v9 request writing one record to partition 0
// of topic on a connection opened (and logged in) by rawPlainLogin, and
// returns the partition's error.
func rawProduce(t testing.TB, nc net.Conn, corr int32, topic string) string {
	t.Helper()
	req := produceRequest(nil, tp{topic, 0})
	req.Version = 9
	body, err := rawRequest(nc, corr, req)
	if err != nil {
		t.Fatalf("produce on the raw connection: %v", err)
	}
	resp := kmsg.NewPtrProduceResponse()
	resp.Version = 9
	// The response header: correlation id, then (v9 is flexible) tags.
	if got := int32(binary.BigEndian.Uint32(body)); got != corr {
		t.Fatalf("correlation id %d, want %d", got, corr)
	}
	if err := resp.ReadFrom(body[5:]); err != nil {
		t.Fatalf("produce response: %v", err)
	}
	codes := produceCodes(resp, nil)
	if len(codes) != 1 {
		t.Fatalf("produce answered %v", codes)
	}
	_, code, _ := strings.Cut(codes[0], "=")
	return code
}

// brokerAddr is the proxy's address for upstream broker node, as its
// Metadata answers tell clients.
func brokerAddr(t testing.TB, cl *kgo.Client, node int32) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	req := kmsg.NewPtrMetadataRequest()
	req.Topics = []kmsg.MetadataRequestTopic{}
	resp, err := req.RequestWith(ctx, cl)
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range resp.Brokers {
		if b.NodeID == node {
			return net.JoinHostPort(b.Host, strconv.Itoa(int(b.Port)))
		}
	}
	t.Fatalf("no broker %d in %+v", node, resp.Brokers)
	return ""
}

// describeACLs lists the ACLs the proxy holds for principal, as
// "TOPIC:LITERAL:name:WRITE:ALLOW" strings, through franz-go.
func describeACLs(ctx context.Context, t testing.TB, cl *kgo.Client, principal string) []string {
	t.Helper()
	req := kmsg.NewPtrDescribeACLsRequest()
	req.ResourceType, req.ResourcePatternType = kmsg.ACLResourceTypeAny, kmsg.ACLResourcePatternTypeAny
	req.Principal = kmsg.StringPtr(principal)
	req.Operation, req.PermissionType = kmsg.ACLOperationAny, kmsg.ACLPermissionTypeAny
	resp, err := req.RequestWith(ctx, cl)
	if err != nil {
		t.Fatal(err)
	}
	if resp.ErrorCode != 0 {
		t.Fatalf("DescribeAcls: %s", errName(resp.ErrorCode))
	}
	var out []string
	for _, r := range resp.Resources {
		for _, a := range r.ACLs {
			out = append(out, fmt.Sprintf("%s:%s:%s:%s:%s", r.ResourceType, r.ResourcePatternType, r.ResourceName, a.Operation, a.PermissionType))
		}
	}
	slices.Sort(out)
	return out
}

// ACLs created, listed and deleted with the Java Admin client through the
// proxy are the proxy's own: a new ALLOW ACL lets the SAME connections of
// another principal produce as soon as CreateAcls has returned, the ACL
// is still there after the proxy restarts on the same state file, and
// deleting it takes the permission away from live connections again.
func TestACLsManagedWithTheAdminAPIApplyToLiveConnectionsAndSurviveARestart(t *testing.T) {
	topic := runTag() + "-acl"
	adminAccount, userAccount := newAccountID(t), newAccountID(t)
	policy := config.Authorization{RoleBindings: []config.RoleBinding{
		{Principal: "User:" + adminAccount, Role: "CloudClusterAdmin"},
	}}
	ap := startAuthProxy(t, single.Bootstrap, func(cfg *config.Config) { cfg.Authorization = policy })
	admin := ap.addPrincipal(t, adminAccount)
	user := ap.addPrincipal(t, userAccount)
	createTopics(t, upstreamClient(t, single), 1, topic)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	node := single.NodeIDs[0]
	adminCl := loginClient(t, ap, admin.login())
	acl := user.name() + ",TOPIC,LITERAL," + topic + ",WRITE,ALLOW"
	wantACL := []string{"TOPIC:LITERAL:" + topic + ":WRITE:ALLOW"}

	// The user's franz-go client and a raw connection, both logged in
	// before the ACL exists.
	prod := loginClient(t, ap, user.login(), kgo.DefaultProduceTopic(topic))
	if err := prod.ProduceSync(ctx, kgo.StringRecord("before")).FirstErr(); !errors.Is(err, kerr.TopicAuthorizationFailed) {
		t.Fatalf("produce without an ACL: %v, want TOPIC_AUTHORIZATION_FAILED", err)
	}
	nc := rawPlainLogin(t, brokerAddr(t, adminCl, node), user.key, user.secret)
	if got := rawProduce(t, nc, 10, topic); got != "TOPIC_AUTHORIZATION_FAILED" {
		t.Fatalf("raw produce without an ACL: %s", got)
	}

	out, err := aclAdmin(t, ap, admin, "--create", acl, "--list", user.name())
	if err != nil {
		t.Fatalf("java admin creating an ACL: %v", err)
	}
	if !strings.Contains(out, "CREATED principal="+user.name()) || !strings.Contains(out, "ACL principal="+user.name()+" host=* resource=TOPIC:LITERAL:"+topic+" operation=WRITE permission=ALLOW") {
		t.Fatalf("java admin did not create and list the ACL:\n%s", out)
	}
	// No waiting: CreateAcls has returned.
	if got := rawProduce(t, nc, 11, topic); got != "OK" {
		t.Errorf("raw produce on the same connection after CreateAcls: %s, want OK", got)
	}
	if err := prod.ProduceSync(ctx, kgo.StringRecord("after")).FirstErr(); err != nil {
		t.Errorf("the same franz-go client after CreateAcls: %v", err)
	}
	if got := describeACLs(ctx, t, adminCl, user.name()); !slices.Equal(got, wantACL) {
		t.Errorf("franz-go DescribeAcls: %v, want %v", got, wantACL)
	}

	t.Run("without Alter Cluster the ACL APIs are refused", func(t *testing.T) {
		cl := loginClient(t, ap, user.login())
		create := kmsg.NewPtrCreateACLsRequest()
		c := kmsg.NewCreateACLsRequestCreation()
		c.ResourceType, c.ResourceName, c.ResourcePatternType = kmsg.ACLResourceTypeTopic, topic, kmsg.ACLResourcePatternTypeLiteral
		c.Principal, c.Host, c.Operation, c.PermissionType = user.name(), "*", kmsg.ACLOperationAll, kmsg.ACLPermissionTypeAllow
		create.Creations = append(create.Creations, c)
		del := kmsg.NewPtrDeleteACLsRequest()
		f := kmsg.NewDeleteACLsRequestFilter()
		f.ResourceType, f.ResourcePatternType = kmsg.ACLResourceTypeAny, kmsg.ACLResourcePatternTypeAny
		f.Operation, f.PermissionType = kmsg.ACLOperationAny, kmsg.ACLPermissionTypeAny
		del.Filters = append(del.Filters, f)
		describe := kmsg.NewPtrDescribeACLsRequest()
		describe.ResourceType, describe.ResourcePatternType = kmsg.ACLResourceTypeAny, kmsg.ACLResourcePatternTypeAny
		describe.Operation, describe.PermissionType = kmsg.ACLOperationAny, kmsg.ACLPermissionTypeAny
		for _, tc := range []struct {
			name string
			req  kmsg.Request
			code func(kmsg.Response) int16
		}{
			{"CreateAcls", create, func(r kmsg.Response) int16 {
				res := r.(*kmsg.CreateACLsResponse).Results
				if len(res) != 1 {
					return -1
				}
				return res[0].ErrorCode
			}},
			{"DeleteAcls", del, func(r kmsg.Response) int16 {
				res := r.(*kmsg.DeleteACLsResponse).Results
				if len(res) != 1 {
					return -1
				}
				return res[0].ErrorCode
			}},
			{"DescribeAcls", describe, func(r kmsg.Response) int16 { return r.(*kmsg.DescribeACLsResponse).ErrorCode }},
		} {
			resp, err := brokerRequest(ctx, cl, node, tc.req)
			if err != nil {
				t.Fatal(err)
			}
			if got := errName(tc.code(resp)); got != "CLUSTER_AUTHORIZATION_FAILED" {
				t.Errorf("franz-go %s without Alter/Describe Cluster: %s, want CLUSTER_AUTHORIZATION_FAILED", tc.name, got)
			}
		}
		out, err := aclAdmin(t, ap, user, "--create", user.name()+",TOPIC,LITERAL,"+topic+",ALL,ALLOW")
		if err == nil || !strings.Contains(out, "ClusterAuthorizationException") {
			t.Errorf("java createAcls without Alter Cluster: %v\n%s", err, out)
		}
		if got := describeACLs(ctx, t, adminCl, user.name()); !slices.Equal(got, wantACL) {
			t.Errorf("after the refused calls the user's ACLs are %v, want %v", got, wantACL)
		}
		waitDenials(t, ap.auditFile, denial{principal: user.name(), resourceType: "cluster", resourceName: "kafka-cluster", operation: "alter"})
	})

	t.Run("the ACL survives a restart and its deletion applies to live connections", func(t *testing.T) {
		sctx, scancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer scancel()
		if err := ap.srv.Shutdown(sctx); err != nil {
			t.Fatal(err)
		}
		state := ap.stateFile
		restarted := startAuthProxy(t, single.Bootstrap, func(cfg *config.Config) {
			cfg.Authorization = policy
			cfg.APIKeys.StateFile = state
		})
		restarted.stateFile = state
		adminCl := loginClient(t, restarted, admin.login())
		if got := describeACLs(ctx, t, adminCl, user.name()); !slices.Equal(got, wantACL) {
			t.Errorf("after the restart the proxy holds %v for %s, want %v", got, user.name(), wantACL)
		}
		nc := rawPlainLogin(t, brokerAddr(t, adminCl, node), user.key, user.secret)
		if got := rawProduce(t, nc, 20, topic); got != "OK" {
			t.Fatalf("produce after the restart: %s, want OK", got)
		}
		out, err := aclAdmin(t, restarted, admin, "--delete", acl, "--list", user.name())
		if err != nil {
			t.Fatalf("java admin deleting the ACL: %v", err)
		}
		if !strings.Contains(out, "DELETED principal="+user.name()) || strings.Contains(out, "\nACL ") {
			t.Fatalf("java admin did not delete the ACL, or still lists one:\n%s", out)
		}
		if got := rawProduce(t, nc, 21, topic); got != "TOPIC_AUTHORIZATION_FAILED" {
			t.Errorf("raw produce on the same connection after DeleteAcls: %s, want TOPIC_AUTHORIZATION_FAILED", got)
		}
	})
}
