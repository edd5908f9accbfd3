package proxy

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
	"github.com/twmb/franz-go/pkg/sasl"
	"github.com/twmb/franz-go/pkg/sasl/plain"
	"github.com/twmb/franz-go/pkg/sasl/scram"
)

// proxyClientID is the client id of requests the proxy makes on its own
// behalf (handshakes, metadata refreshes).
const proxyClientID = "kafka-auth-proxy"

// dialer opens authenticated connections to upstream brokers as the proxy's
// own identity.
type dialer struct {
	tls     *tls.Config
	mech    sasl.Mechanism
	timeout time.Duration
	maxResp int
}

func newDialer(cfg Upstream, maxResponseBytes int) (*dialer, error) {
	d := &dialer{timeout: cfg.DialTimeout, maxResp: maxResponseBytes}
	if t := cfg.TLS; t != nil {
		tc, err := upstreamTLSConfig(t)
		if err != nil {
			return nil, err
		}
		d.tls = tc
	}
	if s := cfg.SASL; s != nil {
		switch strings.ToUpper(s.Mechanism) {
		case UpstreamPlain:
			d.mech = plain.Auth{User: s.Username, Pass: s.Password}.AsMechanism()
		case UpstreamScramSHA256:
			d.mech = scram.Auth{User: s.Username, Pass: s.Password}.AsSha256Mechanism()
		case UpstreamScramSHA512:
			d.mech = scram.Auth{User: s.Username, Pass: s.Password}.AsSha512Mechanism()
		default:
			return nil, fmt.Errorf("upstream.sasl.mechanism %q is not supported", s.Mechanism)
		}
	}
	return d, nil
}

// upstreamConn is one connection to an upstream broker. During the
// handshake and on control connections the proxy sends its own requests
// through roundTrip; on a client's connection it then carries the client's
// frames unchanged.
type upstreamConn struct {
	addr string
	nc   net.Conn
	// in and out buffer the connection, each held only while bytes pass.
	// On a client's connection, in belongs to its writing goroutine and
	// out to its reading one.
	in  connReader
	out connWriter
	// versions is the broker's ApiVersions answer from the handshake.
	versions *kmsg.ApiVersionsResponse
	maxResp  int
	corr     int32
	fmt      *kmsg.RequestFormatter
	// mech and reauthAt support KIP-368: a broker with
	// connections.max.reauth.ms closes a connection whose SASL session
	// has expired, so the proxy logs in again before then.
	mech     sasl.Mechanism
	timeout  time.Duration
	reauthAt time.Time
}

// dial connects to addr, learns its API versions and, when configured,
// authenticates with SASL. ctx bounds the whole handshake.
func (d *dialer) dial(ctx context.Context, addr string) (*upstreamConn, error) {
	ctx, cancel := context.WithTimeout(ctx, d.timeout)
	defer cancel()
	var nc net.Conn
	var err error
	if d.tls != nil {
		tc := d.tls
		if tc.ServerName == "" {
			tc = tc.Clone()
			tc.ServerName, _, _ = net.SplitHostPort(addr)
		}
		nc, err = (&tls.Dialer{Config: tc}).DialContext(ctx, "tcp", addr)
	} else {
		nc, err = (&net.Dialer{}).DialContext(ctx, "tcp", addr)
	}
	if err != nil {
		return nil, fmt.Errorf("upstream %s: dial: %w", addr, err)
	}
	if tcp, ok := nc.(*net.TCPConn); ok {
		_ = tcp.SetNoDelay(true)
	}
	u := &upstreamConn{
		addr:    addr,
		nc:      nc,
		in:      connReader{src: nc},
		out:     connWriter{dst: nc},
		maxResp: d.maxResp,
		fmt:     kmsg.NewRequestFormatter(kmsg.FormatterClientID(proxyClientID)),
		mech:    d.mech,
		timeout: d.timeout,
	}
	if err := u.handshake(ctx, d.mech); err != nil {
		nc.Close()
		return nil, fmt.Errorf("upstream %s: %w", addr, err)
	}
	return u, nil
}

func (u *upstreamConn) handshake(ctx context.Context, mech sasl.Mechanism) error {
	if dl, ok := ctx.Deadline(); ok {
		_ = u.nc.SetDeadline(dl)
		defer u.nc.SetDeadline(time.Time{})
	}
	if err := u.fetchVersions(); err != nil {
		return fmt.Errorf("api versions: %w", err)
	}
	if mech == nil {
		return nil
	}
	if err := u.authenticate(ctx, mech); err != nil {
		return fmt.Errorf("sasl %s: %w", mech.Name(), err)
	}
	return nil
}

// fetchVersions asks for v3 (which carries feature flags) and falls back
// to v0 as KIP-511 prescribes for brokers that do not know v3.
func (u *upstreamConn) fetchVersions() error {
	for _, v := range []int16{3, 0} {
		req := kmsg.NewPtrApiVersionsRequest()
		req.Version = v
		req.ClientSoftwareName = proxyClientID
		req.ClientSoftwareVersion = "1"
		resp, err := u.roundTrip(req)
		if err != nil {
			return err
		}
		r := resp.(*kmsg.ApiVersionsResponse)
		if r.ErrorCode == kerr.UnsupportedVersion.Code && v > 0 {
			continue
		}
		if err := kerr.ErrorForCode(r.ErrorCode); err != nil {
			return err
		}
		u.versions = r
		return nil
	}
	return errors.New("no ApiVersions version accepted")
}

