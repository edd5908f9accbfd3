package proxy

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/kafka-auth-proxy/kafka-auth-proxy/authn"
	"github.com/kafka-auth-proxy/kafka-auth-proxy/authz"
)

// stateTopic stands for the fleet's state topic in these tests.
const stateTopic = "_kafka_auth_proxy_state"

// The proxy's state topic is closed to every client, super users
// included: it is not listed, and every request naming it is refused
// with TOPIC_AUTHORIZATION_FAILED without reaching the broker. The attack
// it stops: a tenant, or a leaked super user key, reading every API key
// hash and role binding of the fleet, or writing a forged state record
// that every replica would apply.
func TestTheStateTopicIsClosedToEveryClient(t *testing.T) {
	fake, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(1, stateTopic, "orders"),
		kfake.ClusterID(authTestCluster), kfake.AllowAutoTopicCreation())
	if err != nil {
		t.Fatal(err)
	}
	defer fake.Close()
	direct, err := kgo.NewClient(kgo.SeedBrokers(fake.ListenAddrs()...))
	if err != nil {
		t.Fatal(err)
	}
	defer direct.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := direct.ProduceSync(ctx, &kgo.Record{Topic: stateTopic, Value: []byte("the state")}).FirstErr(); err != nil {
		t.Fatal(err)
	}

	super, declared := makeAPIKey(t, "sa-root")
	p := startProxy(t, fake.ListenAddrs(), func(s *testSetup) {
		s.authn = testAuthn()
		s.authn.Accounts = []string{"sa-root"}
		s.authn.Keys = []authn.Key{declared}
		s.policy = authz.Policy{SuperUsers: []string{"User:sa-root"}, ReservedTopics: []string{stateTopic}}
		s.stateFile = t.TempDir() + "/state.json"
	}, fake)
	cl := p.client(t, super.login(), kgo.RequestRetries(0), kgo.RecordRetries(0))
	adm := kadm.NewClient(cl)

	t.Run("metadata of every topic leaves it out", func(t *testing.T) {
		md, err := adm.Metadata(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := md.Topics[stateTopic]; ok || !slices.Contains(md.Topics.Names(), "orders") {
			t.Errorf("topics %v: want orders and not %s", md.Topics.Names(), stateTopic)
		}
		listed, err := adm.ListTopicsWithInternal(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if listed.Has(stateTopic) {
			t.Errorf("ListTopics shows %s", stateTopic)
		}
	})
	t.Run("metadata naming it is refused", func(t *testing.T) {
		md, err := adm.Metadata(ctx, stateTopic)
		if err == nil {
			err = md.Topics[stateTopic].Err
		}
		if !errors.Is(err, kerr.TopicAuthorizationFailed) {
			t.Errorf("metadata of %s: %v", stateTopic, err)
		}
	})
	// Raw requests at pinned versions, so that the client library adds
	// nothing of its own (topic ids it cannot know).
	raw := dialRaw(t, p.srv.BootstrapAddr())
	if resp := raw.handshake(1, "PLAIN"); resp.ErrorCode != 0 {
		t.Fatalf("handshake: %v", kerr.ErrorForCode(resp.ErrorCode))
	}
	if resp, ok := raw.authenticate(2, plainMsg(super)); !ok || resp.ErrorCode != 0 {
		t.Fatal("login failed")
	}
	t.Run("DescribeTopicPartitions leaves it out", func(t *testing.T) {
		req := kmsg.NewPtrDescribeTopicPartitionsRequest()
		req.ResponsePartitionLimit = 100
		resp, err := req.RequestWith(ctx, cl)
		if err != nil {
			t.Fatal(err)
		}
		var described []string
		for _, tp := range resp.Topics {
			if tp.Topic != nil && tp.ErrorCode == 0 {
				described = append(described, *tp.Topic)
			}
		}
		if slices.Contains(described, stateTopic) || !slices.Contains(described, "orders") {
			t.Errorf("DescribeTopicPartitions described %v: want orders and not %s", described, stateTopic)
		}
	})
	refused := []struct {
		name string
		do   func() error
	}{
		{"produce", func() error {
			return cl.ProduceSync(ctx, &kgo.Record{Topic: stateTopic, Value: []byte("forged")}).FirstErr()
		}},
		{"fetch", func() error {
			resp := roundTrip[*kmsg.FetchResponse](t, raw, fetchFull(stateTopic))
			for _, tp := range resp.Topics {
				for _, part := range tp.Partitions {
					if len(part.RecordBatches) > 0 {
						return errors.New("records returned")
					}
					if err := kerr.ErrorForCode(part.ErrorCode); err != nil {
						return err
					}
				}
			}
			return nil
		}},
		{"list offsets", func() error {
			offs, err := adm.ListEndOffsets(ctx, stateTopic)
			if err != nil {
				return err
			}
			return offs.Error()
		}},
		{"describe configs", func() error {
			rc, err := adm.DescribeTopicConfigs(ctx, stateTopic)
			if err != nil {
				return err
			}
			for _, c := range rc {
				return c.Err
			}
			return nil
		}},
		{"alter configs", func() error {
			r, err := adm.AlterTopicConfigs(ctx, []kadm.AlterConfig{{Name: "retention.ms", Value: kadm.StringPtr("1")}}, stateTopic)
			if err != nil {
				return err
			}
			for _, x := range r {
				return x.Err
			}
			return nil
		}},
		{"delete records", func() error {
			o := kadm.Offsets{}
			o.Add(kadm.Offset{Topic: stateTopic, Partition: 0, At: 1})
			r, err := adm.DeleteRecords(ctx, o)
			if err != nil {
				return err
			}
			return r.Error()
		}},
		{"create partitions", func() error {
			r, err := adm.CreatePartitions(ctx, 2, stateTopic)
			if err != nil {
				return err
			}
			for _, x := range r {
				return x.Err
			}
			return nil
		}},
		{"delete", func() error {
			r, err := adm.DeleteTopics(ctx, stateTopic)
			if err != nil {
				return err
			}
			for _, x := range r {
				return x.Err
			}
			return nil
		}},
		{"offset commit", func() error {
			req := kmsg.NewPtrOffsetCommitRequest()
			req.Version, req.Group, req.Generation = 8, "g", -1
			tp := kmsg.NewOffsetCommitRequestTopic()
			tp.Topic = stateTopic
			part := kmsg.NewOffsetCommitRequestTopicPartition()
			part.Offset = 1
			tp.Partitions = append(tp.Partitions, part)
			req.Topics = append(req.Topics, tp)
			resp := roundTrip[*kmsg.OffsetCommitResponse](t, raw, req)
			return kerr.ErrorForCode(resp.Topics[0].Partitions[0].ErrorCode)
		}},
		{"a replica's fetch", func() error {
			req := fetchFull(stateTopic)
			req.ReplicaID = 1
			resp := roundTrip[*kmsg.FetchResponse](t, raw, req)
			if len(resp.Topics) != 1 || len(resp.Topics[0].Partitions) != 1 {
				return errors.New("not one partition answered")
			}
			part := resp.Topics[0].Partitions[0]
			if len(part.RecordBatches) > 0 {
				return errors.New("records returned")
			}
			return kerr.ErrorForCode(part.ErrorCode)
		}},
		{"leader election", func() error {
			s := kadm.TopicsSet{}
			s.Add(stateTopic, 0)
			r, err := adm.ElectLeaders(ctx, kadm.ElectPreferredReplica, s)
			if err != nil {
				return err
			}
			for _, ps := range r {
				for _, x := range ps {
					return x.Err
				}
			}
			return errors.New("no partition answered")
		}},
		{"create ACLs on it", func() error {
			b := kadm.NewACLs().Allow("User:sa-root").Topics(stateTopic).Operations(kadm.OpRead).ResourcePatternType(kadm.ACLPatternLiteral)
			r, err := adm.CreateACLs(ctx, b)
			if err != nil {
				return err
			}
			for _, x := range r {
				return x.Err
			}
			return nil
		}},
		{"create ACLs on a prefix covering it", func() error {
			b := kadm.NewACLs().Allow("User:sa-root").Topics("_kafka").Operations(kadm.OpAll).ResourcePatternType(kadm.ACLPatternPrefixed)
			r, err := adm.CreateACLs(ctx, b)
			if err != nil {
				return err
			}
			for _, x := range r {
				return x.Err
			}
			return nil
		}},
	}
	for _, tc := range refused {
		t.Run(tc.name+" is refused", func(t *testing.T) {
			if err := tc.do(); !errors.Is(err, kerr.TopicAuthorizationFailed) {
				t.Errorf("got %v, want TOPIC_AUTHORIZATION_FAILED", err)
			}
		})
	}
	t.Run("log dirs of every topic leave it out", func(t *testing.T) {
		req := kmsg.NewPtrDescribeLogDirsRequest()
		resp := roundTrip[*kmsg.DescribeLogDirsResponse](t, raw, req)
		var listed []string
		for _, d := range resp.Dirs {
			for _, tp := range d.Topics {
				listed = append(listed, tp.Topic)
			}
		}
		if slices.Contains(listed, stateTopic) || !slices.Contains(listed, "orders") {
			t.Errorf("DescribeLogDirs lists %v: want orders and not %s", listed, stateTopic)
		}
	})
	t.Run("creating it is refused", func(t *testing.T) {
		// Against a cluster without it: a client may not squat the name
		// before a fleet creates it.
		r, err := adm.CreateTopics(ctx, 1, 1, nil, stateTopic)
		if err != nil {
			t.Fatal(err)
		}
		for _, x := range r {
			if !errors.Is(x.Err, kerr.TopicAuthorizationFailed) {
				t.Errorf("create: %v, want TOPIC_AUTHORIZATION_FAILED", x.Err)
			}
		}
	})

	// Nothing reached the broker: the topic, its one record, its
	// partition count and its configuration are as they were.
	dadm := kadm.NewClient(direct)
	td, err := dadm.ListTopics(ctx, stateTopic)
	if err != nil {
		t.Fatal(err)
	}
	if d, ok := td[stateTopic]; !ok || d.Err != nil || len(d.Partitions) != 1 {
		t.Fatalf("the state topic after the attempts: %+v", d)
	}
	ends, err := dadm.ListEndOffsets(ctx, stateTopic)
	if err != nil {
		t.Fatal(err)
	}
	if o, _ := ends.Lookup(stateTopic, 0); o.Offset != 1 {
		t.Errorf("the state topic holds %d records, want the 1 written directly", o.Offset)
	}
	starts, err := dadm.ListStartOffsets(ctx, stateTopic)
	if err != nil {
		t.Fatal(err)
	}
	if o, _ := starts.Lookup(stateTopic, 0); o.Offset != 0 {
		t.Errorf("the state topic starts at %d: records were deleted", o.Offset)
	}
}
