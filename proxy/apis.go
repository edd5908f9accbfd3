package proxy

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/kafka-auth-proxy/kafka-auth-proxy/authz/enforce"
)

// apiRow is everything the proxy knows about one Kafka API a client may
// use. The registry below has one row per API; an API without a row (an
// inter-broker or controller API, delegation tokens, SCRAM credentials,
// which include the proxy's own upstream identity, share and streams
// groups, a vendor key) is left out of ApiVersions and refused if sent:
// the proxy fails closed.
type apiRow struct {
	// req is an empty request of the API: its key, and the versions kmsg
	// decodes.
	req kmsg.Request
	// reviewed is the newest version whose fields the rule, the local
	// handler, the rewrite and the walk of this row were checked against,
	// in kmsg and in Kafka's schema and KafkaApis. The proxy never
	// advertises or accepts a newer version, and a test fails when kmsg
	// learns one, so that a dependency upgrade cannot widen what is
	// accepted without a review.
	reviewed int16
	// rule authorizes a request of an authenticated client, and says how
	// a denial is reported (package enforce).
	rule enforce.Rule
	// preAuth APIs may be sent before SASL authentication completes and
	// after a session expires; they have no principal to authorize. Any
	// other request then closes the connection.
	preAuth bool
	// local answers the request in the proxy, once it is authorized;
	// nothing about it is forwarded, and ApiVersions advertises the
	// proxy's own version range for it.
	local localHandler
	// Responses of version rewriteFrom and later may name brokers. They
	// are either buffered and edited by rewrite (rewrite.go), or relayed
	// by walk while they stream, which rewrites the brokers they name on
	// the way (relay.go).
	rewrite     rewriteFunc
	walk        walkFunc
	rewriteFrom int16
}

