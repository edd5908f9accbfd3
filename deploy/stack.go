package deploy

// The docker-compose stack's addresses and demo credentials, as a client on
// the Docker host sees them. Tests that target a running stack (`docker
// compose up`) use these; the tests of this package check that they agree
// with docker-compose.yml, deploy/proxy/config.yaml and
// deploy/keycloak/realm.json.
//
// The credentials are fixtures for a local demo. They are published in this
// repository, so never use them, or the realm and configuration that hold
// them, anywhere but on your own machine.
const (
	// Bootstrap is the proxy's bootstrap address. Every port of the stack
	// is published on the host's loopback interface only.
	Bootstrap = "localhost:9092"

	// ClusterID is the cluster id API keys and role bindings are scoped to
	// (authentication.cluster_id), fixed so that the demo key does not
	// depend on the id Kafka generates. A client that sends the
	// logicalCluster SASL extension must send this value.
	ClusterID = "lkc-demo"

	// ServiceAccount owns the demo API key; its principal is
	// User:sa-demo.
	ServiceAccount = "sa-demo"
	// APIKey is the demo API key id, the SASL/PLAIN username.
	APIKey = "DEMOAPIKEY000001"
	// APISecret is the demo API key's secret, the SASL/PLAIN password.
	// The configuration holds only its salted hash.
	APISecret = "demo-only-local-stack-secret-do-not-use-anywhere-else-0123456789"

	// KeycloakURL is Keycloak's address, also its admin console (user
	// admin, password admin).
	KeycloakURL = "http://localhost:8080"
	// Realm is the Keycloak realm that issues the demo tokens.
	Realm = "kafka"
	// Issuer is the iss of the realm's tokens, which the proxy checks.
	Issuer = KeycloakURL + "/realms/" + Realm
	// TokenEndpoint is where clients get an access token with the
	// client-credentials grant.
	TokenEndpoint = Issuer + "/protocol/openid-connect/token"
	// ClientID is the realm's confidential client whose service account
	// is in the group demo.
	ClientID = "demo-app"
	// ClientSecret is ClientID's client secret.
	ClientSecret = "demo-app-local-stack-secret"
	// Audience is the aud the realm puts in access tokens and the proxy
	// requires.
	Audience = "kafka"
	// Group is the groups claim value that admits a token to
	// IdentityPool.
	Group = "demo"
	// IdentityPool is the identity pool that tokens of ClientID map to;
	// its principal is User:pool-demo.
	IdentityPool = "pool-demo"

	// ResourcePrefix is the prefix of the topics, consumer groups and
	// transactional ids that both ServiceAccount and IdentityPool own
	// (role ResourceOwner). Anything else is denied.
	ResourcePrefix = "demo-"

	// MetricsURL is the proxy's Prometheus endpoint.
	MetricsURL = "http://localhost:9404/metrics"
	// PrometheusURL is the stack's Prometheus, which scrapes the proxy.
	PrometheusURL = "http://localhost:9090"
	// GrafanaURL is the stack's Grafana, with the proxy's dashboard
	// (anonymous viewers; user admin, password admin).
	GrafanaURL = "http://localhost:3000"
)
