package proxy

import (
	"crypto/tls"
	"fmt"
	"net"
	"strconv"
)

// listener is one client-facing listener: a bootstrap port and one port per
// upstream broker (base + node id), with its own advertised host, TLS and
// SASL mechanisms, like a broker's listener. Responses on its connections
// name its own addresses.
type listener struct {
	s    *Server
	cfg  *Listener
	host string      // interface the ports bind
	tls  *tls.Config // nil for plaintext

	boot net.Listener
	// brokers holds the port of each node; guarded by s.mu.
	brokers map[int32]net.Listener
}

func newListener(s *Server, cfg *Listener) (*listener, error) {
	host, _, err := net.SplitHostPort(cfg.Address)
	if err != nil {
		return nil, fmt.Errorf("listener %s: address: %w", cfg.Name, err)
	}
	l := &listener{s: s, cfg: cfg, host: host, brokers: make(map[int32]net.Listener)}
	if t := cfg.TLS; t != nil {
		if l.tls, err = serverTLSConfig(t); err != nil {
			return nil, fmt.Errorf("listener %s: %w", cfg.Name, err)
		}
	}
	return l, nil
}

func (l *listener) listen(addr string) (net.Listener, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	if l.cfg.ProxyProtocol {
		// Under TLS: the header comes before the handshake.
		ln = &proxyListener{Listener: ln, trusted: l.cfg.TrustedProxies}
	}
	if l.tls != nil {
		ln = tls.NewListener(ln, l.tls)
	}
	return ln, nil
}

// brokerPort is this listener's port for upstream node id.
func (l *listener) brokerPort(id int32) (int, bool) {
	p := l.cfg.BrokerPortBase + int(id)
	return p, id >= 0 && p > 0 && p <= 65535
}

// openBroker opens this listener's port for node id; s.mu is held.
func (l *listener) openBroker(id int32) (net.Listener, error) {
	port, ok := l.brokerPort(id)
	if !ok {
		return nil, fmt.Errorf("node id %d gives no valid port with broker_port_base %d", id, l.cfg.BrokerPortBase)
	}
	ln, err := l.listen(net.JoinHostPort(l.host, strconv.Itoa(port)))
	if err != nil {
		return nil, err
	}
	l.brokers[id] = ln
	return ln, nil
}

// advertise implements advertiser: it records the upstream address of a
// broker (opening its ports), and returns this listener's address for it.
func (l *listener) advertise(id int32, host string, port int32) (string, int32) {
	l.s.noteBroker(id, host, port)
	p, ok := l.brokerPort(id)
	if !ok {
		return l.cfg.AdvertisedHost, -1
	}
	return l.cfg.AdvertisedHost, int32(p)
}
