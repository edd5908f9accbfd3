// Package proxy is the Kafka-protocol data path: client listeners (one
// bootstrap port and one port per upstream broker), the frame codec, the
// per-connection pipeline (decode, gate, authorize, rewrite, forward),
// upstream connections with the proxy's own identity, the locally answered
// ApiVersions, SASL and ACL APIs, and the rewriting of every response that
// names brokers so that clients only ever learn the proxy's addresses.
package proxy
