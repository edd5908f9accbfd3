package compat

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/IBM/sarama"
)

// SaramaVersion is the protocol version sarama is configured for
// (Config.Version): the newest release line of the brokers the matrix runs
// against that sarama knows.
var SaramaVersion = sarama.V4_0_0_0

// SaramaRunner runs plans with sarama (github.com/IBM/sarama) in this
// process. OAUTHBEARER sends Plan.Token through an AccessTokenProvider:
// sarama takes tokens from the application.
type SaramaRunner struct{}

// Version is the sarama module version this binary is built with.
func (SaramaRunner) Version(context.Context) (string, error) {
	v, err := moduleVersion("github.com/IBM/sarama")
	if err != nil {
		return "", err
	}
	return v + " (Config.Version " + SaramaVersion.String() + ")", nil
}

// Run performs p's steps, each with new clients.
func (SaramaRunner) Run(ctx context.Context, p Plan) (string, []Result, error) {
	config := func() (*sarama.Config, error) {
		c := sarama.NewConfig()
		c.Version = SaramaVersion
		c.ClientID = "compat-sarama"
		c.Net.SASL.Enable = true
		switch p.Mechanism {
		case Plain:
			c.Net.SASL.Mechanism = sarama.SASLTypePlaintext
			c.Net.SASL.User, c.Net.SASL.Password = p.Username, p.Password
		case OAuthBearer:
			if p.Token == "" {
				return nil, errors.New("sarama: OAUTHBEARER needs the plan's token")
			}
			c.Net.SASL.Mechanism = sarama.SASLTypeOAuth
			c.Net.SASL.TokenProvider = staticToken(p.Token)
		default:
			return nil, fmt.Errorf("sarama: unknown mechanism %q", p.Mechanism)
		}
		c.Producer.RequiredAcks = sarama.WaitForAll
		c.Producer.Return.Successes = true
		c.Producer.Retry.Max = 3
		c.Metadata.Retry.Max = 2
		return c, nil
	}
	produce := func(topic string, values []string, edit func(*sarama.Config)) error {
		c, err := config()
		if err != nil {
			return err
		}
		if edit != nil {
			edit(c)
		}
		prod, err := sarama.NewSyncProducer([]string{p.Bootstrap}, c)
		if err != nil {
			return fmt.Errorf("new producer: %w", err)
		}
		return errors.Join(saramaSendErr(prod.SendMessages(saramaMessages(topic, values))), prod.Close())
	}
	consume := func(ctx context.Context, want, forbidden []string) (string, error) {
		c, err := config()
		if err != nil {
			return "", err
		}
		c.Consumer.Offsets.Initial = sarama.OffsetOldest
		c.Consumer.Offsets.AutoCommit.Enable = false
		c.Consumer.Return.Errors = true
		group, err := sarama.NewConsumerGroup([]string{p.Bootstrap}, p.Group, c)
		if err != nil {
			return "", fmt.Errorf("new consumer group: %w", err)
		}
		h := &saramaHandler{seen: newConsumed(want, forbidden)}
		cctx, cancel := context.WithCancel(ctx)
		h.finish = cancel
		// Commit and fetch errors arrive here (Consumer.Return.Errors).
		errsDone := make(chan struct{})
		go func() {
			defer close(errsDone)
			for err := range group.Errors() {
				h.mu.Lock()
				h.commitErr = errors.Join(h.commitErr, err)
				h.mu.Unlock()
			}
		}()
		var groupErr error
		for cctx.Err() == nil {
			if err := group.Consume(cctx, []string{p.Topic}, h); err != nil && cctx.Err() == nil {
				groupErr = fmt.Errorf("consume: %w", err)
				break
			}
		}
		cancel()
		closeErr := group.Close()
		<-errsDone
		h.mu.Lock()
		defer h.mu.Unlock()
		if err := errors.Join(groupErr, h.commitErr, h.seen.err(ctx), closeErr); err != nil {
			return "", err
		}
		if !h.committed {
			return "", errors.New("the offsets were not committed")
		}
		return h.seen.summary(), nil
	}
	idempotent := func(c *sarama.Config) {
		c.Producer.Idempotent = true
		c.Net.MaxOpenRequests = 1
	}
	out, res := runSteps(ctx, p, map[Step]stepFunc{
		StepProduce: func(ctx context.Context, p Plan) (string, error) {
			return acked(p.Records[StepProduce]), produce(p.Topic, p.Records[StepProduce], nil)
		},
		StepConsume: func(ctx context.Context, p Plan) (string, error) {
			return consume(ctx, p.Records[StepProduce], nil)
		},
		StepDenied: func(ctx context.Context, p Plan) (string, error) {
			return refused(produce(p.DeniedTopic, p.Records[StepDenied], nil))
		},
		StepIdempotent: func(ctx context.Context, p Plan) (string, error) {
			return acked(p.Records[StepIdempotent]), produce(p.TxTopic, p.Records[StepIdempotent], idempotent)
		},
		StepTransaction: func(ctx context.Context, p Plan) (string, error) {
			c, err := config()
			if err != nil {
				return "", err
			}
			idempotent(c)
			c.Producer.Transaction.ID = p.TransactionalID
			prod, err := sarama.NewSyncProducer([]string{p.Bootstrap}, c)
			if err != nil {
				return "", fmt.Errorf("new transactional producer: %w", err)
			}
			defer prod.Close()
			for _, txn := range []struct {
				values []string
				commit bool
			}{{p.Records[StepTransaction], true}, {p.AbortedRecords, false}} {
				if err := prod.BeginTxn(); err != nil {
					return "", fmt.Errorf("begin: %w", err)
				}
				if err := saramaSendErr(prod.SendMessages(saramaMessages(p.TxTopic, txn.values))); err != nil {
					return "", fmt.Errorf("send: %w", err)
				}
				end, what := prod.AbortTxn, "abort"
				if txn.commit {
					end, what = prod.CommitTxn, "commit"
				}
				if err := end(); err != nil {
					return "", fmt.Errorf("%s: %w", what, err)
				}
			}
			return fmt.Sprintf("committed %d records, aborted %d", len(p.Records[StepTransaction]), len(p.AbortedRecords)), nil
		},
		StepResume: func(ctx context.Context, p Plan) (string, error) {
			if err := produce(p.Topic, p.Records[StepResume], nil); err != nil {
				return "", err
			}
			return consume(ctx, p.Records[StepResume], p.Records[StepProduce])
		},
	})
	return out, res, nil
}

