//go:build integration

package integration

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
	"github.com/twmb/franz-go/pkg/kversion"
)

// The comparison's steps for what a broker decides by principal. Behind
// the proxy every client is the proxy's own identity to the broker, so for
// these the proxy applies the client's permissions itself; each step
// checks that alice straight at the broker and the service account
// through the proxy end up with the same answer. Where the proxy refuses
// outright what the broker filters, the step reports what the principal
// got, not how it was refused.
//
// Resources of these steps, beside the scenario's:
const (
	cmpGroupShared = "grp-shared" // Describe only: another principal's members live in it
	cmpTxnShared   = "txn-shared" // Describe only: another principal's transaction
)

// principalACLs extend comparisonACLs for these steps: IdempotentWrite on
// the cluster (a cluster right that is not Describe), and Describe on a
// group and a transactional id that other principals use.
var principalACLs = []aclRule{
	{kmsg.ACLResourceTypeCluster, "kafka-cluster", kmsg.ACLResourcePatternTypeLiteral, kmsg.ACLOperationIdempotentWrite, kmsg.ACLPermissionTypeAllow},
	{kmsg.ACLResourceTypeGroup, cmpGroupShared, kmsg.ACLResourcePatternTypeLiteral, kmsg.ACLOperationDescribe, kmsg.ACLPermissionTypeAllow},
	{kmsg.ACLResourceTypeTransactionalId, cmpTxnShared, kmsg.ACLResourcePatternTypeLiteral, kmsg.ACLOperationDescribe, kmsg.ACLPermissionTypeAllow},
}

// memberID is a new KIP-848 member id: the client picks it.
func memberID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// heartbeatUntilAssigned joins group with a KIP-848 member on cl, straight
// at broker node, and heartbeats until the member is assigned partitions,
// it is refused, or 20s pass. It returns the last answer, and leave, which
// takes the member out of the group.
func heartbeatUntilAssigned(ctx context.Context, cl *kgo.Client, node int32, group string, subscribe func(*kmsg.ConsumerGroupHeartbeatRequest)) (resp *kmsg.ConsumerGroupHeartbeatResponse, leave func(), err error) {
	hb := kmsg.NewPtrConsumerGroupHeartbeatRequest()
	hb.Group, hb.MemberID, hb.MemberEpoch, hb.RebalanceTimeoutMillis = group, memberID(), 0, 30000
	hb.Topics = []kmsg.ConsumerGroupHeartbeatRequestTopic{}
	subscribe(hb)
	leave = func() {
		bye := kmsg.NewPtrConsumerGroupHeartbeatRequest()
		bye.Group, bye.MemberID, bye.MemberEpoch = group, hb.MemberID, -1
		_, _ = brokerRequest(context.Background(), cl, node, bye)
	}
	ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	for {
		r, err := brokerRequest(ctx, cl, node, hb)
		if err != nil {
			return nil, leave, err
		}
		resp = r.(*kmsg.ConsumerGroupHeartbeatResponse)
		if resp.ErrorCode != 0 || resp.Assignment != nil && len(resp.Assignment.Topics) > 0 || ctx.Err() != nil {
			return resp, leave, nil
		}
		hb.MemberEpoch = resp.MemberEpoch
		time.Sleep(200 * time.Millisecond)
	}
}

// nameOfID is the topic of id among the scenario's.
func nameOfID(ids map[string][16]byte, id [16]byte) string { return topicByNameOrID("", id, ids) }