// registry lists every API a Kafka client may send through the proxy. It is
// a function, not a table built at package initialization, because the
// local handlers lead back to the request path that reads it.
func registry() []apiRow {
	return []apiRow{
		{req: new(kmsg.ProduceRequest), reviewed: 13, rule: enforce.Produce, rewrite: rewriteProduce, rewriteFrom: 10},
		{req: new(kmsg.FetchRequest), reviewed: 18, rule: enforce.Fetch, walk: (*clientConn).relayFetch, rewrite: rewriteFetch, rewriteFrom: 16},
		{req: new(kmsg.ListOffsetsRequest), reviewed: 11, rule: enforce.ListOffsets},
		{req: new(kmsg.MetadataRequest), reviewed: 13, rule: enforce.Metadata, rewrite: rewriteMetadata},
		{req: new(kmsg.OffsetCommitRequest), reviewed: 10, rule: enforce.OffsetCommit},
		{req: new(kmsg.OffsetFetchRequest), reviewed: 10, rule: enforce.OffsetFetch},
		{req: new(kmsg.FindCoordinatorRequest), reviewed: 6, rule: enforce.FindCoordinator, rewrite: rewriteFindCoordinator},
		{req: new(kmsg.JoinGroupRequest), reviewed: 9, rule: enforce.JoinGroup},
		{req: new(kmsg.HeartbeatRequest), reviewed: 4, rule: enforce.Heartbeat},
		{req: new(kmsg.LeaveGroupRequest), reviewed: 5, rule: enforce.LeaveGroup},
		{req: new(kmsg.SyncGroupRequest), reviewed: 5, rule: enforce.SyncGroup},
		{req: new(kmsg.DescribeGroupsRequest), reviewed: 6, rule: enforce.DescribeGroups},
		{req: new(kmsg.ListGroupsRequest), reviewed: 5, rule: enforce.ListGroups},
		{req: new(kmsg.SASLHandshakeRequest), reviewed: 1, rule: enforce.None, preAuth: true, local: handleSASLHandshake},
		{req: new(kmsg.ApiVersionsRequest), reviewed: 5, rule: enforce.None, preAuth: true, local: handleApiVersions},
		{req: new(kmsg.CreateTopicsRequest), reviewed: 7, rule: enforce.CreateTopics},
		{req: new(kmsg.DeleteTopicsRequest), reviewed: 6, rule: enforce.DeleteTopics},
		{req: new(kmsg.DeleteRecordsRequest), reviewed: 2, rule: enforce.DeleteRecords},
		{req: new(kmsg.InitProducerIDRequest), reviewed: 5, rule: enforce.InitProducerID},
		{req: new(kmsg.OffsetForLeaderEpochRequest), reviewed: 4, rule: enforce.OffsetForLeaderEpoch},
		{req: new(kmsg.AddPartitionsToTxnRequest), reviewed: 5, rule: enforce.AddPartitionsToTxn},
		{req: new(kmsg.AddOffsetsToTxnRequest), reviewed: 4, rule: enforce.AddOffsetsToTxn},
		{req: new(kmsg.EndTxnRequest), reviewed: 5, rule: enforce.EndTxn},
		{req: new(kmsg.TxnOffsetCommitRequest), reviewed: 6, rule: enforce.TxnOffsetCommit},
		{req: new(kmsg.DescribeACLsRequest), reviewed: 3, rule: enforce.DescribeACLs, local: handleDescribeACLs},
		{req: new(kmsg.CreateACLsRequest), reviewed: 3, rule: enforce.CreateACLs, local: handleCreateACLs},
		{req: new(kmsg.DeleteACLsRequest), reviewed: 3, rule: enforce.DeleteACLs, local: handleDeleteACLs},
		{req: new(kmsg.DescribeConfigsRequest), reviewed: 4, rule: enforce.DescribeConfigs},
		{req: new(kmsg.AlterConfigsRequest), reviewed: 2, rule: enforce.AlterConfigs},
		{req: new(kmsg.AlterReplicaLogDirsRequest), reviewed: 2, rule: enforce.AlterReplicaLogDirs},
		{req: new(kmsg.DescribeLogDirsRequest), reviewed: 5, rule: enforce.DescribeLogDirs},
		{req: new(kmsg.SASLAuthenticateRequest), reviewed: 2, rule: enforce.None, preAuth: true, local: handleSASLAuthenticate},
		{req: new(kmsg.CreatePartitionsRequest), reviewed: 3, rule: enforce.CreatePartitions},
		{req: new(kmsg.DeleteGroupsRequest), reviewed: 3, rule: enforce.DeleteGroups},
		{req: new(kmsg.ElectLeadersRequest), reviewed: 2, rule: enforce.ElectLeaders},
		{req: new(kmsg.IncrementalAlterConfigsRequest), reviewed: 1, rule: enforce.IncrementalAlterConfigs},
		{req: new(kmsg.AlterPartitionAssignmentsRequest), reviewed: 1, rule: enforce.AlterPartitionAssignments},
		{req: new(kmsg.ListPartitionReassignmentsRequest), reviewed: 0, rule: enforce.ListPartitionReassignments},
		{req: new(kmsg.OffsetDeleteRequest), reviewed: 0, rule: enforce.OffsetDelete},
		{req: new(kmsg.DescribeClientQuotasRequest), reviewed: 1, rule: enforce.DescribeClientQuotas},
		{req: new(kmsg.AlterClientQuotasRequest), reviewed: 1, rule: enforce.AlterClientQuotas},
		{req: new(kmsg.DescribeQuorumRequest), reviewed: 2, rule: enforce.DescribeQuorum, rewrite: rewriteDescribeQuorum},
		{req: new(kmsg.UpdateFeaturesRequest), reviewed: 2, rule: enforce.UpdateFeatures},
		{req: new(kmsg.DescribeClusterRequest), reviewed: 2, rule: enforce.DescribeCluster, rewrite: rewriteDescribeCluster},
		{req: new(kmsg.DescribeProducersRequest), reviewed: 0, rule: enforce.DescribeProducers},
		{req: new(kmsg.DescribeTransactionsRequest), reviewed: 0, rule: enforce.DescribeTransactions},
		{req: new(kmsg.ListTransactionsRequest), reviewed: 2, rule: enforce.ListTransactions},
		{req: new(kmsg.ConsumerGroupHeartbeatRequest), reviewed: 1, rule: enforce.ConsumerGroupHeartbeat},
		{req: new(kmsg.ConsumerGroupDescribeRequest), reviewed: 1, rule: enforce.ConsumerGroupDescribe},
		{req: new(kmsg.GetTelemetrySubscriptionsRequest), reviewed: 0, rule: enforce.None},
		{req: new(kmsg.PushTelemetryRequest), reviewed: 0, rule: enforce.None},
		{req: new(kmsg.ListConfigResourcesRequest), reviewed: 1, rule: enforce.ListConfigResources},
		{req: new(kmsg.DescribeTopicPartitionsRequest), reviewed: 0, rule: enforce.DescribeTopicPartitions},
	}
}

