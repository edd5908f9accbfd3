package authn

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/kafka-auth-proxy/kafka-auth-proxy/authn/oauth"
)

// Outcomes and failure reasons of an authentication, as metric labels and
// audit reasons. They are few and stable; Reasons lists them all.
const (
	outcomeSuccess = "success"
	outcomeFailure = "failure"

	ReasonMalformed           = "malformed"
	ReasonUnknownKey          = "unknown_key"
	ReasonBadSecret           = "bad_secret"
	ReasonUnknownAccount      = "unknown_account"
	ReasonWrongCluster        = "wrong_cluster"
	ReasonThrottled           = "throttled"
	ReasonFailureCeiling      = "failure_ceiling"
	ReasonUnknownProvider     = "unknown_provider"
	ReasonNoPool              = "no_matching_pool"
	ReasonUnknownPool         = "unknown_pool"
	ReasonAuthzID             = "authzid_mismatch"
	ReasonPrincipalChanged    = "principal_changed"
	ReasonMechanismChanged    = "mechanism_changed"
	ReasonUnsupportedMech     = "unsupported_mechanism"
	ReasonHandshakeMissing    = "handshake_missing"
	ReasonAttemptAfterFailure = "attempt_after_failure"
	ReasonFrameTooLarge       = "frame_too_large"
	// ReasonTokenPrefix starts the reason of a refused token, followed by
	// the token's own reason (oauth.Reasons): token_expired, ...
	ReasonTokenPrefix = "token_"
)

// ReasonMeaning is a failure reason and what it means.
type ReasonMeaning struct {
	Reason, Meaning string
}

// Reasons lists every failure reason an authentication is counted and
// audited with, and what it means.
func Reasons() []ReasonMeaning {
	out := []ReasonMeaning{
		{ReasonMalformed, "the SASL message is not a well-formed PLAIN or OAUTHBEARER message"},
		{ReasonUnknownKey, "no API key has the username as its id"},
		{ReasonBadSecret, "the password is not the API key's secret"},
		{ReasonUnknownAccount, "the API key's account does not exist"},
		{ReasonWrongCluster, "the API key is scoped to another cluster, logicalCluster names another cluster, or the cluster id is not known yet; or a cloud key logged in to Kafka, or a cluster key called the admin API"},
		{ReasonThrottled, "the client address is past authentication.max_failures_per_source in the failure window; the credential was not checked"},
		{ReasonFailureCeiling, "the proxy is past authentication.max_failures_per_second, and the token was new and its address has not logged in in the last hour; the token was not checked"},
		{ReasonUnknownProvider, "no identity provider has the token's issuer"},
		{ReasonNoPool, "the token matches no identity pool, or not the one identityPoolId names"},
		{ReasonUnknownPool, "identityPoolId names no pool of the token's provider"},
		{ReasonAuthzID, "the SASL authorization id names neither the identity pool nor the caller"},
		{ReasonPrincipalChanged, "a re-authentication would change the connection's principal"},
		{ReasonMechanismChanged, "a re-authentication asked for another mechanism than the first login"},
		{ReasonUnsupportedMech, "the handshake asked for a mechanism the listener does not offer"},
		{ReasonHandshakeMissing, "SaslAuthenticate arrived before a successful SaslHandshake"},
		{ReasonAttemptAfterFailure, "another SaslHandshake or SaslAuthenticate on a connection whose login failed"},
		{ReasonFrameTooLarge, "a request before the login was larger than the pre-login limit of 512 KiB"},
	}
	for _, r := range oauth.Reasons() {
		out = append(out, ReasonMeaning{ReasonTokenPrefix + string(r.Reason), "the token was refused: " + r.Meaning})
	}
	return out
}

// metrics are the authentication series. A nil *metrics records nothing.
type metrics struct {
	authentications      *prometheus.CounterVec
	sessions             *prometheus.GaugeVec
	revoked              prometheus.Counter
	reloads              *prometheus.CounterVec
	credentialsOverLimit prometheus.Counter
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
		credentialsOverLimit: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "kafka_auth_proxy_authentication_credentials_over_limit_total",
			Help: "Times an API key, identity pool or token subject reached max_failures_per_key failed logins in a failure window. Its correct logins are not refused.",
		}),
	}
	if reg != nil {
		reg.MustRegister(m.authentications, m.sessions, m.revoked, m.reloads, m.credentialsOverLimit)
	}
	return m
}