func principalSteps() []cmpStep {
	return []cmpStep{
		{"an incremental fetch naming another principal's fetch session reads none of its records",
			"secret records=0",
			func(ctx context.Context, t *testing.T, p *cmpPath) string {
				// The victim, a super user, reads secret in a session.
				victimReq := fetchRequest(p.ids, tp{cmpSecret, 0})
				victimReq.SessionEpoch = 0
				resp, err := brokerRequest(ctx, p.admin, p.node, victimReq)
				if err != nil {
					return errOf(err)
				}
				victim := resp.(*kmsg.FetchResponse)
				if victim.ErrorCode != 0 || victim.SessionID == 0 {
					return fmt.Sprintf("the victim's session: %s, id %d", errName(victim.ErrorCode), victim.SessionID)
				}
				// The attacker has a session of its own...
				own := fetchRequest(p.ids, tp{cmpAllowed, 0})
				own.SessionEpoch = 0
				if _, err := brokerRequest(ctx, p.cl, p.node, own); err != nil {
					return errOf(err)
				}
				// ...and names the victim's session and next epoch.
				steal := kmsg.NewPtrFetchRequest()
				steal.MaxWaitMillis, steal.MaxBytes, steal.SessionID, steal.SessionEpoch = 200, 1<<20, victim.SessionID, 1
				resp, err = brokerRequest(ctx, p.cl, p.node, steal)
				if err != nil {
					return errOf(err)
				}
				records := 0
				for _, rt := range resp.(*kmsg.FetchResponse).Topics {
					for _, rp := range rt.Partitions {
						if topicByNameOrID(rt.Topic, rt.TopicID, p.ids) == cmpSecret && len(rp.RecordBatches) > 0 {
							records++
						}
					}
				}
				return fmt.Sprintf("secret records=%d", records)
			}},
		{"metadata naming an allowed topic beside an undescribable topic's id describes the id, and denies it",
			"id=secret:TOPIC_AUTHORIZATION_FAILED name=<none> partitions=0",
			func(ctx context.Context, t *testing.T, p *cmpPath) string {
				req := kmsg.NewPtrMetadataRequest()
				rt := kmsg.NewMetadataRequestTopic()
				rt.Topic, rt.TopicID = kmsg.StringPtr(cmpAllowed), p.ids[cmpSecret]
				req.Topics = append(req.Topics, rt)
				return answer(ctx, p, req, func(r *kmsg.MetadataResponse) []string {
					var out []string
					for _, x := range r.Topics {
						name := "<none>"
						if x.Topic != nil {
							name = *x.Topic
						}
						out = append(out, fmt.Sprintf("id=%s:%s name=%s partitions=%d", nameOfID(p.ids, x.TopicID), errName(x.ErrorCode), name, len(x.Partitions)))
					}
					return out
				})
			}},
		{"metadata v10 reports no cluster operations without Describe on the cluster",
			"OK ops=[]",
			func(ctx context.Context, t *testing.T, p *cmpPath) string {
				v10 := kversion.V4_0_0()
				v10.SetMaxKeyVersion(kmsg.Metadata.Int16(), 10)
				cl := p.client(t, kgo.MaxVersions(v10))
				req := kmsg.NewPtrMetadataRequest()
				req.Topics, req.IncludeClusterAuthorizedOperations = []kmsg.MetadataRequestTopic{}, true
				return ask(ctx, cl, p.node, req, func(r *kmsg.MetadataResponse) []string {
					return []string{"OK", "ops=" + fmt.Sprint(authorizedOps(r.AuthorizedOperations))}
				})
			}},
		{"a member subscribing by regular expression is assigned no topic it cannot describe",
			"undescribable assigned=[]",
			func(ctx context.Context, t *testing.T, p *cmpPath) string {
				resp, leave, err := heartbeatUntilAssigned(ctx, p.cl, p.node, cmpGroupOK, func(hb *kmsg.ConsumerGroupHeartbeatRequest) {
					hb.SubscribedTopicRegex = kmsg.StringPtr(".*")
				})
				defer leave()
				if err != nil {
					return errOf(err)
				}
				undescribable := []string{}
				if resp.Assignment != nil {
					for _, at := range resp.Assignment.Topics {
						if name := nameOfID(p.ids, at.TopicID); !strings.HasPrefix(name, "ok-") && name != cmpVisible {
							undescribable = append(undescribable, name)
						}
					}
				}
				slices.Sort(undescribable)
				t.Logf("the regular expression subscription: %s", errName(resp.ErrorCode))
				return fmt.Sprintf("undescribable assigned=%v", undescribable)
			}},
		{"a group whose member another principal assigned an undescribable topic is described without members",
			"grp-shared=TOPIC_AUTHORIZATION_FAILED members=0",
			func(ctx context.Context, t *testing.T, p *cmpPath) string {
				// The other principal's member stays in the group while
				// the step describes it.
				other, leave, err := heartbeatUntilAssigned(ctx, p.admin, p.node, cmpGroupShared, func(hb *kmsg.ConsumerGroupHeartbeatRequest) {
					hb.SubscribedTopicNames = []string{cmpSecret}
				})
				defer leave()
				switch {
				case err != nil:
					return errOf(err)
				case other.ErrorCode != 0 || other.Assignment == nil:
					return "the other member: " + errName(other.ErrorCode)
				}
				req := kmsg.NewPtrConsumerGroupDescribeRequest()
				req.Groups = []string{cmpGroupShared}
				return answer(ctx, p, req, func(r *kmsg.ConsumerGroupDescribeResponse) []string {
					var out []string
					for _, g := range r.Groups {
						out = append(out, fmt.Sprintf("%s=%s members=%d", g.Group, errName(g.ErrorCode), len(g.Members)))
					}
					return out
				})
			}},
		{"describe topic partitions, one partition a page, names only describable topics in its pages and cursors",
			"ok-blocked ok-delete-me ok-orders visible",
			func(ctx context.Context, t *testing.T, p *cmpPath) string {
				seen := map[string]bool{}
				req := kmsg.NewPtrDescribeTopicPartitionsRequest()
				req.ResponsePartitionLimit = 1
				for range 100 {
					resp, err := brokerRequest(ctx, p.cl, p.node, req)
					if err != nil {
						return errOf(err)
					}
					r := resp.(*kmsg.DescribeTopicPartitionsResponse)
					for _, x := range r.Topics {
						if x.Topic != nil {
							seen[*x.Topic] = true
						}
					}
					if r.NextCursor == nil {
						break
					}
					seen[r.NextCursor.Topic] = true
					req.Cursor = &kmsg.DescribeTopicPartitionsRequestCursor{Topic: r.NextCursor.Topic, Partition: r.NextCursor.Partition}
				}
				var names []string
				for n := range seen {
					names = append(names, n)
				}
				slices.Sort(names)
				return strings.Join(names, " ")
			}},
		{"describe transactions lists another principal's transaction's describable partitions only",
			"txn-shared=OK topics=[ok-orders]",
			func(ctx context.Context, t *testing.T, p *cmpPath) string {
				producer, err := kgo.NewClient(kgo.SeedBrokers(p.adminSeeds...), kgo.TransactionalID(cmpTxnShared), kgo.RetryTimeout(15*time.Second))
				if err != nil {
					return errOf(err)
				}
				defer producer.Close()
				if err := producer.BeginTransaction(); err != nil {
					return errOf(err)
				}
				defer func() { _ = producer.EndTransaction(context.Background(), kgo.TryAbort) }()
				for _, topic := range []string{cmpAllowed, cmpSecret} {
					if err := producer.ProduceSync(ctx, &kgo.Record{Topic: topic, Value: []byte("open")}).FirstErr(); err != nil {
						return "the other principal's transaction: " + errOf(err)
					}
				}
				req := kmsg.NewPtrDescribeTransactionsRequest()
				req.TransactionalIDs = []string{cmpTxnShared}
				return answer(ctx, p, req, func(r *kmsg.DescribeTransactionsResponse) []string {
					var out []string
					for _, s := range r.TransactionStates {
						var topics []string
						for _, x := range s.Topics {
							topics = append(topics, x.Topic)
						}
						slices.Sort(topics)
						out = append(out, fmt.Sprintf("%s=%s topics=%v", s.TransactionalID, errName(s.ErrorCode), topics))
					}
					return out
				})
			}},
	}
}

