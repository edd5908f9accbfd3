package authz

import (
	"reflect"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// Administration: topics, configs and the cluster.

// checkCreateTopics needs Create on the cluster, or else on each topic.
// A created topic's configs are only returned with DescribeConfigs on it.
func checkCreateTopics(c *Context, req kmsg.Request) Verdict {
	r := req.(*kmsg.CreateTopicsRequest)
	cluster := c.Check.Filter(ResourceCluster, ClusterName, OpCreate)
	kept, denied := split(r.Topics, func(t *kmsg.CreateTopicsRequestTopic) bool {
		return cluster || c.Check.Authorize(ResourceTopic, t.Topic, OpCreate)
	})
	r.Topics = kept
	hideConfigs := false
	for _, t := range kept {
		if !c.Check.Filter(ResourceTopic, t.Topic, OpDescribeConfigs) {
			hideConfigs = true
		}
	}
	merge := func(resp kmsg.Response) {
		out := resp.(*kmsg.CreateTopicsResponse)
		for i := range out.Topics {
			t := &out.Topics[i]
			if hideConfigs && t.ErrorCode == 0 && !c.Check.Filter(ResourceTopic, t.Topic, OpDescribeConfigs) {
				t.Configs, t.ConfigErrorCode = nil, errTopic
			}
		}
		for _, t := range denied {
			rt := kmsg.NewCreateTopicsResponseTopic()
			rt.Topic, rt.ErrorCode, rt.NumPartitions, rt.ReplicationFactor = t.Topic, errTopic, -1, -1
			rt.ConfigErrorCode = errTopic
			out.Topics = append(out.Topics, rt)
		}
	}
	if !hideConfigs {
		return partialVerdict(req, len(denied) > 0, len(kept) > 0, merge)
	}
	return patchedVerdict(req, len(denied) > 0, len(kept) > 0, merge)
}

// checkDeleteTopics needs Delete on each topic (and, by id, Describe:
// without it the id is reported unknown).
func checkDeleteTopics(c *Context, req kmsg.Request) Verdict {
	r := req.(*kmsg.DeleteTopicsRequest)
	if r.Version < 6 {
		kept, denied := split(r.TopicNames, func(n *string) bool { return c.Check.Authorize(ResourceTopic, *n, OpDelete) })
		r.TopicNames = kept
		return partialVerdict(req, len(denied) > 0, len(kept) > 0, func(resp kmsg.Response) {
			out := resp.(*kmsg.DeleteTopicsResponse)
			for _, n := range denied {
				rt := kmsg.NewDeleteTopicsResponseTopic()
				rt.Topic, rt.ErrorCode = strp(n), errTopic
				out.Topics = append(out.Topics, rt)
			}
		})
	}
	codes := map[int]int16{}
	i := -1
	kept, denied := split(r.Topics, func(t *kmsg.DeleteTopicsRequestTopic) bool {
		i++
		code := int16(0)
		if t.Topic != nil && *t.Topic != "" {
			if !c.Check.Authorize(ResourceTopic, *t.Topic, OpDelete) {
				code = errTopic
			}
		} else if n, ok := c.topicName("", t.TopicID); !ok || !c.Check.Filter(ResourceTopic, n, OpDescribe) {
			code = errUnknownT
		} else if !c.Check.Authorize(ResourceTopic, n, OpDelete) {
			code = errTopic
		}
		if code != 0 {
			codes[i] = code
		}
		return code == 0
	})
	r.Topics = kept
	var deniedCodes []int16
	for j := 0; j <= i; j++ {
		if code, ok := codes[j]; ok {
			deniedCodes = append(deniedCodes, code)
		}
	}
	return partialVerdict(req, len(denied) > 0, len(kept) > 0, func(resp kmsg.Response) {
		out := resp.(*kmsg.DeleteTopicsResponse)
		for j, t := range denied {
			rt := kmsg.NewDeleteTopicsResponseTopic()
			rt.Topic, rt.TopicID, rt.ErrorCode = t.Topic, t.TopicID, deniedCodes[j]
			out.Topics = append(out.Topics, rt)
		}
	})
}

// checkCreatePartitions needs Alter on each topic.
func checkCreatePartitions(c *Context, req kmsg.Request) Verdict {
	r := req.(*kmsg.CreatePartitionsRequest)
	kept, denied := split(r.Topics, func(t *kmsg.CreatePartitionsRequestTopic) bool {
		return c.Check.Authorize(ResourceTopic, t.Topic, OpAlter)
	})
	r.Topics = kept
	return partialVerdict(req, len(denied) > 0, len(kept) > 0, func(resp kmsg.Response) {
		out := resp.(*kmsg.CreatePartitionsResponse)
		for _, t := range denied {
			rt := kmsg.NewCreatePartitionsResponseTopic()
			rt.Topic, rt.ErrorCode = t.Topic, errTopic
			out.Topics = append(out.Topics, rt)
		}
	})
}

// configResource maps a config resource type to the ACL resource that
// guards it and the code of a denial.
var configResource = map[kmsg.ConfigResourceType]struct {
	rt      ResourceType
	cluster bool // the resource is the cluster, whatever its name
	code    int16
}{
	kmsg.ConfigResourceTypeTopic:         {ResourceTopic, false, errTopic},
	kmsg.ConfigResourceTypeBroker:        {ResourceCluster, true, errCluster},
	kmsg.ConfigResourceTypeBrokerLogger:  {ResourceCluster, true, errCluster},
	kmsg.ConfigResourceTypeClientMetrics: {ResourceCluster, true, errCluster},
	kmsg.ConfigResourceTypeGroupConfig:   {ResourceGroup, false, errGroup},
}

// configCode is the error for a config resource the principal may not op;
// 0 means allowed. A resource type the proxy does not know is refused as
// an invalid request: the proxy cannot tell what guards it.
func configCode(c *Context, t kmsg.ConfigResourceType, name string, op Operation) int16 {
	res, ok := configResource[t]
	if !ok {
		return kerr.InvalidRequest.Code
	}
	if res.cluster {
		name = ClusterName
	}
	if c.Check.Authorize(res.rt, name, op) {
		return 0
	}
	return res.code
}

// configResult is one resource's answer in the three config APIs.
type configResult struct {
	t    kmsg.ConfigResourceType
	name string
	code int16
}

// splitConfigs splits the resources of a config request on op.
func splitConfigs[T any](c *Context, items []T, op Operation, at func(*T) (kmsg.ConfigResourceType, string)) (kept []T, denied []configResult) {
	kept, _ = split(items, func(x *T) bool {
		t, name := at(x)
		if code := configCode(c, t, name, op); code != 0 {
			denied = append(denied, configResult{t, name, code})
			return false
		}
		return true
	})
	return kept, denied
}

// checkDescribeConfigs needs DescribeConfigs on each resource.
func checkDescribeConfigs(c *Context, req kmsg.Request) Verdict {
	r := req.(*kmsg.DescribeConfigsRequest)
	var denied []configResult
	r.Resources, denied = splitConfigs(c, r.Resources, OpDescribeConfigs, func(x *kmsg.DescribeConfigsRequestResource) (kmsg.ConfigResourceType, string) {
		return x.ResourceType, x.ResourceName
	})
	return partialVerdict(req, len(denied) > 0, len(r.Resources) > 0, func(resp kmsg.Response) {
		out := resp.(*kmsg.DescribeConfigsResponse)
		for _, d := range denied {
			x := kmsg.NewDescribeConfigsResponseResource()
			x.ResourceType, x.ResourceName, x.ErrorCode = d.t, d.name, d.code
			out.Resources = append(out.Resources, x)
		}
	})
}

// checkAlterConfigs needs AlterConfigs on each resource.
func checkAlterConfigs(c *Context, req kmsg.Request) Verdict {
	r := req.(*kmsg.AlterConfigsRequest)
	var denied []configResult
	r.Resources, denied = splitConfigs(c, r.Resources, OpAlterConfigs, func(x *kmsg.AlterConfigsRequestResource) (kmsg.ConfigResourceType, string) {
		return x.ResourceType, x.ResourceName
	})
	return partialVerdict(req, len(denied) > 0, len(r.Resources) > 0, func(resp kmsg.Response) {
		out := resp.(*kmsg.AlterConfigsResponse)
		for _, d := range denied {
			x := kmsg.NewAlterConfigsResponseResource()
			x.ResourceType, x.ResourceName, x.ErrorCode = d.t, d.name, d.code
			out.Resources = append(out.Resources, x)
		}
	})
}

// checkIncrementalAlterConfigs needs AlterConfigs on each resource.
func checkIncrementalAlterConfigs(c *Context, req kmsg.Request) Verdict {
	r := req.(*kmsg.IncrementalAlterConfigsRequest)
	var denied []configResult
	r.Resources, denied = splitConfigs(c, r.Resources, OpAlterConfigs, func(x *kmsg.IncrementalAlterConfigsRequestResource) (kmsg.ConfigResourceType, string) {
		return x.ResourceType, x.ResourceName
	})
	return partialVerdict(req, len(denied) > 0, len(r.Resources) > 0, func(resp kmsg.Response) {
		out := resp.(*kmsg.IncrementalAlterConfigsResponse)
		for _, d := range denied {
			x := kmsg.NewIncrementalAlterConfigsResponseResource()
			x.ResourceType, x.ResourceName, x.ErrorCode = d.t, d.name, d.code
			out.Resources = append(out.Resources, x)
		}
	})
}

// clusterGate is the rule of an API that needs one operation on the
// cluster: a denial fails the whole request with
// CLUSTER_AUTHORIZATION_FAILED.
func clusterGate(op Operation) func(*Context, kmsg.Request) Verdict {
	return func(c *Context, req kmsg.Request) Verdict {
		if c.Check.Authorize(ResourceCluster, ClusterName, op) {
			return Verdict{}
		}
		return answer(req, func(resp kmsg.Response) {
			setErrorCode(resp, errCluster)
			if f := itemDenials[req.Key()]; f != nil {
				f(req, resp, errCluster)
			}
		})
	}
}

// itemDenials reports a whole-request denial item by item, for the
// responses whose versions have no top-level error code.
var itemDenials = map[int16]func(req kmsg.Request, resp kmsg.Response, code int16){
	kmsg.ElectLeaders.Int16(): func(req kmsg.Request, resp kmsg.Response, code int16) {
		out := resp.(*kmsg.ElectLeadersResponse)
		for _, t := range req.(*kmsg.ElectLeadersRequest).Topics {
			rt := kmsg.NewElectLeadersResponseTopic()
			rt.Topic = t.Topic
			for _, p := range t.Partitions {
				rp := kmsg.NewElectLeadersResponseTopicPartition()
				rp.Partition, rp.ErrorCode = p, code
				rt.Partitions = append(rt.Partitions, rp)
			}
			out.Topics = append(out.Topics, rt)
		}
	},
	kmsg.AlterReplicaLogDirs.Int16(): func(req kmsg.Request, resp kmsg.Response, code int16) {
		out := resp.(*kmsg.AlterReplicaLogDirsResponse)
		for _, d := range req.(*kmsg.AlterReplicaLogDirsRequest).Dirs {
			for _, t := range d.Topics {
				rt := kmsg.NewAlterReplicaLogDirsResponseTopic()
				rt.Topic = t.Topic
				for _, p := range t.Partitions {
					rp := kmsg.NewAlterReplicaLogDirsResponseTopicPartition()
					rp.Partition, rp.ErrorCode = p, code
					rt.Partitions = append(rt.Partitions, rp)
				}
				out.Topics = append(out.Topics, rt)
			}
		}
	},
	kmsg.AlterClientQuotas.Int16(): func(req kmsg.Request, resp kmsg.Response, code int16) {
		out := resp.(*kmsg.AlterClientQuotasResponse)
		for _, e := range req.(*kmsg.AlterClientQuotasRequest).Entries {
			re := kmsg.NewAlterClientQuotasResponseEntry()
			re.ErrorCode = code
			for _, x := range e.Entity {
				ent := kmsg.NewAlterClientQuotasResponseEntryEntity()
				ent.Type, ent.Name = x.Type, x.Name
				re.Entity = append(re.Entity, ent)
			}
			out.Entries = append(out.Entries, re)
		}
	},
}

// setErrorCode sets the top-level ErrorCode of a response that has one.
// The kmsg types share no interface for it; this runs only for denials.
func setErrorCode(resp kmsg.Response, code int16) {
	if f := reflect.ValueOf(resp).Elem().FieldByName("ErrorCode"); f.IsValid() && f.CanSet() {
		f.SetInt(int64(code))
	}
}
