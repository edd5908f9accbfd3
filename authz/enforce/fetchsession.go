package enforce

import (
	"slices"
	"sync"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/kafka-auth-proxy/kafka-auth-proxy/authz"
)

// Fetch sessions (KIP-227) let a consumer send only what changed since its
// last Fetch. A broker keeps them in a cache shared by every connection
// and every principal, under random 31-bit ids: a request that names a
// session id and its next epoch gets that session's partitions, whoever
// sends it, and a full request that names one closes it. Behind the proxy
// every client is the proxy's identity to the broker, so the broker's own
// check (Kafka re-authorizes every partition of the session on each fetch)
// is made for the proxy, not for the client. The proxy therefore lets a
// connection use only the sessions the broker created in answer to that
// connection's own full fetches, and only while the principal may still
// read every topic the session holds. Any other session id is answered
// FETCH_SESSION_ID_NOT_FOUND, and the client starts a new session with a
// full request, which is checked like any other.

// maxFetchSessions bounds the sessions one connection may hold. Clients
// use one per broker connection; one that opens more loses the oldest,
// which then gets FETCH_SESSION_ID_NOT_FOUND and starts over.
const maxFetchSessions = 8

// FetchSessions are the fetch sessions the broker created for one client
// connection. The reading goroutine checks and extends them as requests
// arrive; the writing goroutine records what each answer created or
// closed.
type FetchSessions struct {
	mu       sync.Mutex
	sessions []*fetchSession // oldest first
}

// fetchSession is one owned session. The writing goroutine creates it;
// once it is published in FetchSessions, only the reading goroutine reads
// or writes its fields.
type fetchSession struct {
	id int32
	// topics are the topics ever added to the session, by name. Topics a
	// request forgets stay listed: re-authorizing one that left the
	// session may only reset it needlessly.
	topics map[string]struct{}
	// replica sessions were authorized by ClusterAction, not per topic.
	replica bool
	// checked is the policy version under which every topic was last
	// authorized; 0 for a new session, whose first incremental request
	// checks them all again.
	checked uint64
}

// FetchExchange is one forwarded Fetch of a connection; its answer says
// which session the broker created, kept or closed. The zero
// FetchExchange tracks nothing.
type FetchExchange struct {
	c     *Client
	req   *kmsg.FetchRequest // as forwarded: its topics start a new session; nil: nothing to track
	fs    *fetchSession      // the session an incremental request uses
	named int32              // the session the forwarded request names
	full  bool
}

// fetchSessions returns the connection's sessions, allocating them on the
// first Fetch.
func (c *Client) fetchSessions() *FetchSessions {
	if c.sessions == nil {
		c.sessions = new(FetchSessions)
		c.fetch.c = c
	}
	return c.sessions
}

// TakeFetch returns the exchange of the Fetch the rule just forwarded,
// whose answer the proxy reports (FetchExchange.Answered), and forgets it.
// It tracks nothing after any other request.
func (c *Client) TakeFetch() FetchExchange {
	x := c.fetch
	c.fetch.req = nil
	return x
}

// Tracked reports whether the exchange's answer must be reported.
func (x FetchExchange) Tracked() bool { return x.req != nil }

// isReplica reports whether a Fetch comes from a follower broker.
func isReplica(r *kmsg.FetchRequest) bool {
	return r.ReplicaID >= 0 || r.Version >= 15 && r.ReplicaState.ID >= 0
}

