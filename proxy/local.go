package proxy

import (
	"fmt"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// localHandler answers a request inside the proxy. It returns the response
// body (without header) and whether to close the connection after writing
// it; an error closes the connection without an answer.
type localHandler func(c *clientConn, req kmsg.Request) (body []byte, closeAfter bool, err error)

// localHandlers lists the APIs the proxy answers itself, by key. Nothing
// about them is forwarded upstream.
var localHandlers = func() (t [kmsg.MaxKey + 1]localHandler) {
	t[kmsg.ApiVersions] = handleApiVersions
	t[kmsg.SASLHandshake] = handleSASLHandshakeNoAuth
	return t
}()

// handleApiVersions answers from the upstream broker's own ApiVersions
// answer, narrowed to what the proxy supports.
func handleApiVersions(c *clientConn, req kmsg.Request) ([]byte, bool, error) {
	r := req.(*kmsg.ApiVersionsRequest)
	upstream := c.upstreamVersions()
	if upstream == nil {
		if err := c.ensureUpstream(); err != nil {
			return nil, false, fmt.Errorf("api versions: %w", err)
		}
		upstream = c.up.versions
	}
	// KIP-1242: a client that names the broker and cluster it expects to
	// reach learns when it reached another one.
	if r.Version >= 5 && r.ClusterID != nil && r.NodeID >= 0 && c.node != bootstrapNode {
		c.s.mu.RLock()
		cluster := c.s.clusterID
		c.s.mu.RUnlock()
		if r.NodeID != c.node || (cluster != nil && *cluster != *r.ClusterID) {
			resp := kmsg.NewPtrApiVersionsResponse()
			resp.Version = r.Version
			resp.ErrorCode = kerr.RebootstrapRequired.Code
			return resp.AppendTo(nil), false, nil
		}
	}
	return answerApiVersions(r.Version, upstream), false, nil
}

// upstreamVersions returns this connection's upstream ApiVersions, or the
// cached answer of the broker behind its listener.
func (c *clientConn) upstreamVersions() *kmsg.ApiVersionsResponse {
	if c.up != nil {
		return c.up.versions
	}
	return c.s.cachedVersions(c.node)
}

// handleSASLHandshakeNoAuth answers a client that tries SASL against a proxy
// running without client authentication: no mechanism is enabled.
func handleSASLHandshakeNoAuth(_ *clientConn, req kmsg.Request) ([]byte, bool, error) {
	resp := kmsg.NewPtrSASLHandshakeResponse()
	resp.Version = req.GetVersion()
	resp.ErrorCode = kerr.UnsupportedSaslMechanism.Code
	resp.SupportedMechanisms = []string{}
	return resp.AppendTo(nil), false, nil
}
