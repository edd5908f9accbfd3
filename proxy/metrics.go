package proxy

import (
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/kafka-auth-proxy/kafka-auth-proxy/authz"
)

// Listener kinds used as the "listener" label.
const (
	listenerBootstrap = "bootstrap"
	listenerBroker    = "broker"
)

// Reasons used as the "reason" label of rejected requests and upstream
// errors.
const (
	reasonUnsupportedAPI     = "unsupported_api"
	reasonUnsupportedVersion = "unsupported_version"
	reasonMalformed          = "malformed"
	reasonFrameTooLarge      = "frame_too_large"
	reasonUnauthenticated    = "unauthenticated"
	reasonSessionExpired     = "session_expired"
	reasonInternal           = "internal_error"
	reasonDial               = "dial"
	reasonRead               = "read"
	reasonWrite              = "write"
	reasonProtocol           = "protocol"
	reasonUnknownBroker      = "unknown_broker"
)

// metrics are the proxy's Prometheus series. Per-API series are resolved once
// at start-up so the request path does no label lookups.
type metrics struct {
	connectionsActive   *prometheus.GaugeVec
	connectionsTotal    *prometheus.CounterVec
	upstreamActive      prometheus.Gauge
	upstreamOpened      prometheus.Counter
	upstreamBytesSent   prometheus.Counter
	requestsRejected    *prometheus.CounterVec
	upstreamErrors      *prometheus.CounterVec
	clientBytesReceived prometheus.Counter
	clientBytesSent     prometheus.Counter
	metadataRefreshes   *prometheus.CounterVec
	upstreamReauths     *prometheus.CounterVec
	brokersKnown        prometheus.Gauge

	// requests and latency are per API; each API's series sit in its
	// registry spec (apiTable.instrument).
	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec

	// decisions counts authorization decisions by resource type,
	// operation and outcome, resolved once so that counting one is an
	// atomic add.
	decisions [authz.ResourceTransactionalID + 1][authz.OpIdempotentWrite + 1][2]prometheus.Counter
}

func newMetrics(reg prometheus.Registerer) *metrics {
	const ns = "kafka_auth_proxy"
	m := &metrics{
		connectionsActive: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: ns, Name: "client_connections_active",
			Help: "Open client connections, by listener kind (bootstrap or broker).",
		}, []string{"listener"}),
		connectionsTotal: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: ns, Name: "client_connections_total",
			Help: "Client connections accepted, by listener kind.",
		}, []string{"listener"}),
		upstreamActive: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: ns, Name: "upstream_connections_active",
			Help: "Open connections to upstream brokers carrying client traffic.",
		}),
		upstreamOpened: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: ns, Name: "upstream_connections_total",
			Help: "Connections opened to upstream brokers to carry client traffic.",
		}),
		upstreamBytesSent: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: ns, Name: "upstream_forwarded_bytes_total",
			Help: "Bytes of client request frames forwarded to upstream brokers.",
		}),
		requestsRejected: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: ns, Name: "requests_rejected_total",
			Help: "Client requests refused before reaching a broker, by reason.",
		}, []string{"reason"}),
		upstreamErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: ns, Name: "upstream_errors_total",
			Help: "Errors talking to upstream brokers, by reason (dial, read, write, protocol, unknown_broker).",
		}, []string{"reason"}),
		clientBytesReceived: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: ns, Name: "client_received_bytes_total",
			Help: "Bytes of request frames read from clients.",
		}),
		clientBytesSent: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: ns, Name: "client_sent_bytes_total",
			Help: "Bytes of response frames written to clients.",
		}),
		metadataRefreshes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: ns, Name: "metadata_refreshes_total",
			Help: "Background refreshes of the upstream broker list, by outcome.",
		}, []string{"outcome"}),
		upstreamReauths: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: ns, Name: "upstream_reauthentications_total",
			Help: "Renewals of the proxy's SASL session on upstream connections (KIP-368), by outcome.",
		}, []string{"outcome"}),
		brokersKnown: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: ns, Name: "upstream_brokers",
			Help: "Upstream brokers the proxy knows and serves a port for.",
		}),
	}
	m.requests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: ns, Name: "requests_total",
		Help: "Client requests handled, by API.",
	}, []string{"api"})
	m.latency = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Namespace: ns, Name: "request_duration_seconds",
		Help:    "Time from reading a client request to writing its response, by API.",
		Buckets: []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
	}, []string{"api"})
	decisions := prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: ns, Name: "authz_decisions_total",
		Help: "Authorization decisions, by resource type, operation and outcome (allowed or denied).",
	}, []string{"resource_type", "operation", "outcome"})
	for rt := authz.ResourceTopic; rt <= authz.ResourceTransactionalID; rt++ {
		for op := authz.OpAll; op <= authz.OpIdempotentWrite; op++ {
			m.decisions[rt][op][0] = decisions.WithLabelValues(rt.String(), op.String(), "denied")
			m.decisions[rt][op][1] = decisions.WithLabelValues(rt.String(), op.String(), "allowed")
		}
	}
	// Export every series from the start, at zero, so that rates and
	// alerts work before the first event.
	for _, r := range []string{reasonUnsupportedAPI, reasonUnsupportedVersion, reasonMalformed, reasonFrameTooLarge, reasonUnauthenticated, reasonSessionExpired, reasonInternal,
		reasonProxyUntrusted, reasonProxyMissing, reasonProxyMalformed} {
		m.requestsRejected.WithLabelValues(r)
	}
	for _, r := range []string{reasonDial, reasonRead, reasonWrite, reasonProtocol, reasonUnknownBroker} {
		m.upstreamErrors.WithLabelValues(r)
	}
	for _, o := range []string{"ok", "error"} {
		m.metadataRefreshes.WithLabelValues(o)
		m.upstreamReauths.WithLabelValues(o)
	}
	for _, l := range []string{listenerBootstrap, listenerBroker} {
		m.connectionsActive.WithLabelValues(l)
		m.connectionsTotal.WithLabelValues(l)
	}
	if reg != nil {
		reg.MustRegister(m.connectionsActive, m.connectionsTotal, m.upstreamActive, m.upstreamOpened, m.upstreamBytesSent, m.requestsRejected,
			m.upstreamErrors, m.clientBytesReceived, m.clientBytesSent, m.metadataRefreshes, m.upstreamReauths, m.brokersKnown,
			m.requests, m.latency, decisions)
	}
	return m
}

// decisionsTotal sums the authorization decisions counted so far.
func (m *metrics) decisionsTotal() float64 {
	var sum float64
	var out dto.Metric
	for rt := range m.decisions {
		for op := range m.decisions[rt] {
			for _, c := range m.decisions[rt][op] {
				if c != nil && c.Write(&out) == nil {
					sum += out.GetCounter().GetValue()
				}
			}
		}
	}
	return sum
}
