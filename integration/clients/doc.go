// Package clients runs real Kafka clients with SASL for the integration
// tests: librdkafka (through the Python binding confluent-kafka), the Java
// kafka-clients library (through integration/java and package harness), and
// a token source for franz-go's OAUTHBEARER mechanism.
//
//   - PythonRoundTrip produces records with librdkafka and consumes them back
//     in a consumer group. It runs python/roundtrip.py in a virtual
//     environment that it creates once, with the confluent-kafka version
//     pinned in python/requirements.txt, under
//     ~/.cache/kafka-auth-proxy/venv-<hash> (the hash covers the
//     requirements file and the Python interpreter). PythonOIDCConfig and
//     PythonPlainConfig build its librdkafka properties. PythonScript runs
//     other scripts of python/ in the same venv (integration/compat runs
//     python/compat.py with it).
//   - JavaOAuthProps and JavaPlainProps build client properties for
//     harness.JavaRoundTrip; JavaOAuthProps logs in with Kafka's own OIDC
//     client-credentials handler (OAuthBearerLoginCallbackHandler).
//   - JavaConsumeFor keeps one Java producer and one consumer busy for a
//     while and fails on any error, dropped connection or stall, for
//     re-authentication tests.
//   - ClientCredentialsToken fetches an access token with the OAuth 2.0
//     client-credentials grant; OAuthMechanism wraps it, with caching, as a
//     franz-go sasl.Mechanism.
//
// Every runner prints (and returns) the client's output; its last line
// starts with "OK" on success or "FAIL: " with the client's own error text
// on failure, and SummaryFields reads the key=value pairs of the OK line.
//
// The runners need Python 3 with venv and pip (and network access to PyPI
// the first time), Java 17+ and Maven; .ci/prereqs installs them on Debian.
// The tests of this package (build tag integration) run them against a real
// Kafka broker that validates OAUTHBEARER tokens from a real OIDC provider
// (package oidc), and against kfake to check what goes over the wire and
// that failures are reported.
package clients
