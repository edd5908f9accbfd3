package authn

import "github.com/prometheus/client_golang/prometheus"

// Outcomes and failure reasons of an authentication, as metric labels and
// audit reasons. They are few and stable.
const (
	outcomeSuccess = "success"
	outcomeFailure = "failure"

	ReasonMalformed          = "malformed"
	ReasonUnknownKey         = "unknown_key"
	ReasonBadSecret          = "bad_secret"
	ReasonUnknownAccount     = "unknown_account"
	ReasonWrongCluster       = "wrong_cluster"
	ReasonThrottled          = "throttled"
	ReasonUnknownProvider    = "unknown_provider"
	ReasonNoPool             = "no_matching_pool"
	ReasonUnknownPool        = "unknown_pool"
	ReasonAuthzID            = "authzid_mismatch"
	ReasonPrincipalChanged   = "principal_changed"
	ReasonMechanismChanged   = "mechanism_changed"
	ReasonUnsupportedMech    = "unsupported_mechanism"
	ReasonHandshakeMissing   = "handshake_missing"
	ReasonTokenPrefix        = "token_"
	ReasonClientAbortedOAuth = "challenge_not_acknowledged"
)

// metrics are the authentication series. A nil *metrics records nothing.
type metrics struct {
	authentications *prometheus.CounterVec
	sessions        *prometheus.GaugeVec
	revoked         prometheus.Counter
	reloads         *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		authentications: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "kafka_auth_proxy_authentications_total",
			Help: "Client SASL authentications (including re-authentications) by mechanism, outcome and failure reason.",
		}, []string{"mechanism", "outcome", "reason"}),
		sessions: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "kafka_auth_proxy_sessions_active",
			Help: "Authenticated client connections by mechanism.",
		}, []string{"mechanism"}),
		revoked: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "kafka_auth_proxy_sessions_revoked_total",
			Help: "Authenticated connections closed because their API key, account or identity pool was removed.",
		}),
		reloads: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "kafka_auth_proxy_credentials_reloads_total",
			Help: "Reloads of the credentials (configuration or state file) by outcome.",
		}, []string{"outcome"}),
	}
	if reg != nil {
		reg.MustRegister(m.authentications, m.sessions, m.revoked, m.reloads)
	}
	return m
}
