// Package integration holds the end-to-end tests of kafka-auth-proxy: real
// Apache Kafka brokers (started from Maven Central jars by package harness),
// the proxy in front of them, and real clients (franz-go, the Java
// kafka-clients library). They run with the "integration" build tag:
//
//	go test -tags integration ./integration/...
package integration