// begin checks the session r names, before its topics are authorized, and
// starts the request's exchange in c. An incremental request on a session
// this connection does not own, or whose topics the principal may no
// longer read, gets code FETCH_SESSION_ID_NOT_FOUND. A full request that
// names another connection's session, which the broker would close, is
// edited to name none.
func (s *FetchSessions) begin(c *Client, r *kmsg.FetchRequest) (code int16, edited bool) {
	x := &c.fetch
	x.req = nil
	if r.Version < 7 {
		return 0, false // no sessions before v7
	}
	full := r.SessionEpoch == 0 || r.SessionEpoch == -1 // FetchMetadata.isFull
	var fs *fetchSession
	if r.SessionID != 0 {
		fs = s.lookup(r.SessionID)
	}
	switch {
	case full && r.SessionID != 0 && fs == nil:
		r.SessionID, edited = 0, true
	case full:
	case fs == nil:
		return kerr.FetchSessionIDNotFound.Code, false
	default:
		// A session's topics and check belong to the reading goroutine
		// once it is published: no lock is needed for them.
		if policy := c.Check.PolicyVersion(); fs.checked != policy {
			if !fs.authorized(c) {
				s.mu.Lock()
				s.remove(fs.id)
				s.mu.Unlock()
				return kerr.FetchSessionIDNotFound.Code, false
			}
			fs.checked = policy
		}
	}
	if full {
		fs = nil
	}
	x.req, x.fs, x.named, x.full = r, fs, r.SessionID, full
	return 0, edited
}

// lookup finds an owned session.
func (s *FetchSessions) lookup(id int32) *fetchSession {
	s.mu.Lock()
	fs := s.find(id)
	s.mu.Unlock()
	return fs
}

// authorized re-checks every topic of the session, as Kafka does on each
// fetch, under the current policy.
func (fs *fetchSession) authorized(c *Client) bool {
	if fs.replica {
		return c.Check.Authorize(authz.ResourceCluster, authz.ClusterName, authz.OpClusterAction)
	}
	for name := range fs.topics {
		if !c.Check.Authorize(authz.ResourceTopic, name, authz.OpRead) {
			return false
		}
	}
	return true
}

// addTopics records the topics a request adds to the session.
func (fs *fetchSession) addTopics(c *Client, topics []kmsg.FetchRequestTopic) {
	for i := range topics {
		if name, ok := c.topicName(topics[i].Topic, topics[i].TopicID); ok {
			if _, known := fs.topics[name]; !known {
				fs.topics[name] = struct{}{}
			}
		}
	}
}

// Answered records the broker's answer to the exchange's request: its
// top-level error code and the session id it names. Call it from the
// response path, in request order.
func (x FetchExchange) Answered(errorCode int16, sessionID int32) {
	if x.req == nil {
		return
	}
	s := x.c.sessions
	s.mu.Lock()
	defer s.mu.Unlock()
	if x.full {
		// A full request closes the session it names, whatever else
		// happens; with no error the broker may have begun a new one.
		if x.named != 0 {
			s.remove(x.named)
		}
		if errorCode == 0 && sessionID != 0 {
			s.add(x, sessionID)
		}
		return
	}
	// An incremental answer without a session id means the broker closed
	// the session; FETCH_SESSION_ID_NOT_FOUND that it no longer has it (and
	// may give the id to someone else's session later). After other errors
	// the session lives on, and the client may close it.
	if sessionID == 0 || errorCode == kerr.FetchSessionIDNotFound.Code {
		s.remove(x.named)
	}
}

// add records a session the broker created for the full request of x.
func (s *FetchSessions) add(x FetchExchange, id int32) {
	s.remove(id)
	if len(s.sessions) == maxFetchSessions {
		s.sessions = slices.Delete(s.sessions, 0, 1)
	}
	fs := &fetchSession{id: id, replica: isReplica(x.req), topics: make(map[string]struct{}, len(x.req.Topics))}
	fs.addTopics(x.c, x.req.Topics)
	s.sessions = append(s.sessions, fs)
}

func (s *FetchSessions) find(id int32) *fetchSession {
	if id == 0 {
		return nil
	}
	for _, fs := range s.sessions {
		if fs.id == id {
			return fs
		}
	}
	return nil
}

func (s *FetchSessions) remove(id int32) {
	s.sessions = slices.DeleteFunc(s.sessions, func(fs *fetchSession) bool { return fs.id == id })
}
