//go:build integration

package integration

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
	"github.com/twmb/franz-go/pkg/sasl/plain"

	"github.com/kafka-auth-proxy/kafka-auth-proxy/config"
	"github.com/kafka-auth-proxy/kafka-auth-proxy/integration/clients"
	"github.com/kafka-auth-proxy/kafka-auth-proxy/integration/harness"
)

// The comparison: one Kafka broker runs its own authorizer
// (StandardAuthorizer), user alice has a set of ACLs there, and a proxy in
// front of the same broker (logged in upstream as a super user) gives a
// service account the same ACLs in its own policy. Each step of a table
// runs as alice straight against the broker and as the service account
// through the proxy, and both must report the same errors, item by item.
// The broker side also checks the table's expectation, so the table
// documents what Kafka itself answers.
//
// Resources of the scenario (the broker is the test's own, so the names
// are fixed):
const (
	cmpAllowed      = "ok-orders"        // Read and Write (prefix ok-)
	cmpBlocked      = "ok-blocked"       // Read (prefix ok-); Write DENIED by a literal ACL
	cmpVisible      = "visible"          // Describe (prefix visible), AlterConfigs
	cmpSecret       = "secret"           // no ACL
	cmpDeleteOK     = "ok-delete-me"     // Read and Write (prefix ok-) but not Delete
	cmpDeleteSecret = "secret-delete-me" // no ACL
	cmpGroupOK      = "grp-ok"           // Read
	cmpGroupDenied  = "grp-denied"       // no ACL
	cmpTxnOK        = "txn-ok"           // Write
	cmpTxnDenied    = "txn-denied"       // no ACL
	cmpUser         = "alice"
)

// aclRule is one ACL of the scenario, without its principal.
type aclRule struct {
	resource kmsg.ACLResourceType
	name     string
	pattern  kmsg.ACLResourcePatternType
	op       kmsg.ACLOperation
	perm     kmsg.ACLPermissionType
}

var comparisonACLs = []aclRule{
	{kmsg.ACLResourceTypeTopic, "ok-", kmsg.ACLResourcePatternTypePrefixed, kmsg.ACLOperationRead, kmsg.ACLPermissionTypeAllow},
	{kmsg.ACLResourceTypeTopic, "ok-", kmsg.ACLResourcePatternTypePrefixed, kmsg.ACLOperationWrite, kmsg.ACLPermissionTypeAllow},
	{kmsg.ACLResourceTypeTopic, cmpBlocked, kmsg.ACLResourcePatternTypeLiteral, kmsg.ACLOperationWrite, kmsg.ACLPermissionTypeDeny},
	{kmsg.ACLResourceTypeTopic, "visible", kmsg.ACLResourcePatternTypePrefixed, kmsg.ACLOperationDescribe, kmsg.ACLPermissionTypeAllow},
	{kmsg.ACLResourceTypeTopic, cmpVisible, kmsg.ACLResourcePatternTypeLiteral, kmsg.ACLOperationAlterConfigs, kmsg.ACLPermissionTypeAllow},
	{kmsg.ACLResourceTypeTopic, "new-", kmsg.ACLResourcePatternTypePrefixed, kmsg.ACLOperationCreate, kmsg.ACLPermissionTypeAllow},
	{kmsg.ACLResourceTypeGroup, cmpGroupOK, kmsg.ACLResourcePatternTypeLiteral, kmsg.ACLOperationRead, kmsg.ACLPermissionTypeAllow},
	{kmsg.ACLResourceTypeTransactionalId, cmpTxnOK, kmsg.ACLResourcePatternTypeLiteral, kmsg.ACLOperationWrite, kmsg.ACLPermissionTypeAllow},
}

func (r aclRule) creation(principal string) kmsg.CreateACLsRequestCreation {
	c := kmsg.NewCreateACLsRequestCreation()
	c.ResourceType, c.ResourceName, c.ResourcePatternType = r.resource, r.name, r.pattern
	c.Principal, c.Host, c.Operation, c.PermissionType = principal, "*", r.op, r.perm
	return c
}

// config is the rule as the proxy's configuration writes it.
func (r aclRule) config(principal string) config.ACL {
	lower := func(s fmt.Stringer) string { return strings.ToLower(s.String()) }
	op := map[kmsg.ACLOperation]string{
		kmsg.ACLOperationRead: "read", kmsg.ACLOperationWrite: "write", kmsg.ACLOperationCreate: "create",
		kmsg.ACLOperationDescribe: "describe", kmsg.ACLOperationAlterConfigs: "alter_configs",
		kmsg.ACLOperationIdempotentWrite: "idempotent_write",
	}[r.op]
	return config.ACL{
		Principal: principal, Host: "*", ResourceType: lower(r.resource), Name: r.name,
		Pattern: lower(r.pattern), Operation: op, Permission: lower(r.perm),
	}
}

// cmpPath is one way to the broker: alice directly, or the service account
// through the proxy.
type cmpPath struct {
	cl         *kgo.Client // the principal's client; it knows the brokers
	admin      *kgo.Client // the broker's super user, straight at it: another principal
	adminSeeds []string    // the broker's address for more such clients
	opts       []kgo.Opt   // seed brokers and login, for more clients
	node       int32
	ids        map[string][16]byte
	bootstrap  string            // for the Java client
	javaProps  map[string]string // login, for the Java client
}

