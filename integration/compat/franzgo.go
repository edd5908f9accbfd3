package compat

import (
	"context"
	"errors"
	"fmt"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl/oauth"
	"github.com/twmb/franz-go/pkg/sasl/plain"
)

// FranzGoRunner runs plans with franz-go (github.com/twmb/franz-go/pkg/kgo)
// in this process. OAUTHBEARER sends Plan.Token: franz-go takes tokens from
// the application.
type FranzGoRunner struct{}

// Version is the franz-go module version this binary is built with.
func (FranzGoRunner) Version(context.Context) (string, error) {
	return moduleVersion("github.com/twmb/franz-go")
}

// Run performs p's steps, each with new clients.
func (FranzGoRunner) Run(ctx context.Context, p Plan) (string, []Result, error) {
	login, err := franzLogin(p)
	if err != nil {
		return "", nil, err
	}
	base := []kgo.Opt{kgo.SeedBrokers(p.Bootstrap), login, kgo.RequiredAcks(kgo.AllISRAcks())}
	client := func(opts ...kgo.Opt) (*kgo.Client, error) {
		return kgo.NewClient(append(append([]kgo.Opt{}, base...), opts...)...)
	}
	produce := func(ctx context.Context, topic string, values []string, opts ...kgo.Opt) error {
		cl, err := client(opts...)
		if err != nil {
			return err
		}
		defer cl.Close()
		return franzProduce(ctx, cl, topic, values)
	}
	consume := func(ctx context.Context, want, forbidden []string) (string, error) {
		cl, err := client(kgo.ConsumerGroup(p.Group), kgo.ConsumeTopics(p.Topic),
			kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.DisableAutoCommit())
		if err != nil {
			return "", err
		}
		defer cl.Close() // leaves the group
		c := newConsumed(want, forbidden)
		for !c.done() && ctx.Err() == nil {
			fs := cl.PollFetches(ctx)
			if err := fs.Err0(); err != nil && !errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, context.Canceled) {
				return "", fmt.Errorf("poll: %w", err)
			}
			fs.EachRecord(func(r *kgo.Record) { c.add(string(r.Value)) })
		}
		if err := c.err(ctx); err != nil {
			return "", err
		}
		if err := cl.CommitUncommittedOffsets(ctx); err != nil {
			return "", fmt.Errorf("commit: %w", err)
		}
		return c.summary(), nil
	}
	out, res := runSteps(ctx, p, map[Step]stepFunc{
		StepProduce: func(ctx context.Context, p Plan) (string, error) {
			return acked(p.Records[StepProduce]), produce(ctx, p.Topic, p.Records[StepProduce], kgo.DisableIdempotentWrite())
		},
		StepConsume: func(ctx context.Context, p Plan) (string, error) {
			return consume(ctx, p.Records[StepProduce], nil)
		},
		StepDenied: func(ctx context.Context, p Plan) (string, error) {
			return refused(produce(ctx, p.DeniedTopic, p.Records[StepDenied]))
		},
		StepIdempotent: func(ctx context.Context, p Plan) (string, error) {
			// franz-go producers are idempotent unless told otherwise.
			return acked(p.Records[StepIdempotent]), produce(ctx, p.TxTopic, p.Records[StepIdempotent])
		},
		StepTransaction: func(ctx context.Context, p Plan) (string, error) {
			cl, err := client(kgo.TransactionalID(p.TransactionalID))
			if err != nil {
				return "", err
			}
			defer cl.Close()
			for _, txn := range []struct {
				values []string
				end    kgo.TransactionEndTry
			}{{p.Records[StepTransaction], kgo.TryCommit}, {p.AbortedRecords, kgo.TryAbort}} {
				if err := cl.BeginTransaction(); err != nil {
					return "", fmt.Errorf("begin: %w", err)
				}
				if err := franzProduce(ctx, cl, p.TxTopic, txn.values); err != nil {
					return "", err
				}
				if err := cl.EndTransaction(ctx, txn.end); err != nil {
					return "", fmt.Errorf("end transaction (commit %v): %w", bool(txn.end), err)
				}
			}
			return fmt.Sprintf("committed %d records, aborted %d", len(p.Records[StepTransaction]), len(p.AbortedRecords)), nil
		},
		StepResume: func(ctx context.Context, p Plan) (string, error) {
			if err := produce(ctx, p.Topic, p.Records[StepResume], kgo.DisableIdempotentWrite()); err != nil {
				return "", err
			}
			return consume(ctx, p.Records[StepResume], p.Records[StepProduce])
		},
	})
	return out, res, nil
}

func franzLogin(p Plan) (kgo.Opt, error) {
	switch p.Mechanism {
	case Plain:
		return kgo.SASL(plain.Auth{User: p.Username, Pass: p.Password}.AsMechanism()), nil
	case OAuthBearer:
		if p.Token == "" {
			return nil, errors.New("franz-go: OAUTHBEARER needs the plan's token")
		}
		return kgo.SASL(oauth.Auth{Token: p.Token}.AsMechanism()), nil
	}
	return nil, fmt.Errorf("franz-go: unknown mechanism %q", p.Mechanism)
}

// franzProduce produces values (each also its record's key) to topic and
// waits for every acknowledgement.
func franzProduce(ctx context.Context, cl *kgo.Client, topic string, values []string) error {
	recs := make([]*kgo.Record, len(values))
	for i, v := range values {
		recs[i] = &kgo.Record{Topic: topic, Key: []byte(v), Value: []byte(v)}
	}
	return cl.ProduceSync(ctx, recs...).FirstErr()
}
