// Package enforce says what each Kafka request needs from the policy, the
// way a broker's KafkaApis does, and how a denial is reported. A Rule takes
// one decoded request of an authenticated client and returns a Verdict:
// forward the request, forward it with the denied items removed (their
// errors merged into the broker's answer), answer it in the proxy, or drop
// it. The proxy's API registry names each API's rule.
//
// Behind the proxy every client reaches the brokers as the proxy's own
// identity. Wherever a broker filters, expands, resolves or remembers
// something by principal, a rule applies the client's permissions itself:
// to what the broker will act on in the request (a topic id rather than
// the name beside it), to the answer (listings, cursors, assignments,
// authorized operations, configs that name brokers), and to what the
// broker remembers between requests (fetch sessions).
package enforce

import (
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/kafka-auth-proxy/kafka-auth-proxy/authz"
)

// Checker answers authorization questions for one connection's principal.
// The proxy implements it on top of an authz.Subject, adding metrics and
// audit events.
type Checker interface {
	// Authorize checks an operation the request performs. A denial is
	// audited.
	Authorize(rt authz.ResourceType, name string, op authz.Operation) bool
	// Visible checks whether an item may appear in an answer (an
	// all-topics Metadata answer, ListGroups, a transaction's
	// partitions). Items left out are not audited, as Kafka does not log
	// them either.
	Visible(rt authz.ResourceType, name string, op authz.Operation) bool
	// AuthorizeAny reports whether op is allowed on at least one resource
	// of type rt, as Kafka's authorizeByResourceType does (InitProducerId
	// for idempotence needs Write on some topic).
	AuthorizeAny(rt authz.ResourceType, op authz.Operation) bool
	// PolicyVersion is the version of the policy the answers come from.
	PolicyVersion() uint64
	// Reserved reports whether a topic is closed to every client, super
	// users included (authz.Table.Reserved): rules whose grant does not
	// come from the topic (Create on the cluster, a replica's
	// ClusterAction) must still refuse it.
	Reserved(topic string) bool
}

// Topics resolves topic ids, which Fetch v13+, Metadata and other newer
// requests carry instead of names, and lists the cluster's topics.
type Topics interface {
	TopicName(id [16]byte) (string, bool)
	// AllTopics lists every topic of the cluster, as the proxy's own
	// identity sees them; the caller filters them.
	AllTopics() ([]string, error)
}

// Client is what a rule knows of the connection whose request it
// enforces. One Client serves one connection: rules run on its reading
// goroutine, and response patches on its writing goroutine, so patches
// call only Check.Visible and Topics.TopicName, which must be safe for
// that.
type Client struct {
	Check  Checker
	Topics Topics
	// sessions are the fetch sessions the broker created for this
	// connection; allocated by the first Fetch.
	sessions *FetchSessions
	// fetch is the last forwarded Fetch's exchange, until TakeFetch.
	fetch FetchExchange
}

// Rule enforces the policy on one request of an API. It may edit the
// request; the verdict says whether it did.
type Rule func(c *Client, req kmsg.Request) Verdict

// None is the rule of an API that needs no permission, as on a broker:
// ApiVersions, the SASL APIs and client telemetry (KIP-714).
func None(*Client, kmsg.Request) Verdict { return Forward() }

// Action is what the proxy does with a request.
type Action uint8

const (
	// actionInvalid is the zero Verdict's: the proxy refuses the request.
	actionInvalid Action = iota
	// ActForward forwards the request as the client sent it.
	ActForward
	// ActForwardEdited forwards the request the rule edited: denied items
	// were removed, or a field the broker would misuse was reset. It must
	// be re-encoded.
	ActForwardEdited
	// ActAnswer answers the request in the proxy; nothing is forwarded.
	ActAnswer
	// ActDrop forwards nothing and answers nothing, then closes the
	// connection: a Produce with acks=0 whose every topic was denied has
	// no response to carry its errors, so, as a broker does, the proxy
	// closes the connection.
	ActDrop
)

// Verdict is the outcome of enforcing the policy on one request. It is
// built only by the constructors below, so every combination of action,
// answer, patch and close is one of theirs; the zero Verdict is invalid
// and makes the proxy refuse the request.
type Verdict struct {
	action     Action
	answer     kmsg.Response
	patch      func(kmsg.Response)
	closeAfter bool
}

// Forward forwards the request unchanged and its answer unchanged.
func Forward() Verdict { return Verdict{action: ActForward} }

// ForwardPatched forwards the request unchanged and edits the broker's
// answer with patch before the client sees it: it filters a listing, or
// recomputes fields the broker computed for the proxy's identity.
func ForwardPatched(patch func(kmsg.Response)) Verdict {
	return Verdict{action: ActForward, patch: patch}
}