func (u *upstreamConn) authenticate(ctx context.Context, mech sasl.Mechanism) error {
	hs := kmsg.NewPtrSASLHandshakeRequest()
	hs.Version = 1
	hs.Mechanism = mech.Name()
	resp, err := u.roundTrip(hs)
	if err != nil {
		return err
	}
	if r := resp.(*kmsg.SASLHandshakeResponse); r.ErrorCode != 0 {
		return fmt.Errorf("handshake: %w (broker offers %v)", kerr.ErrorForCode(r.ErrorCode), r.SupportedMechanisms)
	}
	host, _, _ := net.SplitHostPort(u.addr)
	sess, out, err := mech.Authenticate(ctx, host)
	if err != nil {
		return err
	}
	for {
		req := kmsg.NewPtrSASLAuthenticateRequest()
		req.Version = u.version(req.Key(), req.MaxVersion())
		req.SASLAuthBytes = out
		resp, err := u.roundTrip(req)
		if err != nil {
			return err
		}
		r := resp.(*kmsg.SASLAuthenticateResponse)
		if r.ErrorCode != 0 {
			msg := ""
			if r.ErrorMessage != nil {
				msg = ": " + *r.ErrorMessage
			}
			return fmt.Errorf("%w%s", kerr.ErrorForCode(r.ErrorCode), msg)
		}
		done, next, err := sess.Challenge(r.SASLAuthBytes)
		if err != nil {
			return err
		}
		if done {
			u.scheduleReauth(r.SessionLifetimeMillis)
			return nil
		}
		out = next
	}
}

// scheduleReauth plans the next login at 85-95% of the session lifetime the
// broker granted, as the Java client does; zero means sessions do not
// expire.
func (u *upstreamConn) scheduleReauth(lifetimeMillis int64) {
	if lifetimeMillis <= 0 {
		u.reauthAt = time.Time{}
		return
	}
	lifetime := time.Duration(lifetimeMillis) * time.Millisecond
	u.reauthAt = time.Now().Add(time.Duration(float64(lifetime) * (0.85 + 0.1*rand.Float64())))
}

// needsReauth reports whether the SASL session is due for renewal.
func (u *upstreamConn) needsReauth(now time.Time) bool {
	return !u.reauthAt.IsZero() && now.After(u.reauthAt)
}

// reauthenticate logs in again on the open connection (KIP-368). Nothing
// else may be in flight on the connection.
func (u *upstreamConn) reauthenticate(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, u.timeout)
	defer cancel()
	if dl, ok := ctx.Deadline(); ok {
		_ = u.nc.SetDeadline(dl)
		defer u.nc.SetDeadline(time.Time{})
	}
	if err := u.authenticate(ctx, u.mech); err != nil {
		return fmt.Errorf("upstream %s: re-authenticate with %s: %w", u.addr, u.mech.Name(), err)
	}
	return nil
}

// version returns the newest version of key both the broker and the proxy
// speak, capped at max.
func (u *upstreamConn) version(key, max int16) int16 {
	if u.versions != nil {
		for _, k := range u.versions.ApiKeys {
			if k.ApiKey == key && k.MaxVersion < max {
				return k.MaxVersion
			}
		}
	}
	return max
}

// roundTrip sends one of the proxy's own requests and reads its response.
// It must not be used once client frames flow on the connection.
func (u *upstreamConn) roundTrip(req kmsg.Request) (kmsg.Response, error) {
	u.corr++
	if _, err := u.out.Write(u.fmt.AppendRequest(nil, req, u.corr)); err != nil {
		return nil, fmt.Errorf("write %s: %w", kmsg.NameForKey(req.Key()), err)
	}
	if err := u.out.flush(); err != nil {
		return nil, fmt.Errorf("write %s: %w", kmsg.NameForKey(req.Key()), err)
	}
	f, err := readFrame(u.in.reader(), u.maxResp, nil)
	u.in.release()
	if err != nil {
		return nil, fmt.Errorf("read %s response: %w", kmsg.NameForKey(req.Key()), err)
	}
	p := f.payload()
	// ApiVersions responses always use header v0 so that any client can
	// read them.
	flexHeader := req.IsFlexible() && req.Key() != kmsg.ApiVersions.Int16()
	hl, err := responseHeaderLen(p, flexHeader)
	if err != nil {
		return nil, err
	}
	if got := int32(uint32(p[0])<<24 | uint32(p[1])<<16 | uint32(p[2])<<8 | uint32(p[3])); got != u.corr {
		return nil, fmt.Errorf("%w: correlation id %d, expected %d", errMalformed, got, u.corr)
	}
	resp := req.ResponseKind()
	resp.SetVersion(req.GetVersion())
	if err := resp.ReadFrom(p[hl:]); err != nil {
		// A broker that rejects the ApiVersions version answers in v0.
		if av, ok := resp.(*kmsg.ApiVersionsResponse); ok && req.GetVersion() > 0 {
			av.Version = 0
			if err0 := av.ReadFrom(p[hl:]); err0 == nil {
				return av, nil
			}
		}
		return nil, fmt.Errorf("decode %s response: %w", kmsg.NameForKey(req.Key()), err)
	}
	return resp, nil
}

func (u *upstreamConn) Close() error { return u.nc.Close() }
