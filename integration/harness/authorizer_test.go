//go:build integration

package harness_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
	"github.com/twmb/franz-go/pkg/sasl/plain"
	"github.com/twmb/franz-go/pkg/sasl/scram"

	"github.com/kafka-auth-proxy/kafka-auth-proxy/integration/harness"
)

// A cluster with Options.Authorizer and Options.Users enforces ACLs for
// the extra users, while the harness's own SASL user is a super user.
func TestAuthorizerWithExtraUsers(t *testing.T) {
	c := harness.StartT(t, harness.Options{Brokers: 1, SASL: true, Authorizer: true,
		Users: map[string]string{"alice": "alice-secret", "bob": "bob-secret"}})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	admin := newClient(t, kgo.SeedBrokers(c.SASLBootstrap...), kgo.SASL(plain.Auth{User: c.SASLUser, Pass: c.SASLPassword}.AsMechanism()))
	const topic = "acl-probe"
	resp, err := kadm.NewClient(admin).CreateTopic(ctx, 1, 1, nil, topic)
	if err == nil {
		err = resp.Err
	}
	if err != nil {
		t.Fatalf("the harness user (a super user) cannot create a topic: %v", err)
	}

	alice := newClient(t, kgo.SeedBrokers(c.SASLBootstrap...), kgo.SASL(plain.Auth{User: "alice", Pass: "alice-secret"}.AsMechanism()),
		kgo.DefaultProduceTopic(topic))
	if err := alice.ProduceSync(ctx, kgo.StringRecord("denied")).FirstErr(); !errors.Is(err, kerr.TopicAuthorizationFailed) {
		t.Fatalf("alice produced without an ACL: %v", err)
	}

	req := kmsg.NewPtrCreateACLsRequest()
	c1 := kmsg.NewCreateACLsRequestCreation()
	c1.ResourceType, c1.ResourceName, c1.ResourcePatternType = kmsg.ACLResourceTypeTopic, topic, kmsg.ACLResourcePatternTypeLiteral
	c1.Principal, c1.Host = "User:alice", "*"
	c1.Operation, c1.PermissionType = kmsg.ACLOperationWrite, kmsg.ACLPermissionTypeAllow
	req.Creations = append(req.Creations, c1)
	cresp, err := req.RequestWith(ctx, admin)
	if err != nil || len(cresp.Results) != 1 || cresp.Results[0].ErrorCode != 0 {
		t.Fatalf("create ACL as the harness user: %v %+v", err, cresp)
	}
	// The broker applies the ACL once it has the metadata record.
	for {
		err := alice.ProduceSync(ctx, kgo.StringRecord("allowed")).FirstErr()
		if err == nil {
			break
		}
		if !errors.Is(err, kerr.TopicAuthorizationFailed) || ctx.Err() != nil {
			t.Fatalf("alice with an ALLOW Write ACL: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}

	// bob logs in with SCRAM too, and has no ACL.
	bob := newClient(t, kgo.SeedBrokers(c.SASLBootstrap...), kgo.SASL(scram.Auth{User: "bob", Pass: "bob-secret"}.AsSha512Mechanism()),
		kgo.DefaultProduceTopic(topic))
	if err := bob.ProduceSync(ctx, kgo.StringRecord("denied")).FirstErr(); !errors.Is(err, kerr.TopicAuthorizationFailed) {
		t.Fatalf("bob (SCRAM, no ACL): %v", err)
	}
}