// A broker tells anyone with DescribeConfigs on the cluster its listeners
// and super users. Through the proxy they are answered as sensitive, and
// may not be changed: the proxy learns the brokers' addresses from their
// answers and logs in to them with its own credentials.
func TestBrokerListenersAndSuperUsersAreNeitherShownNorChangedThroughTheProxy(t *testing.T) {
	c := single
	// The authentication tests' policy: every principal is
	// CloudClusterAdmin.
	ap := startAuthProxy(t, c.Bootstrap, nil)
	sa := ap.addPrincipal(t, newAccountID(t))
	cl := loginClient(t, ap, sa.login())
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	node := c.NodeIDs[0]

	describe := kmsg.NewPtrDescribeConfigsRequest()
	dr := kmsg.NewDescribeConfigsRequestResource()
	dr.ResourceType, dr.ResourceName = kmsg.ConfigResourceTypeBroker, fmt.Sprint(node)
	describe.Resources, describe.IncludeSynonyms = append(describe.Resources, dr), true
	values := func(cl *kgo.Client) map[string]string {
		t.Helper()
		resp, err := brokerRequest(ctx, cl, node, describe)
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]string{}
		for _, x := range resp.(*kmsg.DescribeConfigsResponse).Resources[0].Configs {
			v := "<hidden>"
			if x.Value != nil {
				v = *x.Value
			}
			for _, syn := range x.ConfigSynonyms {
				if syn.Value != nil {
					v += " (synonym " + *syn.Value + ")"
				}
			}
			out[x.Name] = v
		}
		return out
	}
	direct, proxied := values(upstreamClient(t, c)), values(cl)
	for _, name := range []string{"listeners", "advertised.listeners", "controller.quorum.voters", "listener.security.protocol.map"} {
		if direct[name] == "" || direct[name] == "<hidden>" {
			t.Errorf("the broker itself shows no %s (%q): the test cannot tell", name, direct[name])
		}
		if proxied[name] != "<hidden>" {
			t.Errorf("through the proxy %s is %q, want no value", name, proxied[name])
		}
	}
	if proxied["log.retention.hours"] != direct["log.retention.hours"] {
		t.Errorf("log.retention.hours: %q through the proxy, %q at the broker", proxied["log.retention.hours"], direct["log.retention.hours"])
	}

	set := kmsg.NewPtrIncrementalAlterConfigsRequest()
	res := kmsg.NewIncrementalAlterConfigsRequestResource()
	res.ResourceType, res.ResourceName = kmsg.ConfigResourceTypeBroker, fmt.Sprint(node)
	cfg := kmsg.NewIncrementalAlterConfigsRequestResourceConfig()
	cfg.Name, cfg.Value = "advertised.listeners", kmsg.StringPtr("PLAINTEXT://attacker.example:9092")
	res.Configs = append(res.Configs, cfg)
	set.Resources = append(set.Resources, res)
	resp, err := brokerRequest(ctx, cl, node, set)
	if err != nil {
		t.Fatal(err)
	}
	if code := resp.(*kmsg.IncrementalAlterConfigsResponse).Resources[0].ErrorCode; code != kerr.PolicyViolation.Code {
		t.Errorf("changing advertised.listeners through the proxy: %s, want POLICY_VIOLATION", errName(code))
	}
	if after := values(upstreamClient(t, c))["advertised.listeners"]; after != direct["advertised.listeners"] {
		t.Errorf("advertised.listeners changed at the broker: %q, was %q", after, direct["advertised.listeners"])
	}
}
