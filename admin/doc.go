// Package admin serves the management API: service accounts, users, API
// keys, role bindings, identity providers and pools in the shape of
// Confluent Cloud's IAM v2 API, and ACLs in the shape of Kafka REST v3.
//
// Every request but /healthz, /readyz and /openapi.json authenticates with
// a cloud API key (HTTP Basic) or an OIDC bearer token, through the same
// authenticator, throttle and audit as Kafka logins. What a caller may do
// follows from its role bindings (rights.go), as in Confluent Cloud:
// OrganizationAdmin manages everything, EnvironmentAdmin and
// CloudClusterAdmin their environment or cluster, ResourceOwner the
// resources it owns, and everyone their own account and API keys. Writes
// go to a store.Store as commands; the proxy's authenticator and
// authorizer follow the store, so a change applies to the next request.
//
// The routes are one table (routes.go), from which both the HTTP mux and
// the OpenAPI document at /openapi.json are built.
package admin
