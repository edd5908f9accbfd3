package oauth

import "github.com/prometheus/client_golang/prometheus"

// Outcomes of a JWKS refresh, as metric labels.
const (
	outcomeOK    = "ok"
	outcomeError = "error"
)

// Metrics are the JWKS series of every Provider sharing them, labelled by
// provider name. A nil *Metrics records nothing.
type Metrics struct {
	refreshes *prometheus.CounterVec
	keys      *prometheus.GaugeVec
}

// NewMetrics creates the series and registers them with reg, if reg is not
// nil. It panics if they are already registered there, like
// prometheus.MustRegister.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		refreshes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "kafka_auth_proxy_jwks_refreshes_total",
			Help: "Fetches of an identity provider's signing keys (including OIDC discovery) by outcome.",
		}, []string{"provider", "outcome"}),
		keys: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "kafka_auth_proxy_jwks_keys",
			Help: "Signing keys of an identity provider currently cached.",
		}, []string{"provider"}),
	}
	if reg != nil {
		reg.MustRegister(m.refreshes, m.keys)
	}
	return m
}

func (m *Metrics) refreshed(provider string, err error) {
	if m == nil {
		return
	}
	outcome := outcomeOK
	if err != nil {
		outcome = outcomeError
	}
	m.refreshes.WithLabelValues(provider, outcome).Inc()
}

func (m *Metrics) setKeys(provider string, n int) {
	if m == nil {
		return
	}
	m.keys.WithLabelValues(provider).Set(float64(n))
}