func saramaMessages(topic string, values []string) []*sarama.ProducerMessage {
	msgs := make([]*sarama.ProducerMessage, len(values))
	for i, v := range values {
		msgs[i] = &sarama.ProducerMessage{Topic: topic, Key: sarama.StringEncoder(v), Value: sarama.StringEncoder(v)}
	}
	return msgs
}

// saramaSendErr spells out the per-message errors of SendMessages, which
// its own message ("Failed to deliver N messages") leaves out.
func saramaSendErr(err error) error {
	var perrs sarama.ProducerErrors
	if !errors.As(err, &perrs) || len(perrs) == 0 {
		return err
	}
	return fmt.Errorf("%w: %w", err, perrs[0].Err)
}

// staticToken is an AccessTokenProvider that always hands out one token.
type staticToken string

func (t staticToken) Token() (*sarama.AccessToken, error) {
	return &sarama.AccessToken{Token: string(t)}, nil
}

// saramaHandler consumes until every wanted value is seen, then commits
// the marked offsets and ends the consumer loop.
type saramaHandler struct {
	finish context.CancelFunc

	mu        sync.Mutex
	seen      *consumed
	committed bool
	commitErr error // from the group's Errors channel
}

func (h *saramaHandler) Setup(sarama.ConsumerGroupSession) error   { return nil }
func (h *saramaHandler) Cleanup(sarama.ConsumerGroupSession) error { return nil }

func (h *saramaHandler) ConsumeClaim(sess sarama.ConsumerGroupSession, claim sarama.ConsumerGroupClaim) error {
	for {
		select {
		case <-sess.Context().Done():
			return nil
		case msg, ok := <-claim.Messages():
			if !ok {
				return nil
			}
			sess.MarkMessage(msg, "")
			h.mu.Lock()
			h.seen.add(string(msg.Value))
			done := h.seen.done() && !h.committed
			if done {
				// Commit while still in the session: synchronous with
				// AutoCommit off.
				sess.Commit()
				h.committed = true
			}
			h.mu.Unlock()
			if done {
				h.finish()
				return nil
			}
		}
	}
}
