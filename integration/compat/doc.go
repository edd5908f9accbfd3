// Package compat is the client compatibility matrix: it runs the Kafka
// clients people use (the Java client in a 3.9 and a 4.x release,
// librdkafka through kcat and confluent-kafka, KafkaJS, franz-go and
// sarama) through the proxy against a real Kafka cluster, with SASL/PLAIN
// (an API key) and with SASL/OAUTHBEARER (a token from a real OIDC
// provider), and records what each one could do.
//
// Every combination runs the same Plan, in two processes of the client (or,
// for the Go libraries, two client instances):
//
//  1. produce:     Records[produce] to Topic with acks=all;
//     consume:     read them back in Group from the earliest offset,
//     commit synchronously, close;
//     denied:      produce Records[denied] to DeniedTopic, on which the
//     principal has no ACL; the client's own authorization error is the
//     expected outcome;
//     idempotent:  Records[idempotent] to TxTopic with an idempotent
//     producer (acks=all);
//     transaction: with TransactionalID, commit a transaction holding
//     Records[transaction] to TxTopic, then abort one holding
//     AbortedRecords.
//  2. resume:      a new process produces Records[resume] to Topic, then
//     consumes in Group from the committed offset: it must see the resume
//     records and none of the first ones.
//
// A runner reports each step as one line on standard output (see
// ParseOutput):
//
//	STEP <step> ok <what happened>
//	STEP <step> fail <the client's error>
//	STEP <step> unsupported <why the client cannot do it>
//
// After the runner, the test checks with its own client what the runner
// claimed: the records in Topic, the group's committed offsets, and what a
// read_committed consumer sees in TxTopic. The results of a run are written
// as JSON (Results), from which `make compat` renders
// docs/compatibility.md.
package compat
