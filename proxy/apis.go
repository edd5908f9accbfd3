package proxy

import (
	"github.com/twmb/franz-go/pkg/kmsg"
)

// apiSpec is what the proxy knows about one API key.
type apiSpec struct {
	key  int16
	name string
	// maxVersion is the newest version the proxy decodes. ApiVersions never
	// advertises more, and a request with a newer version is refused.
	maxVersion int16
	// flexibleFrom is the first version using flexible (tagged) encoding;
	// maxVersion+1 when no version does.
	flexibleFrom int16
	// newRequest returns an empty request of this API.
	newRequest func() kmsg.Request
	// Responses of version rewriteFrom and later may name brokers. They
	// are either buffered and edited by rewrite (rewrite.go), or, for
	// large responses, relayed by walk while they stream, which rewrites
	// the brokers they name on the way (relay.go).
	rewrite     rewriteFunc
	walk        walkFunc
	rewriteFrom int16
	// local APIs are answered by the proxy (local.go); ApiVersions
	// advertises the proxy's own version range for them, whatever the
	// upstream broker supports.
	local bool
	// preAuth APIs may be sent before SASL authentication completes, and
	// after a session expires; any other request then closes the
	// connection.
	preAuth bool
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

// clientAPIs lists every API that a Kafka client may send through the proxy.
// Anything not listed (inter-broker and controller APIs, delegation tokens,
// SCRAM credentials, which include the proxy's own upstream identity, share
// and streams groups, vendor keys) is dropped from ApiVersions and refused
// if sent: the proxy fails closed. Every row has an authorization rule in
// authz (a test checks it).
//
// The responses that carry broker addresses are the rows with a rewrite or
// a walk.
var clientAPIs = []struct {
	req         kmsg.Request
	rewrite     rewriteFunc
	walk        walkFunc
	rewriteFrom int16
	local       bool
	preAuth     bool
}{
	{req: new(kmsg.ProduceRequest), rewrite: rewriteProduce, rewriteFrom: 10},
	{req: new(kmsg.FetchRequest), walk: (*clientConn).relayFetch, rewrite: rewriteFetch, rewriteFrom: 16},
	{req: new(kmsg.ListOffsetsRequest)},
	{req: new(kmsg.MetadataRequest), rewrite: rewriteMetadata},
	{req: new(kmsg.OffsetCommitRequest)},
	{req: new(kmsg.OffsetFetchRequest)},
	{req: new(kmsg.FindCoordinatorRequest), rewrite: rewriteFindCoordinator},
	{req: new(kmsg.JoinGroupRequest)},
	{req: new(kmsg.HeartbeatRequest)},
	{req: new(kmsg.LeaveGroupRequest)},
	{req: new(kmsg.SyncGroupRequest)},
	{req: new(kmsg.DescribeGroupsRequest)},
	{req: new(kmsg.ListGroupsRequest)},
	{req: new(kmsg.SASLHandshakeRequest), local: true, preAuth: true},
	{req: new(kmsg.ApiVersionsRequest), local: true, preAuth: true},
	{req: new(kmsg.CreateTopicsRequest)},
	{req: new(kmsg.DeleteTopicsRequest)},
	{req: new(kmsg.DeleteRecordsRequest)},
	{req: new(kmsg.InitProducerIDRequest)},
	{req: new(kmsg.OffsetForLeaderEpochRequest)},
	{req: new(kmsg.AddPartitionsToTxnRequest)},
	{req: new(kmsg.AddOffsetsToTxnRequest)},
	{req: new(kmsg.EndTxnRequest)},
	{req: new(kmsg.TxnOffsetCommitRequest)},
	{req: new(kmsg.DescribeACLsRequest)},
	{req: new(kmsg.CreateACLsRequest)},
	{req: new(kmsg.DeleteACLsRequest)},
	{req: new(kmsg.DescribeConfigsRequest)},
	{req: new(kmsg.AlterConfigsRequest)},
	{req: new(kmsg.AlterReplicaLogDirsRequest)},
	{req: new(kmsg.DescribeLogDirsRequest)},
	{req: new(kmsg.SASLAuthenticateRequest), local: true, preAuth: true},
	{req: new(kmsg.CreatePartitionsRequest)},
	{req: new(kmsg.DeleteGroupsRequest)},
	{req: new(kmsg.ElectLeadersRequest)},
	{req: new(kmsg.IncrementalAlterConfigsRequest)},
	{req: new(kmsg.AlterPartitionAssignmentsRequest)},
	{req: new(kmsg.ListPartitionReassignmentsRequest)},
	{req: new(kmsg.OffsetDeleteRequest)},
	{req: new(kmsg.DescribeClientQuotasRequest)},
	{req: new(kmsg.AlterClientQuotasRequest)},
	{req: new(kmsg.DescribeQuorumRequest), rewrite: rewriteDescribeQuorum},
	{req: new(kmsg.UpdateFeaturesRequest)},
	{req: new(kmsg.DescribeClusterRequest), rewrite: rewriteDescribeCluster},
	{req: new(kmsg.DescribeProducersRequest)},
	{req: new(kmsg.DescribeTransactionsRequest)},
	{req: new(kmsg.ListTransactionsRequest)},
	{req: new(kmsg.ConsumerGroupHeartbeatRequest)},
	{req: new(kmsg.ConsumerGroupDescribeRequest)},
	{req: new(kmsg.GetTelemetrySubscriptionsRequest)},
	{req: new(kmsg.PushTelemetryRequest)},
	{req: new(kmsg.ListConfigResourcesRequest)},
	{req: new(kmsg.DescribeTopicPartitionsRequest)},
}

// apiTable indexes clientAPIs by key; nil means unsupported.
var apiTable = buildAPITable()

func buildAPITable() [kmsg.MaxKey + 1]*apiSpec {
	var t [kmsg.MaxKey + 1]*apiSpec
	for _, row := range clientAPIs {
		key := row.req.Key()
		max := row.req.MaxVersion()
		flex := max + 1
		probe := kmsg.RequestForKey(key)
		for v := int16(0); v <= max; v++ {
			probe.SetVersion(v)
			if probe.IsFlexible() {
				flex = v
				break
			}
		}
		t[key] = &apiSpec{
			key:          key,
			name:         kmsg.NameForKey(key),
			maxVersion:   max,
			flexibleFrom: flex,
			newRequest:   func() kmsg.Request { return kmsg.RequestForKey(key) },
			rewrite:      row.rewrite,
			walk:         row.walk,
			rewriteFrom:  row.rewriteFrom,
			local:        row.local,
			preAuth:      row.preAuth,
		}
	}
	return t
}

// lookupAPI returns the spec for key, or nil when the proxy does not support
// it.
func lookupAPI(key int16) *apiSpec {
	if key < 0 || int(key) >= len(apiTable) {
		return nil
	}
	return apiTable[key]
}
