package authz

import (
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// Checker answers authorization questions for one connection's principal.
// The proxy implements it on top of a Subject, adding metrics and audit
// events.
type Checker interface {
	// Authorize checks an operation the request performs. A denial is
	// audited.
	Authorize(rt ResourceType, name string, op Operation) bool
	// Filter checks whether an item may appear in a listing (an
	// all-topics Metadata answer, ListGroups). Items left out are not
	// audited, as Kafka does not log them either.
	Filter(rt ResourceType, name string, op Operation) bool
	// AuthorizeAny reports whether op is allowed on at least one resource
	// of type rt, as Kafka's authorizeByResourceType does (InitProducerId
	// for idempotence needs Write on some topic).
	AuthorizeAny(rt ResourceType, op Operation) bool
}

// TopicNames resolves topic ids, which Fetch v13+, Metadata and other
// newer requests carry instead of names.
type TopicNames interface {
	TopicName(id [16]byte) (string, bool)
}

// Context is what a rule needs besides the request.
type Context struct {
	Check  Checker
	Topics TopicNames
	// FetchSessionStale, when it returns true, makes an incremental Fetch
	// (a fetch session's follow-up request, whose partitions were
	// authorized when the session began) answer FETCH_SESSION_ID_NOT_FOUND
	// so that the client starts over with a full request that is checked
	// against the current policy. full reports whether the request is a
	// full one; the proxy records the policy version it was checked on.
	FetchSessionStale func(full bool) bool
}

// Verdict is the outcome of enforcing the policy on one request.
type Verdict struct {
	// Answer, when set, is the complete answer: nothing is forwarded.
	Answer kmsg.Response
	// Edited: items were removed from the request, which must be
	// re-encoded before it is forwarded.
	Edited bool
	// Patch, when set, edits the upstream's response before the client
	// sees it: it merges back the errors of removed items, or filters a
	// listing. It runs on the response path, possibly while later requests
	// of the connection are enforced, so it may call only Check.Filter and
	// Topics, which must be safe for that.
	Patch func(kmsg.Response)
	// Drop: nothing is forwarded and nothing answered (a Produce with
	// acks=0 whose every topic was denied).
	Drop bool
	// Close closes the connection once the request is handled: a Produce
	// with acks=0 has no response to carry its errors, so, like a broker,
	// the proxy closes the connection.
	Close bool
}

// Enforce runs req through the rule of its API. ok is false when the API
// has no rule: it must be refused.
func Enforce(ctx *Context, req kmsg.Request) (v Verdict, ok bool) {
	r := ruleFor(req.Key())
	if r == nil {
		return Verdict{}, false
	}
	if r.check == nil {
		return Verdict{}, true
	}
	return r.check(ctx, req), true
}

// Enforced reports whether the API has a rule, and so may be advertised
// and forwarded.
func Enforced(key int16) bool { return ruleFor(key) != nil }

// Error codes of denials.
var (
	errTopic    = kerr.TopicAuthorizationFailed.Code
	errGroup    = kerr.GroupAuthorizationFailed.Code
	errCluster  = kerr.ClusterAuthorizationFailed.Code
	errTxnID    = kerr.TransactionalIDAuthorizationFailed.Code
	errUnknown  = kerr.UnknownTopicOrPartition.Code
	errUnknownT = kerr.UnknownTopicID.Code
)

// split keeps, in order, the items allow accepts, and returns the others.
// When every item is allowed it returns items itself and allocates
// nothing: the common case costs one check per item.
func split[T any](items []T, allow func(*T) bool) (kept, denied []T) {
	for i := range items {
		if allow(&items[i]) {
			continue
		}
		kept = append(make([]T, 0, len(items)-1), items[:i]...)
		denied = append(denied, items[i])
		for j := i + 1; j < len(items); j++ {
			if allow(&items[j]) {
				kept = append(kept, items[j])
			} else {
				denied = append(denied, items[j])
			}
		}
		return kept, denied
	}
	return items, nil
}

// answer returns an empty response to req, of the same version, edited by
// fill.
func answer(req kmsg.Request, fill func(kmsg.Response)) Verdict {
	resp := req.ResponseKind()
	if d, ok := resp.(interface{ Default() }); ok {
		d.Default() // the protocol's defaults, such as -1 for unknown ids
	}
	resp.SetVersion(req.GetVersion())
	if fill != nil {
		fill(resp)
	}
	return Verdict{Answer: resp}
}

// partialVerdict is the verdict once denied items were removed from a
// request: nothing denied forwards the request unchanged; everything
// denied answers locally with the merged errors; otherwise the edited
// request is forwarded and the errors merged into the response.
func partialVerdict(req kmsg.Request, anyDenied, anyKept bool, merge func(kmsg.Response)) Verdict {
	switch {
	case !anyDenied:
		return Verdict{}
	case !anyKept:
		return answer(req, merge)
	default:
		return Verdict{Edited: true, Patch: merge}
	}
}

// patchedVerdict is partialVerdict for a rule whose patch is needed even
// when nothing was denied, because it also recomputes fields of the
// broker's answer (authorized operations, hidden configs).
func patchedVerdict(req kmsg.Request, anyDenied, anyKept bool, merge func(kmsg.Response)) Verdict {
	if !anyDenied {
		return Verdict{Patch: merge}
	}
	return partialVerdict(req, true, anyKept, merge)
}

// topicName is the name of a topic named either way; ok is false for an
// id the proxy cannot resolve.
func (c *Context) topicName(name string, id [16]byte) (string, bool) {
	if name != "" || id == ([16]byte{}) {
		return name, true
	}
	if c.Topics == nil {
		return "", false
	}
	return c.Topics.TopicName(id)
}

// topicCode is the error for a topic the principal may not op: 29, or
// UNKNOWN_TOPIC_ID for an id the proxy cannot resolve. 0 means allowed.
func (c *Context) topicCode(name string, id [16]byte, op Operation) int16 {
	n, ok := c.topicName(name, id)
	switch {
	case !ok:
		return errUnknownT
	case !c.Check.Authorize(ResourceTopic, n, op):
		return errTopic
	}
	return 0
}

func strp(s string) *string { return &s }
