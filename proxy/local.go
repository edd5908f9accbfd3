package proxy

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/twmb/franz-go/pkg/kbin"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/kafka-auth-proxy/kafka-auth-proxy/authn"
)

// localHandler answers a request inside the proxy (the registry's local
// column). It returns the response body (without header) and whether to
// close the connection after writing it; an error closes the connection
// without an answer.
type localHandler func(c *clientConn, req kmsg.Request) (body []byte, closeAfter bool, err error)

// handleApiVersions answers from the upstream broker's own ApiVersions
// answer, narrowed to what the proxy supports.
func handleApiVersions(c *clientConn, req kmsg.Request) ([]byte, bool, error) {
	r := req.(*kmsg.ApiVersionsRequest)
	upstream := c.upstreamVersions()
	if upstream == nil && c.sess != nil && !c.sess.Authenticated() {
		// Before a login nothing is sent upstream for this client: ask
		// over the proxy's own control connection.
		ctx, cancel := context.WithTimeout(context.Background(), c.s.dialer.timeout)
		err := c.s.refreshMetadata(ctx)
		cancel()
		if upstream = c.upstreamVersions(); upstream == nil {
			return nil, false, fmt.Errorf("api versions: upstream unavailable: %w", err)
		}
	}
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
	return c.s.apis.answerApiVersions(r.Version, upstream), false, nil
}

// upstreamVersions returns this connection's upstream ApiVersions, or the
// cached answer of the broker behind its listener.
func (c *clientConn) upstreamVersions() *kmsg.ApiVersionsResponse {
	if c.up != nil {
		return c.up.versions
	}
	return c.s.cachedVersions(c.node)
}

// handleSASLHandshake selects the client's SASL mechanism. A refused
// handshake (an unsupported mechanism, another mechanism than the login's
// on re-authentication, or any handshake after a failed login) is answered
// with the enabled list, then the connection closes, as a broker does.
// After a v0 handshake the client sends bare SASL tokens.
func handleSASLHandshake(c *clientConn, req kmsg.Request) ([]byte, bool, error) {
	r := req.(*kmsg.SASLHandshakeRequest)
	resp := kmsg.NewPtrSASLHandshakeResponse()
	resp.Version = r.Version
	if c.sess == nil {
		// Client authentication is off: no mechanism is enabled.
		resp.ErrorCode = kerr.UnsupportedSaslMechanism.Code
		resp.SupportedMechanisms = []string{}
		return resp.AppendTo(nil), true, nil
	}
	ctx, cancel := c.loginContext()
	enabled, code := c.sess.Handshake(ctx, r.Mechanism)
	cancel()
	resp.SupportedMechanisms = enabled
	if code != authn.CodeOK {
		resp.ErrorCode = saslErrorCodes[code]
		return resp.AppendTo(nil), true, nil
	}
	c.rawSASL = r.Version == 0
	return resp.AppendTo(nil), false, nil
}

// saslErrorCodes are the Kafka errors of refused SASL steps.
var saslErrorCodes = map[authn.FailureCode]int16{
	authn.CodeAuthenticationFailed: kerr.SaslAuthenticationFailed.Code,
	authn.CodeIllegalState:         kerr.IllegalSaslState.Code,
	authn.CodeUnsupportedMechanism: kerr.UnsupportedSaslMechanism.Code,
}

// loginContext bounds one login step by the authentication timeout.
func (c *clientConn) loginContext() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), c.s.cfg.AuthTimeout)
}

// handleSASLAuthenticate runs one step of the client's login. A failed
// login is answered with a generic message and the connection closes.
func handleSASLAuthenticate(c *clientConn, req kmsg.Request) ([]byte, bool, error) {
	r := req.(*kmsg.SASLAuthenticateRequest)
	resp := kmsg.NewPtrSASLAuthenticateResponse()
	resp.Version = r.Version
	resp.SASLAuthBytes = []byte{}
	if c.sess == nil {
		msg := "SASL authentication is not enabled on this listener"
		resp.ErrorCode = kerr.IllegalSaslState.Code
		resp.ErrorMessage = &msg
		return resp.AppendTo(nil), true, nil
	}
	step := c.authenticate(r.Version, r.SASLAuthBytes)
	if step.Failed {
		resp.ErrorCode = saslErrorCodes[step.Code]
		resp.ErrorMessage = &step.Message
		return resp.AppendTo(nil), true, nil
	}
	if step.Response != nil {
		resp.SASLAuthBytes = step.Response
	}
	resp.SessionLifetimeMillis = step.Lifetime.Milliseconds()
	return resp.AppendTo(nil), false, nil
}

// handleRawSASL answers a bare SASL token sent after a v0 handshake. A
// failed login closes the connection without an answer: the raw protocol
// has no way to carry an error.
func (c *clientConn) handleRawSASL(token []byte) (*pending, error) {
	step := c.authenticate(0, token)
	if step.Failed {
		return nil, errors.New("SASL authentication failed (raw v0 tokens): closing")
	}
	if step.Complete {
		c.rawSASL = false
	}
	out := make([]byte, 0, 4+len(step.Response))
	out = kbin.AppendInt32(out, int32(len(step.Response)))
	// Raw tokens are accounted as SaslAuthenticate in the metrics.
	return &pending{spec: c.s.apis.spec(kmsg.SASLAuthenticate), start: time.Now(), local: append(out, step.Response...)}, nil
}

// authenticate runs a login step, bounded by the authentication timeout,
// and stops the login timer once the client is in.
func (c *clientConn) authenticate(version int16, msg []byte) authn.Step {
	ctx, cancel := c.loginContext()
	defer cancel()
	step := c.sess.Authenticate(ctx, version, msg)
	if step.Complete {
		c.authTimer.Stop()
	}
	return step
}
