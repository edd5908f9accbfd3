package authz

import (
	"github.com/twmb/franz-go/pkg/kmsg"
)

// rule is what one API needs. check is nil for an API that needs nothing
// (ApiVersions, SASL, client telemetry).
type rule struct {
	check func(*Context, kmsg.Request) Verdict
}

// rules is the per-API enforcement table, by API key. It follows Kafka's
// own rules (KafkaApis, "Operations and Resources on Protocols"); an API
// without a row is neither advertised nor forwarded.
//
// SCRAM credential APIs have no row on purpose: the upstream's SCRAM users
// include the proxy's own identity, which no client may read or change.
var rules = map[int16]rule{
	kmsg.ApiVersions.Int16():      {},
	kmsg.SASLHandshake.Int16():    {},
	kmsg.SASLAuthenticate.Int16(): {},
	// Client telemetry (KIP-714) needs no ACL on a broker either.
	kmsg.GetTelemetrySubscriptions.Int16(): {},
	kmsg.PushTelemetry.Int16():             {},

	kmsg.Produce.Int16():                 {checkProduce},
	kmsg.Fetch.Int16():                   {checkFetch},
	kmsg.ListOffsets.Int16():             {checkListOffsets},
	kmsg.Metadata.Int16():                {checkMetadata},
	kmsg.OffsetCommit.Int16():            {checkOffsetCommit},
	kmsg.OffsetFetch.Int16():             {checkOffsetFetch},
	kmsg.FindCoordinator.Int16():         {checkFindCoordinator},
	kmsg.JoinGroup.Int16():               {groupGate(func(r kmsg.Request) string { return r.(*kmsg.JoinGroupRequest).Group })},
	kmsg.Heartbeat.Int16():               {groupGate(func(r kmsg.Request) string { return r.(*kmsg.HeartbeatRequest).Group })},
	kmsg.LeaveGroup.Int16():              {groupGate(func(r kmsg.Request) string { return r.(*kmsg.LeaveGroupRequest).Group })},
	kmsg.SyncGroup.Int16():               {groupGate(func(r kmsg.Request) string { return r.(*kmsg.SyncGroupRequest).Group })},
	kmsg.ConsumerGroupHeartbeat.Int16():  {checkConsumerGroupHeartbeat},
	kmsg.DescribeGroups.Int16():          {checkDescribeGroups},
	kmsg.ConsumerGroupDescribe.Int16():   {checkConsumerGroupDescribe},
	kmsg.ListGroups.Int16():              {checkListGroups},
	kmsg.DeleteGroups.Int16():            {checkDeleteGroups},
	kmsg.OffsetDelete.Int16():            {checkOffsetDelete},
	kmsg.CreateTopics.Int16():            {checkCreateTopics},
	kmsg.DeleteTopics.Int16():            {checkDeleteTopics},
	kmsg.DeleteRecords.Int16():           {checkDeleteRecords},
	kmsg.CreatePartitions.Int16():        {checkCreatePartitions},
	kmsg.InitProducerID.Int16():          {checkInitProducerID},
	kmsg.OffsetForLeaderEpoch.Int16():    {checkOffsetForLeaderEpoch},
	kmsg.AddPartitionsToTxn.Int16():      {checkAddPartitionsToTxn},
	kmsg.AddOffsetsToTxn.Int16():         {checkAddOffsetsToTxn},
	kmsg.EndTxn.Int16():                  {checkEndTxn},
	kmsg.TxnOffsetCommit.Int16():         {checkTxnOffsetCommit},
	kmsg.DescribeTransactions.Int16():    {checkDescribeTransactions},
	kmsg.ListTransactions.Int16():        {checkListTransactions},
	kmsg.DescribeProducers.Int16():       {checkDescribeProducers},
	kmsg.DescribeConfigs.Int16():         {checkDescribeConfigs},
	kmsg.AlterConfigs.Int16():            {checkAlterConfigs},
	kmsg.IncrementalAlterConfigs.Int16(): {checkIncrementalAlterConfigs},
	kmsg.DescribeCluster.Int16():         {checkDescribeCluster},
	kmsg.DescribeTopicPartitions.Int16(): {checkDescribeTopicPartitions},
	// The ACL APIs are answered by the proxy from its own ACL store;
	// their handlers check Describe or Alter on the cluster.
	kmsg.DescribeACLs.Int16(): {},
	kmsg.CreateACLs.Int16():   {},
	kmsg.DeleteACLs.Int16():   {},

	// Cluster administration: one cluster permission for the whole
	// request.
	kmsg.ElectLeaders.Int16():               {clusterGate(OpAlter)},
	kmsg.AlterPartitionAssignments.Int16():  {clusterGate(OpAlter)},
	kmsg.ListPartitionReassignments.Int16(): {clusterGate(OpDescribe)},
	kmsg.UpdateFeatures.Int16():             {clusterGate(OpAlter)},
	kmsg.DescribeQuorum.Int16():             {clusterGate(OpDescribe)},
	kmsg.DescribeLogDirs.Int16():            {clusterGate(OpDescribe)},
	kmsg.AlterReplicaLogDirs.Int16():        {clusterGate(OpAlter)},
	kmsg.DescribeClientQuotas.Int16():       {clusterGate(OpDescribeConfigs)},
	kmsg.AlterClientQuotas.Int16():          {clusterGate(OpAlterConfigs)},
	kmsg.ListConfigResources.Int16():        {clusterGate(OpDescribeConfigs)},
}

// ruleTable indexes rules by key for the request path.
var ruleTable = func() (t [kmsg.MaxKey + 1]*rule) {
	for key, r := range rules {
		t[key] = &r
	}
	return t
}()

func ruleFor(key int16) *rule {
	if key < 0 || int(key) >= len(ruleTable) {
		return nil
	}
	return ruleTable[key]
}