// apiSpec is one registry row as the request path uses it: the row, and
// what is derived from it once.
type apiSpec struct {
	apiRow
	key  int16
	name string
	// flexibleFrom is the first version using flexible (tagged) encoding;
	// reviewed+1 when no version does.
	flexibleFrom int16

	// The API's series, resolved once so that counting costs no label
	// lookup; set by instrument.
	requests prometheus.Counter
	latency  prometheus.Observer
}

// walkFunc relays one response while it streams; hdr holds its size and
// correlation id, already read.
type walkFunc func(c *clientConn, p pending, hdr [8]byte, size int) error

// namesBrokers reports whether a response of this version may name
// brokers.
func (a *apiSpec) namesBrokers(version int16) bool {
	return (a.rewrite != nil || a.walk != nil) && version >= a.rewriteFrom
}

func (a *apiSpec) flexible(version int16) bool { return version >= a.flexibleFrom }

func (a *apiSpec) newRequest() kmsg.Request { return kmsg.RequestForKey(a.key) }

// apiTable is the registry indexed by API key; nil means unsupported.
type apiTable struct {
	byKey [kmsg.MaxKey + 1]*apiSpec
	// apiVersions is ApiVersions' own row, which ApiVersions answers
	// specially; local are the other APIs the proxy answers itself, in
	// key order.
	apiVersions *apiSpec
	local       []*apiSpec
}

// newAPITable checks the registry's rows and indexes them. Its errors are
// mistakes in the registry.
func newAPITable(rows []apiRow) (*apiTable, error) {
	t := new(apiTable)
	for _, row := range rows {
		key := row.req.Key()
		name := kmsg.NameForKey(key)
		switch {
		case t.byKey[key] != nil:
			return nil, fmt.Errorf("api registry: %s has two rows", name)
		case row.rule == nil:
			return nil, fmt.Errorf("api registry: %s has no authorization rule", name)
		case row.reviewed < 0 || row.reviewed > row.req.MaxVersion():
			return nil, fmt.Errorf("api registry: %s reviewed up to v%d, but kmsg decodes it up to v%d only", name, row.reviewed, row.req.MaxVersion())
		case row.walk != nil && row.rewrite == nil:
			return nil, fmt.Errorf("api registry: %s has a walk but no rewrite for the responses it buffers", name)
		}
		flex := row.reviewed + 1
		probe := kmsg.RequestForKey(key)
		for v := int16(0); v <= row.reviewed; v++ {
			probe.SetVersion(v)
			if probe.IsFlexible() {
				flex = v
				break
			}
		}
		t.byKey[key] = &apiSpec{apiRow: row, key: key, name: name, flexibleFrom: flex}
	}
	t.apiVersions = t.byKey[kmsg.ApiVersions]
	if t.apiVersions == nil || t.apiVersions.local == nil {
		return nil, fmt.Errorf("api registry: ApiVersions must be answered by the proxy")
	}
	for _, spec := range t.byKey {
		if spec != nil && spec.local != nil && spec != t.apiVersions {
			t.local = append(t.local, spec)
		}
	}
	return t, nil
}

// instrument gives each API its series of the per-API metrics.
func (t *apiTable) instrument(requests *prometheus.CounterVec, latency *prometheus.HistogramVec) {
	for _, spec := range t.byKey {
		if spec != nil {
			spec.requests = requests.WithLabelValues(spec.name)
			spec.latency = latency.WithLabelValues(spec.name)
		}
	}
}

// lookup returns the spec for key, or nil when the proxy does not support
// it.
func (t *apiTable) lookup(key int16) *apiSpec {
	if key < 0 || int(key) >= len(t.byKey) {
		return nil
	}
	return t.byKey[key]
}

// spec returns the spec of a key the registry is known to have.
func (t *apiTable) spec(key kmsg.Key) *apiSpec { return t.byKey[key] }
