//go:build integration

package integration

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/kafka-auth-proxy/kafka-auth-proxy/config"
	"github.com/kafka-auth-proxy/kafka-auth-proxy/store"
)

// Against real Kafka, a super user of the proxy can neither see nor touch
// the fleet's state topic, and nothing it tries reaches the broker.
func TestNoClientSeesOrTouchesTheStateTopic(t *testing.T) {
	c := single
	root := newAccountID(t)
	ap := startAuthProxy(t, c.Bootstrap, func(cfg *config.Config) {
		cfg.Authorization = config.Authorization{SuperUsers: []string{"User:" + root}}
	})
	super := ap.addPrincipal(t, root)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	direct := upstreamClient(t, c)
	dadm := kadm.NewClient(direct)
	if _, err := dadm.CreateTopic(ctx, 1, 1, map[string]*string{"cleanup.policy": kadm.StringPtr("compact")}, store.StateTopic); err != nil &&
		!errors.Is(err, kerr.TopicAlreadyExists) {
		t.Fatal(err)
	}
	if err := direct.ProduceSync(ctx, &kgo.Record{Topic: store.StateTopic, Key: []byte("k"), Value: []byte("the state")}).FirstErr(); err != nil {
		t.Fatal(err)
	}
	before, err := dadm.ListEndOffsets(ctx, store.StateTopic)
	if err != nil {
		t.Fatal(err)
	}

	cl := loginClient(t, ap, super.login(), kgo.RequestRetries(0), kgo.RecordRetries(0))
	adm := kadm.NewClient(cl)
	md, err := adm.Metadata(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := md.Topics[store.StateTopic]; ok {
		t.Error("Metadata of every topic shows the state topic")
	}
	if listed, err := adm.ListTopicsWithInternal(ctx); err != nil || listed.Has(store.StateTopic) {
		t.Errorf("ListTopics: %v, shows the state topic: %v", err, listed.Has(store.StateTopic))
	}
	first := func(errs ...error) error {
		for _, e := range errs {
			if e != nil {
				return e
			}
		}
		return nil
	}
	for _, tc := range []struct {
		name string
		do   func() error
	}{
		{"metadata naming it", func() error {
			md, err := adm.Metadata(ctx, store.StateTopic)
			return first(err, md.Topics[store.StateTopic].Err)
		}},
		{"produce", func() error {
			return cl.ProduceSync(ctx, &kgo.Record{Topic: store.StateTopic, Value: []byte("forged")}).FirstErr()
		}},
		{"describe configs", func() error {
			rc, err := adm.DescribeTopicConfigs(ctx, store.StateTopic)
			if err != nil {
				return err
			}
			return rc[0].Err
		}},
		{"alter configs", func() error {
			r, err := adm.AlterTopicConfigs(ctx, []kadm.AlterConfig{{Name: "cleanup.policy", Value: kadm.StringPtr("delete")}}, store.StateTopic)
			if err != nil {
				return err
			}
			return r[0].Err
		}},
		{"delete", func() error {
			r, err := adm.DeleteTopics(ctx, store.StateTopic)
			return first(err, r[store.StateTopic].Err)
		}},
		{"create", func() error {
			r, err := adm.CreateTopics(ctx, 1, 1, nil, store.StateTopic)
			return first(err, r[store.StateTopic].Err)
		}},
		{"create partitions", func() error {
			r, err := adm.CreatePartitions(ctx, 2, store.StateTopic)
			return first(err, r[store.StateTopic].Err)
		}},
		{"delete records", func() error {
			o := kadm.Offsets{}
			o.Add(kadm.Offset{Topic: store.StateTopic, Partition: 0, At: 1})
			r, err := adm.DeleteRecords(ctx, o)
			return first(err, r.Error())
		}},
		{"create ACLs on it", func() error {
			r, err := adm.CreateACLs(ctx, kadm.NewACLs().Allow("User:"+root).Topics(store.StateTopic).Operations(kadm.OpRead).ResourcePatternType(kadm.ACLPatternLiteral))
			return first(err, r[0].Err)
		}},
	} {
		t.Run(tc.name+" is refused", func(t *testing.T) {
			if err := tc.do(); !errors.Is(err, kerr.TopicAuthorizationFailed) {
				t.Errorf("got %v, want TOPIC_AUTHORIZATION_FAILED", err)
			}
		})
	}

	// The broker saw none of it.
	after, err := dadm.ListEndOffsets(ctx, store.StateTopic)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := before.Lookup(store.StateTopic, 0)
	a, _ := after.Lookup(store.StateTopic, 0)
	if a.Offset != b.Offset {
		t.Errorf("the state topic went from %d to %d records", b.Offset, a.Offset)
	}
	td, err := dadm.ListTopics(ctx, store.StateTopic)
	if err != nil || len(td[store.StateTopic].Partitions) != 1 {
		t.Errorf("the state topic after the attempts: %+v, %v", td[store.StateTopic], err)
	}
	rc, err := dadm.DescribeTopicConfigs(ctx, store.StateTopic)
	if err != nil {
		t.Fatal(err)
	}
	for _, cfg := range rc[0].Configs {
		if cfg.Key == "cleanup.policy" && cfg.MaybeValue() != "compact" {
			t.Errorf("cleanup.policy is %q", cfg.MaybeValue())
		}
	}
}
