package proxy

import (
	"context"
	"maps"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"
	"go.uber.org/zap"
)

// topicNames maps topic ids to names, for the requests that name topics by
// id (Fetch v13+, Metadata, DeleteTopics, ...). It learns from every
// Metadata answer that passes through the proxy and, for an id it has not
// seen, asks the upstream cluster, at most once a second.
//
// Lookups are on the Fetch hot path, so the map is immutable and replaced
// whole (copy on write) when a new topic appears: a lookup takes no lock.
type topicNames struct {
	s     *Server
	names atomic.Pointer[map[[16]byte]string]

	mu     sync.Mutex // serialises writers and lookups upstream
	lastAt time.Time  // of the last lookup upstream
}

func newTopicNames(s *Server) *topicNames {
	t := &topicNames{s: s}
	t.names.Store(&map[[16]byte]string{})
	return t
}

// learn records the topics of a Metadata answer.
func (t *topicNames) learn(topics []kmsg.MetadataResponseTopic) {
	if !t.fresh(*t.names.Load(), topics) {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	cur := *t.names.Load()
	if !t.fresh(cur, topics) {
		return
	}
	next := maps.Clone(cur)
	for _, x := range topics {
		if x.Topic != nil && x.TopicID != ([16]byte{}) {
			next[x.TopicID] = *x.Topic
		}
	}
	t.names.Store(&next)
}

// fresh reports whether topics name an id that m does not map, or maps to
// another name.
func (t *topicNames) fresh(m map[[16]byte]string, topics []kmsg.MetadataResponseTopic) bool {
	for _, x := range topics {
		if x.Topic != nil && x.TopicID != ([16]byte{}) && m[x.TopicID] != *x.Topic {
			return true
		}
	}
	return false
}

// lookupInterval limits how often an unknown id makes the proxy ask
// upstream.
const lookupInterval = time.Second

// TopicName implements enforce.Topics.
func (t *topicNames) TopicName(id [16]byte) (string, bool) {
	if name, ok := (*t.names.Load())[id]; ok {
		return name, true
	}
	t.mu.Lock()
	if time.Since(t.lastAt) < lookupInterval {
		t.mu.Unlock()
		return "", false
	}
	t.lastAt = time.Now()
	t.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), t.s.dialer.timeout)
	defer cancel()
	topics, err := t.s.allTopics(ctx)
	if err != nil {
		t.s.log.Warn("resolving a topic id: upstream metadata failed", zap.Error(err))
		return "", false
	}
	t.learn(topics)
	name, ok := (*t.names.Load())[id]
	return name, ok
}

// AllTopics implements enforce.Topics: it asks the upstream cluster, and
// learns the ids of the answer.
func (t *topicNames) AllTopics() ([]string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), t.s.dialer.timeout)
	defer cancel()
	topics, err := t.s.allTopics(ctx)
	if err != nil {
		return nil, err
	}
	t.learn(topics)
	names := make([]string, 0, len(topics))
	for _, x := range topics {
		if x.Topic != nil && x.ErrorCode == 0 {
			names = append(names, *x.Topic)
		}
	}
	return names, nil
}