// client is a new client of the path's principal, closed with the test.
func (p *cmpPath) client(t testing.TB, opts ...kgo.Opt) *kgo.Client {
	t.Helper()
	cl, err := kgo.NewClient(append(slices.Clone(p.opts), opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	return cl
}

// cmpStep is one step of the scenario with franz-go: run returns what the
// path answered, normalised (sorted "item=ERROR" pairs), or "error: ..."
// when the request itself failed.
type cmpStep struct {
	name string
	want string // what Kafka's own authorizer answers
	run  func(ctx context.Context, t *testing.T, p *cmpPath) string
}

// settle runs the step on p, and again (five more times at most, a second
// apart) while its answer differs from want: a broker under load may be
// between coordinators for a few seconds, and some answers of that moment,
// such as an empty transaction list, carry no error code to wait out.
func (s cmpStep) settle(ctx context.Context, t *testing.T, p *cmpPath, want string) string {
	got := s.run(ctx, t, p)
	for i := 0; i < 5 && got != want && ctx.Err() == nil; i++ {
		time.Sleep(time.Second)
		got = s.run(ctx, t, p)
	}
	return got
}

// answer calls req on p and formats the response with f (see ask).
func answer[R kmsg.Response](ctx context.Context, p *cmpPath, req kmsg.Request, f func(R) []string) string {
	return ask(ctx, p.cl, p.node, req, f)
}

func franzGoSteps() []cmpStep {
	steps := []cmpStep{
		{"produce to allowed, DENY-listed, describe-only and unlisted topics in one request",
			"ok-blocked/0=TOPIC_AUTHORIZATION_FAILED ok-orders/0=OK secret/0=TOPIC_AUTHORIZATION_FAILED visible/0=TOPIC_AUTHORIZATION_FAILED",
			func(ctx context.Context, t *testing.T, p *cmpPath) string {
				req := produceRequest(p.ids, tp{cmpAllowed, 0}, tp{cmpBlocked, 0}, tp{cmpVisible, 0}, tp{cmpSecret, 0})
				return answer(ctx, p, req, func(r *kmsg.ProduceResponse) []string { return produceCodes(r, p.ids) })
			}},
		{"fetch a readable, a describe-only and an unlisted topic",
			"ok-orders/0=OK secret/0=TOPIC_AUTHORIZATION_FAILED visible/0=TOPIC_AUTHORIZATION_FAILED",
			func(ctx context.Context, t *testing.T, p *cmpPath) string {
				req := fetchRequest(p.ids, tp{cmpAllowed, 0}, tp{cmpVisible, 0}, tp{cmpSecret, 0})
				return answer(ctx, p, req, func(r *kmsg.FetchResponse) []string { return fetchCodes(r, p.ids) })
			}},
		{"list offsets",
			"ok-orders/0=OK secret/0=TOPIC_AUTHORIZATION_FAILED visible/0=OK",
			func(ctx context.Context, t *testing.T, p *cmpPath) string {
				req := kmsg.NewPtrListOffsetsRequest()
				for _, topic := range []string{cmpAllowed, cmpVisible, cmpSecret} {
					rt := kmsg.NewListOffsetsRequestTopic()
					rt.Topic = topic
					rp := kmsg.NewListOffsetsRequestTopicPartition()
					rp.Partition, rp.Timestamp, rp.CurrentLeaderEpoch = 0, -1, -1
					rt.Partitions = append(rt.Partitions, rp)
					req.Topics = append(req.Topics, rt)
				}
				return answer(ctx, p, req, func(r *kmsg.ListOffsetsResponse) []string {
					return partitionCodes(r.Topics, p.ids)
				})
			}},
		{"metadata for all topics lists only the describable ones",
			"ok-blocked=OK ok-delete-me=OK ok-orders=OK visible=OK",
			func(ctx context.Context, t *testing.T, p *cmpPath) string {
				return answer(ctx, p, metadataRequest(false), metadataCodes)
			}},
		{"metadata for named topics, existing or not",
			"never-created=TOPIC_AUTHORIZATION_FAILED ok-orders=OK secret=TOPIC_AUTHORIZATION_FAILED",
			func(ctx context.Context, t *testing.T, p *cmpPath) string {
				return answer(ctx, p, metadataRequest(false, cmpSecret, cmpAllowed, "never-created"), metadataCodes)
			}},
		{"metadata auto-creating a describable topic without Create",
			"visible-auto=TOPIC_AUTHORIZATION_FAILED",
			func(ctx context.Context, t *testing.T, p *cmpPath) string {
				return answer(ctx, p, metadataRequest(true, "visible-auto"), metadataCodes)
			}},
		{"create topics, validate only",
			"new-topic=OK ok-new=TOPIC_AUTHORIZATION_FAILED",
			func(ctx context.Context, t *testing.T, p *cmpPath) string {
				req := kmsg.NewPtrCreateTopicsRequest()
				req.ValidateOnly, req.TimeoutMillis = true, 10000
				for _, topic := range []string{"new-topic", "ok-new"} {
					rt := kmsg.NewCreateTopicsRequestTopic()
					rt.Topic, rt.NumPartitions, rt.ReplicationFactor = topic, 1, 1
					req.Topics = append(req.Topics, rt)
				}
				return answer(ctx, p, req, func(r *kmsg.CreateTopicsResponse) []string {
					var out []string
					for _, rt := range r.Topics {
						out = append(out, rt.Topic+"="+errName(rt.ErrorCode))
					}
					slices.Sort(out)
					return out
				})
			}},
		{"create partitions, validate only",
			"secret=TOPIC_AUTHORIZATION_FAILED visible=TOPIC_AUTHORIZATION_FAILED",
			func(ctx context.Context, t *testing.T, p *cmpPath) string {
				req := kmsg.NewPtrCreatePartitionsRequest()
				req.ValidateOnly, req.TimeoutMillis = true, 10000
				for _, topic := range []string{cmpVisible, cmpSecret} {
					rt := kmsg.NewCreatePartitionsRequestTopic()
					rt.Topic, rt.Count = topic, 2
					req.Topics = append(req.Topics, rt)
				}
				return answer(ctx, p, req, func(r *kmsg.CreatePartitionsResponse) []string {
					var out []string
					for _, rt := range r.Topics {
						out = append(out, rt.Topic+"="+errName(rt.ErrorCode))
					}
					slices.Sort(out)
					return out
				})
			}},
		{"describe configs of topics and the broker",
			"broker:1=CLUSTER_AUTHORIZATION_FAILED topic:ok-orders=TOPIC_AUTHORIZATION_FAILED topic:secret=TOPIC_AUTHORIZATION_FAILED topic:visible=OK",
			func(ctx context.Context, t *testing.T, p *cmpPath) string {
				req := kmsg.NewPtrDescribeConfigsRequest()
				for _, r := range []struct {
					typ  kmsg.ConfigResourceType
					name string
				}{{kmsg.ConfigResourceTypeTopic, cmpVisible}, {kmsg.ConfigResourceTypeTopic, cmpAllowed}, {kmsg.ConfigResourceTypeTopic, cmpSecret}, {kmsg.ConfigResourceTypeBroker, fmt.Sprint(p.node)}} {
					rr := kmsg.NewDescribeConfigsRequestResource()
					rr.ResourceType, rr.ResourceName = r.typ, r.name
					req.Resources = append(req.Resources, rr)
				}
				return answer(ctx, p, req, func(r *kmsg.DescribeConfigsResponse) []string {
					var out []string
					for _, rr := range r.Resources {
						out = append(out, fmt.Sprintf("%s:%s=%s", strings.ToLower(rr.ResourceType.String()), rr.ResourceName, errName(rr.ErrorCode)))
					}
					slices.Sort(out)
					return out
				})
			}},
		{"incremental alter configs, validate only",
			"broker:1=CLUSTER_AUTHORIZATION_FAILED topic:ok-orders=TOPIC_AUTHORIZATION_FAILED topic:visible=OK",
			func(ctx context.Context, t *testing.T, p *cmpPath) string {
				req := kmsg.NewPtrIncrementalAlterConfigsRequest()
				req.ValidateOnly = true
				for _, r := range []struct {
					typ        kmsg.ConfigResourceType
					name, conf string
				}{{kmsg.ConfigResourceTypeTopic, cmpVisible, "retention.ms"}, {kmsg.ConfigResourceTypeTopic, cmpAllowed, "retention.ms"}, {kmsg.ConfigResourceTypeBroker, fmt.Sprint(p.node), "log.cleaner.threads"}} {
					rr := kmsg.NewIncrementalAlterConfigsRequestResource()
					rr.ResourceType, rr.ResourceName = r.typ, r.name
					c := kmsg.NewIncrementalAlterConfigsRequestResourceConfig()
					c.Name, c.Op, c.Value = r.conf, kmsg.IncrementalAlterConfigOpSet, kmsg.StringPtr("1")
					if r.typ == kmsg.ConfigResourceTypeTopic {
						c.Value = kmsg.StringPtr("3600000")
					}
					rr.Configs = append(rr.Configs, c)
					req.Resources = append(req.Resources, rr)
				}
				return answer(ctx, p, req, func(r *kmsg.IncrementalAlterConfigsResponse) []string {
					var out []string
					for _, rr := range r.Resources {
						out = append(out, fmt.Sprintf("%s:%s=%s", strings.ToLower(rr.ResourceType.String()), rr.ResourceName, errName(rr.ErrorCode)))
					}
					slices.Sort(out)
					return out
				})
			}},
		{"offset commit in the allowed group, to a readable and an unlisted topic",
			"ok-orders/0=OK secret/0=TOPIC_AUTHORIZATION_FAILED",
			func(ctx context.Context, t *testing.T, p *cmpPath) string {
				return answer(ctx, p, offsetCommitRequest(p.ids, cmpGroupOK, cmpAllowed, cmpSecret),
					func(r *kmsg.OffsetCommitResponse) []string { return offsetCommitCodes(r, p.ids) })
			}},
		{"offset commit in a denied group",
			"ok-orders/0=GROUP_AUTHORIZATION_FAILED",
			func(ctx context.Context, t *testing.T, p *cmpPath) string {
				return answer(ctx, p, offsetCommitRequest(p.ids, cmpGroupDenied, cmpAllowed),
					func(r *kmsg.OffsetCommitResponse) []string { return offsetCommitCodes(r, p.ids) })
			}},
		{"offset fetch in the allowed group",
			"group=OK ok-orders/0=OK secret/0=TOPIC_AUTHORIZATION_FAILED",
			func(ctx context.Context, t *testing.T, p *cmpPath) string {
				return offsetFetch(ctx, p, cmpGroupOK, cmpAllowed, cmpSecret)
			}},
		{"offset fetch in a denied group",
			"group=GROUP_AUTHORIZATION_FAILED",
			func(ctx context.Context, t *testing.T, p *cmpPath) string {
				return offsetFetch(ctx, p, cmpGroupDenied, cmpAllowed)
			}},
		{"find coordinator of groups and transactional ids",
			"group:grp-denied=GROUP_AUTHORIZATION_FAILED group:grp-ok=OK txn:txn-denied=TRANSACTIONAL_ID_AUTHORIZATION_FAILED txn:txn-ok=OK",
			func(ctx context.Context, t *testing.T, p *cmpPath) string {
				var out []string
				for _, k := range []struct {
					typ  int8
					kind string
					key  string
				}{{0, "group", cmpGroupOK}, {0, "group", cmpGroupDenied}, {1, "txn", cmpTxnOK}, {1, "txn", cmpTxnDenied}} {
					req := kmsg.NewPtrFindCoordinatorRequest()
					req.CoordinatorType, req.CoordinatorKey, req.CoordinatorKeys = k.typ, k.key, []string{k.key}
					out = append(out, k.kind+":"+k.key+"="+answer(ctx, p, req, func(r *kmsg.FindCoordinatorResponse) []string {
						if len(r.Coordinators) == 0 {
							return []string{errName(r.ErrorCode)}
						}
						return []string{errName(r.Coordinators[0].ErrorCode)}
					}))
				}
				slices.Sort(out)
				return strings.Join(out, " ")
			}},
		{"group membership requests in a denied group",
			"heartbeat=GROUP_AUTHORIZATION_FAILED join=GROUP_AUTHORIZATION_FAILED leave=GROUP_AUTHORIZATION_FAILED sync=GROUP_AUTHORIZATION_FAILED",
			func(ctx context.Context, t *testing.T, p *cmpPath) string {
				join := kmsg.NewPtrJoinGroupRequest()
				join.Group, join.SessionTimeoutMillis, join.RebalanceTimeoutMillis, join.ProtocolType = cmpGroupDenied, 10000, 10000, "consumer"
				meta := kmsg.NewConsumerMemberMetadata()
				meta.Topics = []string{cmpAllowed}
				proto := kmsg.NewJoinGroupRequestProtocol()
				proto.Name, proto.Metadata = "range", meta.AppendTo(nil)
				join.Protocols = append(join.Protocols, proto)
				syncReq := kmsg.NewPtrSyncGroupRequest()
				syncReq.Group, syncReq.Generation, syncReq.MemberID = cmpGroupDenied, 1, "member"
				// v5+ checks these before authorizing.
				syncReq.ProtocolType, syncReq.Protocol = kmsg.StringPtr("consumer"), kmsg.StringPtr("range")
				hb := kmsg.NewPtrHeartbeatRequest()
				hb.Group, hb.Generation, hb.MemberID = cmpGroupDenied, 1, "member"
				leave := kmsg.NewPtrLeaveGroupRequest()
				leave.Group, leave.MemberID = cmpGroupDenied, "member"
				m := kmsg.NewLeaveGroupRequestMember()
				m.MemberID = "member"
				leave.Members = append(leave.Members, m)
				return strings.Join([]string{
					"heartbeat=" + answer(ctx, p, hb, func(r *kmsg.HeartbeatResponse) []string { return []string{errName(r.ErrorCode)} }),
					"join=" + answer(ctx, p, join, func(r *kmsg.JoinGroupResponse) []string { return []string{errName(r.ErrorCode)} }),
					"leave=" + answer(ctx, p, leave, func(r *kmsg.LeaveGroupResponse) []string { return []string{errName(r.ErrorCode)} }),
					"sync=" + answer(ctx, p, syncReq, func(r *kmsg.SyncGroupResponse) []string { return []string{errName(r.ErrorCode)} }),
				}, " ")
			}},
		{"describe groups",
			"grp-denied=GROUP_AUTHORIZATION_FAILED grp-ok=OK",
			func(ctx context.Context, t *testing.T, p *cmpPath) string {
				req := kmsg.NewPtrDescribeGroupsRequest()
				req.Groups = []string{cmpGroupOK, cmpGroupDenied}
				return answer(ctx, p, req, func(r *kmsg.DescribeGroupsResponse) []string {
					var out []string
					for _, g := range r.Groups {
						out = append(out, g.Group+"="+errName(g.ErrorCode))
					}
					slices.Sort(out)
					return out
				})
			}},
		{"list groups shows only the describable ones",
			"OK [grp-ok]",
			func(ctx context.Context, t *testing.T, p *cmpPath) string {
				return answer(ctx, p, kmsg.NewPtrListGroupsRequest(), func(r *kmsg.ListGroupsResponse) []string {
					var names []string
					for _, g := range r.Groups {
						names = append(names, g.Group)
					}
					slices.Sort(names)
					return []string{errName(r.ErrorCode), "[" + strings.Join(names, ",") + "]"}
				})
			}},
		{"init producer id, idempotent and transactional",
			"idempotent=OK txn-denied=TRANSACTIONAL_ID_AUTHORIZATION_FAILED txn-ok=OK",
			func(ctx context.Context, t *testing.T, p *cmpPath) string {
				var out []string
				for _, id := range []string{"", cmpTxnOK, cmpTxnDenied} {
					req := kmsg.NewPtrInitProducerIDRequest()
					req.TransactionTimeoutMillis = 60000
					name := "idempotent"
					if id != "" {
						req.TransactionalID, name = kmsg.StringPtr(id), id
					}
					out = append(out, name+"="+answer(ctx, p, req, func(r *kmsg.InitProducerIDResponse) []string { return []string{errName(r.ErrorCode)} }))
				}
				slices.Sort(out)
				return strings.Join(out, " ")
			}},
		{"transaction requests with a denied transactional id",
			"add-offsets=TRANSACTIONAL_ID_AUTHORIZATION_FAILED end=TRANSACTIONAL_ID_AUTHORIZATION_FAILED txn-offset-commit=ok-orders/0=TRANSACTIONAL_ID_AUTHORIZATION_FAILED",
			func(ctx context.Context, t *testing.T, p *cmpPath) string {
				add := kmsg.NewPtrAddOffsetsToTxnRequest()
				add.TransactionalID, add.ProducerID, add.ProducerEpoch, add.Group = cmpTxnDenied, 0, 0, cmpGroupOK
				end := kmsg.NewPtrEndTxnRequest()
				end.TransactionalID, end.ProducerID, end.ProducerEpoch, end.Commit = cmpTxnDenied, 0, 0, false
				commit := kmsg.NewPtrTxnOffsetCommitRequest()
				commit.TransactionalID, commit.Group, commit.ProducerID, commit.ProducerEpoch = cmpTxnDenied, cmpGroupOK, 0, 0
				commit.Generation, commit.MemberID = -1, ""
				ct := kmsg.NewTxnOffsetCommitRequestTopic()
				ct.Topic, ct.TopicID = cmpAllowed, p.ids[cmpAllowed]
				cp := kmsg.NewTxnOffsetCommitRequestTopicPartition()
				cp.Partition, cp.Offset, cp.LeaderEpoch = 0, 1, -1
				ct.Partitions = append(ct.Partitions, cp)
				commit.Topics = append(commit.Topics, ct)
				return strings.Join([]string{
					"add-offsets=" + answer(ctx, p, add, func(r *kmsg.AddOffsetsToTxnResponse) []string { return []string{errName(r.ErrorCode)} }),
					"end=" + answer(ctx, p, end, func(r *kmsg.EndTxnResponse) []string { return []string{errName(r.ErrorCode)} }),
					"txn-offset-commit=" + answer(ctx, p, commit, func(r *kmsg.TxnOffsetCommitResponse) []string {
						return partitionCodes(r.Topics, p.ids)
					}),
				}, " ")
			}},
		{"franz-go transactional producers",
			"txn-denied=TRANSACTIONAL_ID_AUTHORIZATION_FAILED txn-ok=OK",
			func(ctx context.Context, t *testing.T, p *cmpPath) string {
				var out []string
				for _, id := range []string{cmpTxnOK, cmpTxnDenied} {
					cl := p.client(t, kgo.TransactionalID(id), kgo.DefaultProduceTopic(cmpAllowed), kgo.RetryTimeout(15*time.Second))
					err := cl.BeginTransaction()
					if err == nil {
						err = cl.ProduceSync(ctx, kgo.StringRecord("txn")).FirstErr()
					}
					if err == nil {
						err = cl.EndTransaction(ctx, kgo.TryCommit)
					}
					out = append(out, id+"="+errOf(err))
					cl.Close()
				}
				slices.Sort(out)
				return strings.Join(out, " ")
			}},
		{"describe and list transactions",
			"describe=txn-denied=TRANSACTIONAL_ID_AUTHORIZATION_FAILED,txn-ok=OK list=OK [txn-ok]",
			func(ctx context.Context, t *testing.T, p *cmpPath) string {
				describe := kmsg.NewPtrDescribeTransactionsRequest()
				describe.TransactionalIDs = []string{cmpTxnOK, cmpTxnDenied}
				return strings.Join([]string{
					"describe=" + answer(ctx, p, describe, func(r *kmsg.DescribeTransactionsResponse) []string {
						var out []string
						for _, s := range r.TransactionStates {
							out = append(out, s.TransactionalID+"="+errName(s.ErrorCode))
						}
						slices.Sort(out)
						return []string{strings.Join(out, ",")}
					}),
					"list=" + answer(ctx, p, kmsg.NewPtrListTransactionsRequest(), func(r *kmsg.ListTransactionsResponse) []string {
						var ids []string
						for _, s := range r.TransactionStates {
							ids = append(ids, s.TransactionalID)
						}
						slices.Sort(ids)
						return []string{errName(r.ErrorCode), "[" + strings.Join(ids, ",") + "]"}
					}),
				}, " ")
			}},
		{"describe producers",
			"ok-orders/0=OK secret/0=TOPIC_AUTHORIZATION_FAILED visible/0=TOPIC_AUTHORIZATION_FAILED",
			func(ctx context.Context, t *testing.T, p *cmpPath) string {
				req := kmsg.NewPtrDescribeProducersRequest()
				for _, topic := range []string{cmpAllowed, cmpVisible, cmpSecret} {
					rt := kmsg.NewDescribeProducersRequestTopic()
					rt.Topic, rt.Partitions = topic, []int32{0}
					req.Topics = append(req.Topics, rt)
				}
				return answer(ctx, p, req, func(r *kmsg.DescribeProducersResponse) []string {
					return partitionCodes(r.Topics, p.ids)
				})
			}},
		{"ACL APIs need Alter or Describe on the cluster",
			"create=CLUSTER_AUTHORIZATION_FAILED delete=CLUSTER_AUTHORIZATION_FAILED describe=CLUSTER_AUTHORIZATION_FAILED",
			func(ctx context.Context, t *testing.T, p *cmpPath) string {
				create := kmsg.NewPtrCreateACLsRequest()
				create.Creations = append(create.Creations, aclRule{kmsg.ACLResourceTypeTopic, cmpSecret, kmsg.ACLResourcePatternTypeLiteral,
					kmsg.ACLOperationAll, kmsg.ACLPermissionTypeAllow}.creation("User:"+cmpUser))
				del := kmsg.NewPtrDeleteACLsRequest()
				f := kmsg.NewDeleteACLsRequestFilter()
				f.ResourceType, f.ResourcePatternType = kmsg.ACLResourceTypeAny, kmsg.ACLResourcePatternTypeAny
				f.Operation, f.PermissionType = kmsg.ACLOperationAny, kmsg.ACLPermissionTypeAny
				del.Filters = append(del.Filters, f)
				describe := kmsg.NewPtrDescribeACLsRequest()
				describe.ResourceType, describe.ResourcePatternType = kmsg.ACLResourceTypeAny, kmsg.ACLResourcePatternTypeAny
				describe.Operation, describe.PermissionType = kmsg.ACLOperationAny, kmsg.ACLPermissionTypeAny
				return strings.Join([]string{
					"create=" + answer(ctx, p, create, func(r *kmsg.CreateACLsResponse) []string {
						var out []string
						for _, x := range r.Results {
							out = append(out, errName(x.ErrorCode))
						}
						return out
					}),
					"delete=" + answer(ctx, p, del, func(r *kmsg.DeleteACLsResponse) []string {
						var out []string
						for _, x := range r.Results {
							out = append(out, errName(x.ErrorCode))
						}
						return out
					}),
					"describe=" + answer(ctx, p, describe, func(r *kmsg.DescribeACLsResponse) []string { return []string{errName(r.ErrorCode)} }),
				}, " ")
			}},
		{"elect leaders needs Alter on the cluster",
			"CLUSTER_AUTHORIZATION_FAILED",
			func(ctx context.Context, t *testing.T, p *cmpPath) string {
				req := kmsg.NewPtrElectLeadersRequest()
				req.TimeoutMillis = 10000
				rt := kmsg.NewElectLeadersRequestTopic()
				rt.Topic, rt.Partitions = cmpAllowed, []int32{0}
				req.Topics = append(req.Topics, rt)
				return answer(ctx, p, req, func(r *kmsg.ElectLeadersResponse) []string { return []string{errName(r.ErrorCode)} })
			}},
		{"describe cluster reports the principal's own cluster operations",
			"OK ops=[]",
			func(ctx context.Context, t *testing.T, p *cmpPath) string {
				req := kmsg.NewPtrDescribeClusterRequest()
				req.IncludeClusterAuthorizedOperations = true
				return answer(ctx, p, req, func(r *kmsg.DescribeClusterResponse) []string {
					return []string{errName(r.ErrorCode), "ops=" + fmt.Sprint(authorizedOps(r.ClusterAuthorizedOperations))}
				})
			}},
		{"authorized operations of topics and groups are the principal's own",
			"group:grp-ok=OK[READ DESCRIBE] topic:ok-orders=[READ WRITE DESCRIBE] topic:visible=[DESCRIBE DESCRIBE_CONFIGS ALTER_CONFIGS]",
			func(ctx context.Context, t *testing.T, p *cmpPath) string {
				md := metadataRequest(false, cmpAllowed, cmpVisible)
				md.IncludeTopicAuthorizedOperations = true
				groups := kmsg.NewPtrDescribeGroupsRequest()
				groups.Groups, groups.IncludeAuthorizedOperations = []string{cmpGroupOK}, true
				out := []string{
					answer(ctx, p, md, func(r *kmsg.MetadataResponse) []string {
						var out []string
						for _, rt := range r.Topics {
							name := fmt.Sprintf("id:%x", rt.TopicID)
							if rt.Topic != nil {
								name = *rt.Topic
							}
							out = append(out, fmt.Sprintf("topic:%s=%v", name, authorizedOps(rt.AuthorizedOperations)))
						}
						slices.Sort(out)
						return out
					}),
					answer(ctx, p, groups, func(r *kmsg.DescribeGroupsResponse) []string {
						var out []string
						for _, g := range r.Groups {
							out = append(out, fmt.Sprintf("group:%s=%s%v", g.Group, errName(g.ErrorCode), authorizedOps(g.AuthorizedOperations)))
						}
						return out
					}),
				}
				slices.Sort(out)
				return strings.Join(out, " ")
			}},
		{"franz-go producer",
			"ok-blocked=TOPIC_AUTHORIZATION_FAILED ok-orders=OK secret=TOPIC_AUTHORIZATION_FAILED",
			func(ctx context.Context, t *testing.T, p *cmpPath) string {
				cl := p.client(t, kgo.RetryTimeout(10*time.Second))
				var out []string
				for _, topic := range []string{cmpAllowed, cmpBlocked, cmpSecret} {
					out = append(out, topic+"="+errOf(cl.ProduceSync(ctx, &kgo.Record{Topic: topic, Value: []byte("franz-go")}).FirstErr()))
				}
				slices.Sort(out)
				return strings.Join(out, " ")
			}},
		{"franz-go consumers",
			"group grp-denied=GROUP_AUTHORIZATION_FAILED group grp-ok=OK no group, secret=TOPIC_AUTHORIZATION_FAILED no group, visible=TOPIC_AUTHORIZATION_FAILED",
			func(ctx context.Context, t *testing.T, p *cmpPath) string {
				// A new record for the group to read: the other path's
				// consumer committed the group to the end of the log.
				if err := p.client(t).ProduceSync(ctx, &kgo.Record{Topic: cmpAllowed, Value: []byte("for the group")}).FirstErr(); err != nil {
					return "produce for the consumer: " + errOf(err)
				}
				var out []string
				for _, c := range []struct {
					name  string
					topic string
					group string
				}{{"group grp-ok", cmpAllowed, cmpGroupOK}, {"group grp-denied", cmpAllowed, cmpGroupDenied}, {"no group, secret", cmpSecret, ""}, {"no group, visible", cmpVisible, ""}} {
					opts := []kgo.Opt{kgo.ConsumeTopics(c.topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart())}
					if c.group != "" {
						opts = append(opts, kgo.ConsumerGroup(c.group), kgo.DisableAutoCommit())
					}
					out = append(out, c.name+"="+errOf(consumeOne(ctx, p.client(t, opts...), c.group != "")))
				}
				slices.Sort(out)
				return strings.Join(out, " ")
			}},
	}
	steps = append(steps, principalSteps()...)
	// The steps that would change the cluster if the proxy let them
	// through come last.
	return append(steps, []cmpStep{
		{"delete groups and group offsets",
			"groups=grp-denied=GROUP_AUTHORIZATION_FAILED,grp-ok=GROUP_AUTHORIZATION_FAILED offsets=GROUP_AUTHORIZATION_FAILED",
			func(ctx context.Context, t *testing.T, p *cmpPath) string {
				groups := kmsg.NewPtrDeleteGroupsRequest()
				groups.Groups = []string{cmpGroupOK, cmpGroupDenied}
				offsets := kmsg.NewPtrOffsetDeleteRequest()
				offsets.Group = cmpGroupOK
				ot := kmsg.NewOffsetDeleteRequestTopic()
				ot.Topic = cmpAllowed
				op := kmsg.NewOffsetDeleteRequestTopicPartition()
				op.Partition = 0
				ot.Partitions = append(ot.Partitions, op)
				offsets.Topics = append(offsets.Topics, ot)
				return strings.Join([]string{
					"groups=" + answer(ctx, p, groups, func(r *kmsg.DeleteGroupsResponse) []string {
						var out []string
						for _, g := range r.Groups {
							out = append(out, g.Group+"="+errName(g.ErrorCode))
						}
						slices.Sort(out)
						return []string{strings.Join(out, ",")}
					}),
					"offsets=" + answer(ctx, p, offsets, func(r *kmsg.OffsetDeleteResponse) []string { return []string{errName(r.ErrorCode)} }),
				}, " ")
			}},
		{"delete records",
			"ok-orders/0=TOPIC_AUTHORIZATION_FAILED secret/0=TOPIC_AUTHORIZATION_FAILED",
			func(ctx context.Context, t *testing.T, p *cmpPath) string {
				req := kmsg.NewPtrDeleteRecordsRequest()
				req.TimeoutMillis = 10000
				for _, topic := range []string{cmpAllowed, cmpSecret} {
					rt := kmsg.NewDeleteRecordsRequestTopic()
					rt.Topic = topic
					rp := kmsg.NewDeleteRecordsRequestTopicPartition()
					rp.Partition, rp.Offset = 0, 0
					rt.Partitions = append(rt.Partitions, rp)
					req.Topics = append(req.Topics, rt)
				}
				return answer(ctx, p, req, func(r *kmsg.DeleteRecordsResponse) []string {
					return partitionCodes(r.Topics, p.ids)
				})
			}},
		{"delete topics",
			"ok-delete-me=TOPIC_AUTHORIZATION_FAILED secret-delete-me=TOPIC_AUTHORIZATION_FAILED",
			func(ctx context.Context, t *testing.T, p *cmpPath) string {
				req := kmsg.NewPtrDeleteTopicsRequest()
				req.TimeoutMillis = 10000
				for _, topic := range []string{cmpDeleteOK, cmpDeleteSecret} {
					req.TopicNames = append(req.TopicNames, topic) // v0-v5
					rt := kmsg.NewDeleteTopicsRequestTopic()
					rt.Topic = kmsg.StringPtr(topic) // v6+
					req.Topics = append(req.Topics, rt)
				}
				return answer(ctx, p, req, func(r *kmsg.DeleteTopicsResponse) []string {
					var out []string
					for _, rt := range r.Topics {
						name := ""
						if rt.Topic != nil {
							name = *rt.Topic
						}
						out = append(out, topicByNameOrID(name, rt.TopicID, p.ids)+"="+errName(rt.ErrorCode))
					}
					slices.Sort(out)
					return out
				})
			}},
	}...)
}

// offsetFetch fetches the committed offset of partition 0 of each topic
// for group (one group per request, in the form of any version) and names
// the group's error and each partition's.
func offsetFetch(ctx context.Context, p *cmpPath, group string, topics ...string) string {
	req := kmsg.NewPtrOffsetFetchRequest()
	req.Group = group // v0-v7
	g := kmsg.NewOffsetFetchRequestGroup()
	g.Group = group // v8+
	for _, topic := range topics {
		rt := kmsg.NewOffsetFetchRequestTopic()
		rt.Topic, rt.Partitions = topic, []int32{0}
		req.Topics = append(req.Topics, rt)
		gt := kmsg.NewOffsetFetchRequestGroupTopic()
		gt.Topic, gt.TopicID, gt.Partitions = topic, p.ids[topic], []int32{0}
		g.Topics = append(g.Topics, gt)
	}
	req.Groups = append(req.Groups, g)
	return answer(ctx, p, req, func(r *kmsg.OffsetFetchResponse) []string {
		var out []string
		if r.Version < 8 {
			out = append(out, "group="+errName(r.ErrorCode))
			out = append(out, partitionCodes(r.Topics, p.ids)...)
		}
		for _, rg := range r.Groups {
			out = append(out, "group="+errName(rg.ErrorCode))
			out = append(out, partitionCodes(rg.Topics, p.ids)...)
		}
		slices.Sort(out)
		return out
	})
}

// consumeOne polls cl until a record or an error arrives (15s at most);
// in a group it then commits.
func consumeOne(ctx context.Context, cl *kgo.Client, group bool) error {
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	defer cl.Close()
	for {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			return errors.New("nothing consumed and no error within 15s")
		}
		if errs := fs.Errors(); len(errs) > 0 {
			return errs[0].Err
		}
		if fs.NumRecords() > 0 {
			if group {
				return cl.CommitUncommittedOffsets(ctx)
			}
			return nil
		}
	}
}

// authorizedOps names the ACL operations in a Kafka authorized-operations
// bit field.
func authorizedOps(bits int32) []string {
	if bits == -2147483648 { // not requested, or not filled in
		return []string{"<omitted>"}
	}
	out := []string{}
	for op := kmsg.ACLOperation(0); op < 32; op++ {
		if bits&(1<<op) != 0 {
			out = append(out, op.String())
		}
	}
	return out
}

// javaSteps are the AuthzProbe steps of the scenario with the Java
// clients, and what the Java clients report against Kafka's authorizer.
var javaSteps = []struct{ step, want string }{
	{"produce:" + cmpAllowed, "OK"},
	{"produce:" + cmpBlocked, "TopicAuthorizationException"},
	{"produce:" + cmpSecret, "TopicAuthorizationException"},
	{"fetch:" + cmpVisible, "TopicAuthorizationException"},
	{"fetch:" + cmpSecret, "TopicAuthorizationException"},
	{"consume:" + cmpAllowed + ":" + cmpGroupOK, "OK"},
	{"consume:" + cmpAllowed + ":" + cmpGroupDenied, "GroupAuthorizationException"},
	{"consume:" + cmpSecret + ":" + cmpGroupOK, "TopicAuthorizationException"},
	{"txn:" + cmpTxnOK + ":" + cmpAllowed, "OK"},
	{"txn:" + cmpTxnDenied + ":" + cmpAllowed, "TransactionalIdAuthorizationException"},
	{"describe-topic:" + cmpVisible, "OK"},
	{"describe-topic:" + cmpSecret, "TopicAuthorizationException"},
	{"list-topics", "OK [ok-blocked,ok-delete-me,ok-orders,visible]"},
	{"list-offsets:" + cmpSecret, "TopicAuthorizationException"},
	{"create-topic:new-java", "OK"},
	{"create-topic:ok-java", "TopicAuthorizationException"},
	{"create-partitions:" + cmpSecret, "TopicAuthorizationException"},
	{"alter-config:" + cmpVisible, "OK"},
	{"alter-config:" + cmpAllowed, "TopicAuthorizationException"},
	{"describe-configs:" + cmpVisible, "OK"},
	{"describe-configs:" + cmpSecret, "TopicAuthorizationException"},
	{"describe-broker-configs:1", "ClusterAuthorizationException"},
	// grp-shared and txn-shared are left by the franz-go steps on what a
	// broker decides by principal, which run first: alice may Describe
	// both.
	{"list-groups", "OK [grp-ok,grp-shared]"},
	{"describe-group:" + cmpGroupOK, "OK"},
	{"describe-group:" + cmpGroupDenied, "GroupAuthorizationException"},
	{"group-offsets:" + cmpGroupOK, "OK"},
	{"group-offsets:" + cmpGroupDenied, "GroupAuthorizationException"},
	{"describe-producers:" + cmpSecret, "TopicAuthorizationException"},
	{"describe-txn:" + cmpTxnOK, "OK"},
	{"describe-txn:" + cmpTxnDenied, "TransactionalIdAuthorizationException"},
	{"list-txns", "OK [txn-ok,txn-shared]"},
	{"describe-acls", "ClusterAuthorizationException"},
	{"create-acl", "ClusterAuthorizationException"},
	{"describe-cluster", "OK"},
	// Last: these change the cluster if let through.
	{"delete-group:" + cmpGroupOK, "GroupAuthorizationException"},
	{"delete-records:" + cmpAllowed, "TopicAuthorizationException"},
	{"delete-topic:" + cmpDeleteOK, "TopicAuthorizationException"},
	{"delete-topic:" + cmpDeleteSecret, "TopicAuthorizationException"},
}

// runJavaProbe runs AuthzProbe with every Java step on path p and returns
// each step's result.
func runJavaProbe(p *cmpPath) (map[string]string, string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	args := []string{"--bootstrap", p.bootstrap}
	for _, s := range javaSteps {
		args = append(args, "--step", s.step)
	}
	out, err := harness.RunJavaClient(ctx, "io.kafkaauthproxy.it.AuthzProbe", args, p.javaProps)
	results := map[string]string{}
	for _, line := range strings.Split(out, "\n") {
		if rest, ok := strings.CutPrefix(line, "STEP "); ok {
			step, result, _ := strings.Cut(rest, " ")
			results[step] = result
		}
	}
	return results, out, err
}

// startComparisonBroker starts a broker with Kafka's authorizer and users
// alice (ACLs comparisonACLs) and harness (super user), creates the
// scenario's topics, groups and transaction coordinator, and returns
// alice's path to it.
func startComparisonBroker(t *testing.T) (*harness.Cluster, *cmpPath) {
	t.Helper()
	alicePassword := "alice-" + runTag()
	c := harness.StartT(t, harness.Options{Brokers: 1, SASL: true, Authorizer: true,
		Users: map[string]string{cmpUser: alicePassword}})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	admin := upstreamClient(t, c) // PLAINTEXT: User:ANONYMOUS, a super user
	ids := createTopics(t, admin, 1, cmpAllowed, cmpBlocked, cmpVisible, cmpSecret, cmpDeleteOK, cmpDeleteSecret)
	for _, topic := range []string{cmpAllowed, cmpBlocked, cmpVisible, cmpSecret} {
		produceTo(t, admin, topic, "setup")
	}
	commitGroup(t, admin, cmpGroupOK, cmpAllowed, 1)
	commitGroup(t, admin, cmpGroupDenied, cmpAllowed, 1)
	// The transaction coordinator's topic, so that the first
	// FindCoordinator of a step does not race its creation.
	for {
		req := kmsg.NewPtrFindCoordinatorRequest()
		req.CoordinatorType, req.CoordinatorKey, req.CoordinatorKeys = 1, "warm-up", []string{"warm-up"}
		resp, err := req.RequestWith(ctx, admin)
		if err == nil && len(resp.Coordinators) == 1 && resp.Coordinators[0].ErrorCode == 0 {
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("no transaction coordinator: %v", err)
		}
		time.Sleep(200 * time.Millisecond)
	}

	create := kmsg.NewPtrCreateACLsRequest()
	for _, r := range append(comparisonACLs, principalACLs...) {
		create.Creations = append(create.Creations, r.creation("User:"+cmpUser))
	}
	resp, err := create.RequestWith(ctx, admin)
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range resp.Results {
		if r.ErrorCode != 0 {
			t.Fatalf("create ACL %+v on the broker: %s", append(comparisonACLs, principalACLs...)[i], errName(r.ErrorCode))
		}
	}

	login := []kgo.Opt{kgo.SeedBrokers(c.SASLBootstrap...), kgo.SASL(plain.Auth{User: cmpUser, Pass: alicePassword}.AsMechanism())}
	cl, err := kgo.NewClient(append(slices.Clone(login), kgo.RetryTimeout(10*time.Second))...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	discoverBrokers(t, cl)
	// The broker applies ACLs from its metadata log, a moment after
	// CreateAcls returns.
	want := []string{cmpBlocked + "=OK", cmpDeleteOK + "=OK", cmpAllowed + "=OK", cmpVisible + "=OK"}
	for {
		md, err := brokerRequest(ctx, cl, c.NodeIDs[0], metadataRequest(false))
		if err == nil && slices.Equal(metadataCodes(md.(*kmsg.MetadataResponse)), want) {
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("alice never saw the topics her ACLs allow: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	return c, &cmpPath{
		cl: cl, admin: admin, adminSeeds: c.Bootstrap, opts: login, node: c.NodeIDs[0], ids: ids,
		bootstrap: c.SASLBootstrap[0], javaProps: clients.JavaPlainProps(cmpUser, alicePassword),
	}
}

// The same clients get the same answers, step by step, from a broker
// enforcing ACLs with its own authorizer and from the proxy enforcing the
// same ACLs in front of that broker. Run only the broker side with
// -run 'TestProxyAuthorizationMatchesTheBrokersAuthorizer/.*/.*/broker$'.
func TestProxyAuthorizationMatchesTheBrokersAuthorizer(t *testing.T) {
	c, direct := startComparisonBroker(t)

	account := newAccountID(t)
	ap := startAuthProxy(t, c.SASLBootstrap, func(cfg *config.Config) {
		cfg.Upstream.SASL = &config.SASL{Mechanism: config.MechanismPlain, Username: c.SASLUser, Password: c.SASLPassword}
		var acls []config.ACL
		for _, r := range append(comparisonACLs, principalACLs...) {
			acls = append(acls, r.config("User:"+account))
		}
		cfg.Authorization = config.Authorization{ACLs: acls}
	})
	sa := ap.addPrincipal(t, account)
	proxied := &cmpPath{
		cl: loginClient(t, ap, sa.login()), admin: direct.admin, adminSeeds: direct.adminSeeds,
		opts: []kgo.Opt{kgo.SeedBrokers(ap.srv.BootstrapAddr()), sa.login()},
		node: c.NodeIDs[0], ids: direct.ids,
		bootstrap: ap.srv.BootstrapAddr(), javaProps: clients.JavaPlainProps(sa.key, sa.secret),
	}

	t.Run("franz-go", func(t *testing.T) {
		for _, s := range franzGoSteps() {
			t.Run(s.name, func(t *testing.T) {
				fromBroker := s.want
				t.Run("broker", func(t *testing.T) {
					ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
					defer cancel()
					fromBroker = s.settle(ctx, t, direct, s.want)
					if fromBroker != s.want {
						t.Errorf("the broker's own authorizer answers alice\n  %s\nthe table expects\n  %s", fromBroker, s.want)
					}
				})
				t.Run("proxy", func(t *testing.T) {
					ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
					defer cancel()
					if got := s.settle(ctx, t, proxied, fromBroker); got != fromBroker {
						t.Errorf("through the proxy\n  %s\nthe broker enforcing the same ACLs\n  %s", got, fromBroker)
					}
				})
			})
		}
	})

	t.Run("java", func(t *testing.T) {
		type run struct {
			results map[string]string
			out     string
			err     error
		}
		var once [2]sync.Once
		var runs [2]run
		probe := func(t *testing.T, i int, p *cmpPath) map[string]string {
			once[i].Do(func() { runs[i].results, runs[i].out, runs[i].err = runJavaProbe(p) })
			if runs[i].err != nil {
				t.Fatalf("java probe: %v", runs[i].err)
			}
			return runs[i].results
		}
		for _, s := range javaSteps {
			t.Run(s.step, func(t *testing.T) {
				fromBroker := s.want
				t.Run("broker", func(t *testing.T) {
					fromBroker = probe(t, 0, direct)[s.step]
					if fromBroker != s.want {
						t.Errorf("the Java client against the broker's own authorizer: %q, the table expects %q\n%s", fromBroker, s.want, detail(runs[0].out, s.step))
					}
				})
				t.Run("proxy", func(t *testing.T) {
					if got := probe(t, 1, proxied)[s.step]; got != fromBroker {
						t.Errorf("the Java client through the proxy: %q, against the broker enforcing the same ACLs: %q\n%s", got, fromBroker, detail(runs[1].out, s.step))
					}
				})
			})
		}
	})
}

// detail is the DETAIL line of step in AuthzProbe's output, if any.
func detail(out, step string) string {
	for _, line := range strings.Split(out, "\n") {
		if strings.HasPrefix(line, "DETAIL "+step+" ") {
			return line
		}
	}
	return ""
}
