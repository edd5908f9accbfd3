package authz

import (
	"slices"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// Consumer groups: membership needs Read on the group, describing needs
// Describe, and offsets need the group and then each topic.

// groupGate is the rule of the membership APIs (JoinGroup, SyncGroup,
// Heartbeat, LeaveGroup): Read on the group, else
// GROUP_AUTHORIZATION_FAILED for the whole request.
func groupGate(group func(kmsg.Request) string) func(*Context, kmsg.Request) Verdict {
	return func(c *Context, req kmsg.Request) Verdict {
		if c.Check.Authorize(ResourceGroup, group(req), OpRead) {
			return Verdict{}
		}
		return answer(req, func(resp kmsg.Response) { setErrorCode(resp, errGroup) })
	}
}

// checkConsumerGroupHeartbeat (KIP-848) needs Read on the group and, as
// on a broker, Describe on every topic the member subscribes to by name.
// Topics a regex subscription matches are checked when they are fetched.
func checkConsumerGroupHeartbeat(c *Context, req kmsg.Request) Verdict {
	r := req.(*kmsg.ConsumerGroupHeartbeatRequest)
	code := int16(0)
	if !c.Check.Authorize(ResourceGroup, r.Group, OpRead) {
		code = errGroup
	} else {
		for _, t := range r.SubscribedTopicNames {
			if !c.Check.Authorize(ResourceTopic, t, OpDescribe) {
				code = errTopic
				break
			}
		}
	}
	if code == 0 {
		return Verdict{}
	}
	return answer(req, func(resp kmsg.Response) { setErrorCode(resp, code) })
}

// checkOffsetCommit needs Read on the group (else every partition gets
// 30), then Read on each topic.
func checkOffsetCommit(c *Context, req kmsg.Request) Verdict {
	r := req.(*kmsg.OffsetCommitRequest)
	if !c.Check.Authorize(ResourceGroup, r.Group, OpRead) {
		return answer(req, func(resp kmsg.Response) {
			mergeOffsetCommit(resp.(*kmsg.OffsetCommitResponse), r.Topics, nil, errGroup)
		})
	}
	codes, kept, denied := splitTopics(c, r.Topics, OpRead, func(t *kmsg.OffsetCommitRequestTopic) (string, [16]byte) { return t.Topic, t.TopicID })
	r.Topics = kept
	return partialVerdict(req, len(denied) > 0, len(kept) > 0, func(resp kmsg.Response) {
		mergeOffsetCommit(resp.(*kmsg.OffsetCommitResponse), denied, codes, errTopic)
	})
}

func mergeOffsetCommit(out *kmsg.OffsetCommitResponse, topics []kmsg.OffsetCommitRequestTopic, codes map[string]int16, code int16) {
	for _, t := range topics {
		rt := kmsg.NewOffsetCommitResponseTopic()
		rt.Topic, rt.TopicID = t.Topic, t.TopicID
		c := code
		if x, ok := codes[topicKey(t.Topic, t.TopicID)]; ok {
			c = x
		}
		for _, p := range t.Partitions {
			rp := kmsg.NewOffsetCommitResponseTopicPartition()
			rp.Partition, rp.ErrorCode = p.Partition, c
			rt.Partitions = append(rt.Partitions, rp)
		}
		out.Topics = append(out.Topics, rt)
	}
}

// checkOffsetFetch needs Describe on each group and on each topic. A
// request for all of a group's topics is filtered.
func checkOffsetFetch(c *Context, req kmsg.Request) Verdict {
	r := req.(*kmsg.OffsetFetchRequest)
	if r.Version < 8 {
		return checkOffsetFetchSingle(c, r)
	}
	var filterAll map[string]bool                                   // groups asking for all their topics
	var deniedTopics map[string][]kmsg.OffsetFetchRequestGroupTopic // by group
	kept, denied := split(r.Groups, func(g *kmsg.OffsetFetchRequestGroup) bool {
		if !c.Check.Authorize(ResourceGroup, g.Group, OpDescribe) {
			return false
		}
		if g.Topics == nil {
			if filterAll == nil {
				filterAll = map[string]bool{}
			}
			filterAll[g.Group] = true
			return true
		}
		var d []kmsg.OffsetFetchRequestGroupTopic
		g.Topics, d = split(g.Topics, func(t *kmsg.OffsetFetchRequestGroupTopic) bool {
			return c.topicCode(t.Topic, t.TopicID, OpDescribe) == 0
		})
		if len(d) > 0 {
			if deniedTopics == nil {
				deniedTopics = map[string][]kmsg.OffsetFetchRequestGroupTopic{}
			}
			deniedTopics[g.Group] = d
		}
		return true
	})
	if len(denied) == 0 && deniedTopics == nil && filterAll == nil {
		return Verdict{}
	}
	r.Groups = kept
	merge := func(resp kmsg.Response) {
		out := resp.(*kmsg.OffsetFetchResponse)
		// A group whose every topic was denied is added if the broker
		// left it out.
		for group := range deniedTopics {
			if !slices.ContainsFunc(out.Groups, func(g kmsg.OffsetFetchResponseGroup) bool { return g.Group == group }) {
				rg := kmsg.NewOffsetFetchResponseGroup()
				rg.Group = group
				out.Groups = append(out.Groups, rg)
			}
		}
		for i := range out.Groups {
			g := &out.Groups[i]
			if filterAll[g.Group] {
				g.Topics, _ = split(g.Topics, func(t *kmsg.OffsetFetchResponseGroupTopic) bool {
					n, ok := c.topicName(t.Topic, t.TopicID)
					return ok && c.Check.Filter(ResourceTopic, n, OpDescribe)
				})
			}
			for _, t := range deniedTopics[g.Group] {
				rt := kmsg.NewOffsetFetchResponseGroupTopic()
				rt.Topic, rt.TopicID = t.Topic, t.TopicID
				for _, p := range t.Partitions {
					rp := kmsg.NewOffsetFetchResponseGroupTopicPartition()
					rp.Partition, rp.ErrorCode, rp.Offset, rp.LeaderEpoch = p, errTopic, -1, -1
					rt.Partitions = append(rt.Partitions, rp)
				}
				g.Topics = append(g.Topics, rt)
			}
		}
		for _, g := range denied {
			rg := kmsg.NewOffsetFetchResponseGroup()
			rg.Group, rg.ErrorCode = g.Group, errGroup
			out.Groups = append(out.Groups, rg)
		}
	}
	if len(kept) == 0 {
		return answer(req, merge)
	}
	return Verdict{Edited: len(denied) > 0 || deniedTopics != nil, Patch: merge}
}

// checkOffsetFetchSingle is OffsetFetch before version 8: one group.
func checkOffsetFetchSingle(c *Context, r *kmsg.OffsetFetchRequest) Verdict {
	if !c.Check.Authorize(ResourceGroup, r.Group, OpDescribe) {
		return answer(r, func(resp kmsg.Response) {
			out := resp.(*kmsg.OffsetFetchResponse)
			out.ErrorCode = errGroup
			// Before version 2 the error travels in each partition.
			for _, t := range r.Topics {
				rt := kmsg.NewOffsetFetchResponseTopic()
				rt.Topic = t.Topic
				for _, p := range t.Partitions {
					rp := kmsg.NewOffsetFetchResponseTopicPartition()
					rp.Partition, rp.ErrorCode, rp.Offset, rp.LeaderEpoch = p, errGroup, -1, -1
					rt.Partitions = append(rt.Partitions, rp)
				}
				out.Topics = append(out.Topics, rt)
			}
		})
	}
	if r.Topics == nil {
		return Verdict{Patch: func(resp kmsg.Response) {
			out := resp.(*kmsg.OffsetFetchResponse)
			out.Topics, _ = split(out.Topics, func(t *kmsg.OffsetFetchResponseTopic) bool {
				return c.Check.Filter(ResourceTopic, t.Topic, OpDescribe)
			})
		}}
	}
	kept, denied := split(r.Topics, func(t *kmsg.OffsetFetchRequestTopic) bool {
		return c.Check.Authorize(ResourceTopic, t.Topic, OpDescribe)
	})
	if len(denied) == 0 {
		return Verdict{}
	}
	r.Topics = kept
	merge := func(resp kmsg.Response) {
		out := resp.(*kmsg.OffsetFetchResponse)
		for _, t := range denied {
			rt := kmsg.NewOffsetFetchResponseTopic()
			rt.Topic = t.Topic
			for _, p := range t.Partitions {
				rp := kmsg.NewOffsetFetchResponseTopicPartition()
				rp.Partition, rp.ErrorCode, rp.Offset, rp.LeaderEpoch = p, errTopic, -1, -1
				rt.Partitions = append(rt.Partitions, rp)
			}
			out.Topics = append(out.Topics, rt)
		}
	}
	if len(kept) == 0 {
		return answer(r, merge)
	}
	return Verdict{Edited: true, Patch: merge}
}

// coordinatorResource is what a FindCoordinator key type names, and the
// code of a denial.
var coordinatorResource = map[int8]struct {
	rt   ResourceType
	code int16
}{
	0: {ResourceGroup, errGroup},
	1: {ResourceTransactionalID, errTxnID},
}

// checkFindCoordinator needs Describe on the group or transactional id.
func checkFindCoordinator(c *Context, req kmsg.Request) Verdict {
	r := req.(*kmsg.FindCoordinatorRequest)
	res, known := coordinatorResource[r.CoordinatorType]
	code := res.code
	if !known {
		code = kerr.InvalidRequest.Code // share groups are not supported
	}
	allowed := func(key string) bool { return known && c.Check.Authorize(res.rt, key, OpDescribe) }
	if r.Version < 4 {
		if allowed(r.CoordinatorKey) {
			return Verdict{}
		}
		return answer(req, func(resp kmsg.Response) {
			out := resp.(*kmsg.FindCoordinatorResponse)
			out.ErrorCode, out.NodeID, out.Port = code, -1, -1
		})
	}
	kept, denied := split(r.CoordinatorKeys, func(k *string) bool { return allowed(*k) })
	r.CoordinatorKeys = kept
	return partialVerdict(req, len(denied) > 0, len(kept) > 0, func(resp kmsg.Response) {
		out := resp.(*kmsg.FindCoordinatorResponse)
		for _, k := range denied {
			rc := kmsg.NewFindCoordinatorResponseCoordinator()
			rc.Key, rc.NodeID, rc.Port, rc.ErrorCode = k, -1, -1, code
			out.Coordinators = append(out.Coordinators, rc)
		}
	})
}

// checkDescribeGroups needs Describe on each group.
func checkDescribeGroups(c *Context, req kmsg.Request) Verdict {
	r := req.(*kmsg.DescribeGroupsRequest)
	kept, denied := split(r.Groups, func(g *string) bool { return c.Check.Authorize(ResourceGroup, *g, OpDescribe) })
	r.Groups = kept
	ops := r.Version >= 3 && r.IncludeAuthorizedOperations
	merge := func(resp kmsg.Response) {
		out := resp.(*kmsg.DescribeGroupsResponse)
		if ops {
			for i := range out.Groups {
				if g := &out.Groups[i]; g.ErrorCode == 0 {
					g.AuthorizedOperations = authorizedOperations(c.Check, ResourceGroup, g.Group)
				}
			}
		}
		for _, g := range denied {
			rg := kmsg.NewDescribeGroupsResponseGroup()
			rg.Group, rg.ErrorCode, rg.AuthorizedOperations = g, errGroup, notRequested
			out.Groups = append(out.Groups, rg)
		}
	}
	if !ops {
		return partialVerdict(req, len(denied) > 0, len(kept) > 0, merge)
	}
	return patchedVerdict(req, len(denied) > 0, len(kept) > 0, merge)
}

// checkConsumerGroupDescribe needs Describe on each group (KIP-848).
func checkConsumerGroupDescribe(c *Context, req kmsg.Request) Verdict {
	r := req.(*kmsg.ConsumerGroupDescribeRequest)
	kept, denied := split(r.Groups, func(g *string) bool { return c.Check.Authorize(ResourceGroup, *g, OpDescribe) })
	r.Groups = kept
	ops := r.IncludeAuthorizedOperations
	merge := func(resp kmsg.Response) {
		out := resp.(*kmsg.ConsumerGroupDescribeResponse)
		if ops {
			for i := range out.Groups {
				if g := &out.Groups[i]; g.ErrorCode == 0 {
					g.AuthorizedOperations = authorizedOperations(c.Check, ResourceGroup, g.Group)
				}
			}
		}
		for _, g := range denied {
			rg := kmsg.NewConsumerGroupDescribeResponseGroup()
			rg.Group, rg.ErrorCode, rg.AuthorizedOperations = g, errGroup, notRequested
			out.Groups = append(out.Groups, rg)
		}
	}
	if !ops {
		return partialVerdict(req, len(denied) > 0, len(kept) > 0, merge)
	}
	return patchedVerdict(req, len(denied) > 0, len(kept) > 0, merge)
}

// checkListGroups lists every group to a principal that may describe the
// cluster, and otherwise only the groups it may describe. It never fails.
func checkListGroups(c *Context, _ kmsg.Request) Verdict {
	if c.Check.Filter(ResourceCluster, ClusterName, OpDescribe) {
		return Verdict{}
	}
	return Verdict{Patch: func(resp kmsg.Response) {
		out := resp.(*kmsg.ListGroupsResponse)
		out.Groups, _ = split(out.Groups, func(g *kmsg.ListGroupsResponseGroup) bool {
			return c.Check.Filter(ResourceGroup, g.Group, OpDescribe)
		})
	}}
}

// checkDeleteGroups needs Delete on each group.
func checkDeleteGroups(c *Context, req kmsg.Request) Verdict {
	r := req.(*kmsg.DeleteGroupsRequest)
	kept, denied := split(r.Groups, func(g *string) bool { return c.Check.Authorize(ResourceGroup, *g, OpDelete) })
	r.Groups = kept
	return partialVerdict(req, len(denied) > 0, len(kept) > 0, func(resp kmsg.Response) {
		out := resp.(*kmsg.DeleteGroupsResponse)
		for _, g := range denied {
			rg := kmsg.NewDeleteGroupsResponseGroup()
			rg.Group, rg.ErrorCode = g, errGroup
			out.Groups = append(out.Groups, rg)
		}
	})
}

// checkOffsetDelete needs Delete on the group, then Read on each topic.
func checkOffsetDelete(c *Context, req kmsg.Request) Verdict {
	r := req.(*kmsg.OffsetDeleteRequest)
	if !c.Check.Authorize(ResourceGroup, r.Group, OpDelete) {
		return answer(req, func(resp kmsg.Response) { resp.(*kmsg.OffsetDeleteResponse).ErrorCode = errGroup })
	}
	kept, denied := split(r.Topics, func(t *kmsg.OffsetDeleteRequestTopic) bool {
		return c.Check.Authorize(ResourceTopic, t.Topic, OpRead)
	})
	r.Topics = kept
	return partialVerdict(req, len(denied) > 0, len(kept) > 0, func(resp kmsg.Response) {
		out := resp.(*kmsg.OffsetDeleteResponse)
		for _, t := range denied {
			rt := kmsg.NewOffsetDeleteResponseTopic()
			rt.Topic = t.Topic
			for _, p := range t.Partitions {
				rp := kmsg.NewOffsetDeleteResponseTopicPartition()
				rp.Partition, rp.ErrorCode = p.Partition, errTopic
				rt.Partitions = append(rt.Partitions, rp)
			}
			out.Topics = append(out.Topics, rt)
		}
	})
}
