package proxy

import (
	"errors"
	"fmt"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// padTag numbers the unknown tagged field that pads a rewritten tag section
// to its original size. Clients skip tags they do not know (KIP-482), and
// tags are defined per version: at the versions the proxy speaks, the Fetch
// response uses only tag 0. Below 128 the number takes one byte, so the
// smallest padding costs two.
const padTag = 100

// errTrailingTags reports Fetch NodeEndpoints that cannot be rewritten in
// place. The connection is closed rather than let an upstream address
// through.
var errTrailingTags = errors.New("cannot rewrite NodeEndpoints in place")

// rewriteFetchTags rewrites the top-level tag section of a Fetch response
// (its NodeEndpoints) to the proxy's addresses, in place: section holds
// exactly the section's encoding, resp its decoding. The section keeps its
// size, since the response size has already been sent: a shorter one is
// padded with an unknown tag; one that would grow (the advertised host is
// longer than the upstream one) or shrink by a single byte drops
// NodeEndpoints instead, which makes clients refresh metadata as they do
// with brokers that predate KIP-951.
func rewriteFetchTags(resp *kmsg.FetchResponse, section []byte, a advertiser) error {
	if len(resp.Brokers) == 0 {
		return nil
	}
	moved := make([]kmsg.FetchResponseBroker, len(resp.Brokers))
	for i, b := range resp.Brokers {
		b.Host, b.Port = a.advertise(b.NodeID, b.Host, b.Port)
		moved[i] = b
	}
	fitted, ok := fitFetchTagSection(resp.Version, moved, resp.UnknownTags, len(section))
	if !ok {
		fitted, ok = fitFetchTagSection(resp.Version, nil, resp.UnknownTags, len(section))
	}
	if !ok {
		return fmt.Errorf("%w: no encoding of %d bytes", errTrailingTags, len(section))
	}
	copy(section, fitted)
	return nil
}

// fetchTagSection encodes the top-level tag section of a Fetch response.
func fetchTagSection(version int16, brokers []kmsg.FetchResponseBroker, unknown kmsg.Tags) []byte {
	empty := kmsg.FetchResponse{Version: version}
	prefix := len(empty.AppendTo(nil)) - 1 // an empty tag section is one byte
	r := kmsg.FetchResponse{Version: version, Brokers: brokers, UnknownTags: unknown}
	return r.AppendTo(nil)[prefix:]
}

// fitFetchTagSection encodes the tag section padded to exactly want bytes,
// with one or two padding tags, or reports that it cannot.
func fitFetchTagSection(version int16, brokers []kmsg.FetchResponseBroker, unknown kmsg.Tags, want int) ([]byte, bool) {
	if s := fetchTagSection(version, brokers, unknown); len(s) == want {
		return s, true
	} else if len(s) > want {
		return nil, false
	}
	// Each padding tag costs its number, its length and its bytes; varint
	// boundaries make some sizes unreachable with one tag, so try two.
	for pads := 1; pads <= 2; pads++ {
		padded := func(n int) []byte {
			var t kmsg.Tags
			unknown.Each(func(k uint32, v []byte) { t.Set(k, v) })
			t.Set(padTag, make([]byte, n))
			if pads == 2 {
				t.Set(padTag+1, nil)
			}
			return fetchTagSection(version, brokers, t)
		}
		base := len(padded(0))
		for n := max(0, want-base-4); n <= want-base; n++ {
			if s := padded(n); len(s) == want {
				return s, true
			}
		}
	}
	return nil, false
}