// ForwardEdited forwards the edited request and edits the broker's answer
// with patch (which may be nil), usually to merge back the errors of the
// removed items.
func ForwardEdited(patch func(kmsg.Response)) Verdict {
	return Verdict{action: ActForwardEdited, patch: patch}
}

// ForwardEditedThenClose forwards the edited request, which expects no
// answer, then closes the connection: a Produce with acks=0 of which some
// topics were denied, whose errors no response can carry.
func ForwardEditedThenClose() Verdict {
	return Verdict{action: ActForwardEdited, closeAfter: true}
}

// Answer answers the request with resp; nothing is forwarded.
func Answer(resp kmsg.Response) Verdict { return Verdict{action: ActAnswer, answer: resp} }

// DropAndClose forwards and answers nothing, and closes the connection.
func DropAndClose() Verdict { return Verdict{action: ActDrop, closeAfter: true} }

// Action is what to do with the request.
func (v Verdict) Action() Action { return v.action }

// Answer is the local answer of an ActAnswer verdict.
func (v Verdict) Answer() kmsg.Response { return v.answer }

// Patch edits the broker's answer before the client sees it; nil when the
// answer passes unchanged. It runs on the response path, possibly while
// later requests of the connection are enforced.
func (v Verdict) Patch() func(kmsg.Response) { return v.patch }

// Valid reports whether the verdict was built by a constructor; the proxy
// refuses a request whose rule returned the zero Verdict.
func (v Verdict) Valid() bool { return v.action != actionInvalid }

// CloseAfter reports whether the connection closes once the request is
// handled.
func (v Verdict) CloseAfter() bool { return v.closeAfter }

// Error codes of denials.
var (
	errTopic    = kerr.TopicAuthorizationFailed.Code
	errGroup    = kerr.GroupAuthorizationFailed.Code
	errCluster  = kerr.ClusterAuthorizationFailed.Code
	errTxnID    = kerr.TransactionalIDAuthorizationFailed.Code
	errUnknown  = kerr.UnknownTopicOrPartition.Code
	errUnknownT = kerr.UnknownTopicID.Code
	errInvalid  = kerr.InvalidRequest.Code
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

// emptyAnswer returns an empty response to req, of the same version, with
// the protocol's defaults (such as -1 for unknown ids), edited by fill.
func emptyAnswer(req kmsg.Request, fill func(kmsg.Response)) kmsg.Response {
	resp := req.ResponseKind()
	if d, ok := resp.(interface{ Default() }); ok {
		d.Default()
	}
	resp.SetVersion(req.GetVersion())
	if fill != nil {
		fill(resp)
	}
	return resp
}

// answer answers req locally with an empty response edited by fill.
func answer(req kmsg.Request, fill func(kmsg.Response)) Verdict {
	return Answer(emptyAnswer(req, fill))
}

// partialVerdict is the verdict once denied items were removed from a
// request: nothing denied forwards the request unchanged; everything
// denied answers locally with the merged errors; otherwise the edited
// request is forwarded and the errors merged into the response.
func partialVerdict(req kmsg.Request, anyDenied, anyKept bool, merge func(kmsg.Response)) Verdict {
	switch {
	case !anyDenied:
		return Forward()
	case !anyKept:
		return answer(req, merge)
	default:
		return ForwardEdited(merge)
	}
}

// patchedVerdict is partialVerdict for a rule whose patch is needed even
// when nothing was denied, because it also recomputes or filters fields of
// the broker's answer.
func patchedVerdict(req kmsg.Request, anyDenied, anyKept bool, merge func(kmsg.Response)) Verdict {
	if !anyDenied {
		return ForwardPatched(merge)
	}
	return partialVerdict(req, true, anyKept, merge)
}

// forwardWith forwards the request, edited or not, and patches its answer.
func forwardWith(edited bool, patch func(kmsg.Response)) Verdict {
	if edited {
		return ForwardEdited(patch)
	}
	return ForwardPatched(patch)
}

// topicName is the name of the topic a broker acts on for an item that
// names a topic by name, by id, or both: the id whenever it is set, as a
// broker does. ok is false for an id the proxy cannot resolve.
func (c *Client) topicName(name string, id [16]byte) (string, bool) {
	if id == ([16]byte{}) {
		return name, true
	}
	if c.Topics == nil {
		return "", false
	}
	return c.Topics.TopicName(id)
}

// topicCode is the error for a topic the principal may not op: 29, or
// UNKNOWN_TOPIC_ID for an id the proxy cannot resolve. 0 means allowed.
func (c *Client) topicCode(name string, id [16]byte, op authz.Operation) int16 {
	n, ok := c.topicName(name, id)
	switch {
	case !ok:
		return errUnknownT
	case !c.Check.Authorize(authz.ResourceTopic, n, op):
		return errTopic
	}
	return 0
}

func strp(s string) *string { return &s }
