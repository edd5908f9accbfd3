// Package deploy holds the files of the docker-compose stack that users run
// to try the proxy (docker-compose.yml at the repository root and the
// service configurations under this folder), the stack's fixed demo
// credentials and addresses as constants (stack.go) for tests that target
// a running stack, and the tests that check it without a container engine.
//
// The tests read docker-compose.yml, the Dockerfile, the proxy's example
// configuration, the Keycloak realm, the Prometheus configuration and the
// Grafana provisioning and dashboard, and check that they agree with each
// other and with the constants: published ports, mounted files, the API
// key's hash, the realm's client, audience and groups claim, and the
// issuer. The proxy configuration is loaded with the proxy's own config
// package and served by an in-process proxy in front of an in-memory broker
// (kfake), where the demo credentials log in and the role bindings allow
// exactly the demo- prefix; every metric the dashboard queries must be on
// that proxy's /metrics. When promtool is on PATH, it lints the scraped
// metrics and checks the Prometheus configuration too.
//
// With the build tag integration, keycloak_integration_test.go also starts
// a real Keycloak (from Maven Central, no container needed) with the realm
// and checks the tokens it issues.
package deploy
