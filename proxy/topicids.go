package proxy

import (
	"context"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"
	"go.uber.org/zap"
)

// topicNames maps topic ids to names, for the requests that name topics by
// id (Fetch v13+, Metadata, DeleteTopics, ...). It learns from every
// Metadata answer that passes through the proxy and, for an id it has not
// seen, asks the upstream cluster once, at most once a second.
type topicNames struct {
	s *Server

	mu     sync.RWMutex
	names  map[[16]byte]string
	lastAt time.Time // of the last lookup upstream
}

func newTopicNames(s *Server) *topicNames {
	return &topicNames{s: s, names: map[[16]byte]string{}}
}

// learn records the topics of a Metadata answer.
func (t *topicNames) learn(topics []kmsg.MetadataResponseTopic) {
	var fresh bool
	t.mu.RLock()
	for _, x := range topics {
		if x.Topic != nil && x.TopicID != ([16]byte{}) && t.names[x.TopicID] != *x.Topic {
			fresh = true
			break
		}
	}
	t.mu.RUnlock()
	if !fresh {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, x := range topics {
		if x.Topic != nil && x.TopicID != ([16]byte{}) {
			t.names[x.TopicID] = *x.Topic
		}
	}
}

// lookupInterval limits how often an unknown id makes the proxy ask
// upstream.
const lookupInterval = time.Second

// TopicName implements authz.TopicNames.
func (t *topicNames) TopicName(id [16]byte) (string, bool) {
	t.mu.RLock()
	name, ok := t.names[id]
	t.mu.RUnlock()
	if ok {
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
	t.mu.RLock()
	defer t.mu.RUnlock()
	name, ok = t.names[id]
	return name, ok
}
