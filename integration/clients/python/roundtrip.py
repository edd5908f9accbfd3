#!/usr/bin/env python3
"""Produce records with librdkafka (confluent-kafka) and consume them back.

Run by integration/clients (PythonRoundTrip) in a venv that has the pinned
confluent-kafka of requirements.txt:

    roundtrip.py --bootstrap HOST:PORT --topic T --count N --group G
                 [--timeout-seconds S] [--config-json '{"key": "value", ...}']

The JSON object holds librdkafka properties (all strings), applied to both
the producer and the consumer after the defaults, e.g. security.protocol,
sasl.mechanism, sasl.username / sasl.password, or sasl.oauthbearer.method=oidc
with sasl.oauthbearer.client.id, .client.secret, .token.endpoint.url and
.extensions.

It produces N records (acks=all, idempotence on) whose values are unique to
this run, then consumes the topic from the earliest offset in consumer group
G, committing after every batch, until every value of this run has arrived.

The last line printed is "OK produced=... consumed=..." (exit status 0) or
"FAIL: <phase>: <reason>" (exit status 1). An authentication or
authorization error reported by librdkafka (error_cb, delivery reports,
consumer errors) fails the run at once with librdkafka's own error text; a
transient one (transport, all brokers down) is kept and quoted if the run
then times out. The whole run is bounded by --timeout-seconds (default 60).
"""

import argparse
import json
import os
import sys
import threading
import time
import uuid

import confluent_kafka
from confluent_kafka import Consumer, KafkaError, KafkaException, Producer


def _codes(*names):
    return {getattr(KafkaError, n) for n in names if hasattr(KafkaError, n)}


# Errors that no retry will cure: the run fails at the first one.
FATAL_CODES = _codes(
    "_AUTHENTICATION",
    "SASL_AUTHENTICATION_FAILED",
    "ILLEGAL_SASL_STATE",
    "UNSUPPORTED_SASL_MECHANISM",
    "_SSL",
    "TOPIC_AUTHORIZATION_FAILED",
    "GROUP_AUTHORIZATION_FAILED",
    "CLUSTER_AUTHORIZATION_FAILED",
    "TRANSACTIONAL_ID_AUTHORIZATION_FAILED",
    "_INVALID_ARG",
    "_FATAL",
)
# Consumer errors that are normal while a topic or leader appears.
TRANSIENT_CONSUMER_CODES = _codes(
    "_PARTITION_EOF",
    "UNKNOWN_TOPIC_OR_PART",
    "LEADER_NOT_AVAILABLE",
    "NOT_LEADER_FOR_PARTITION",
    "_TRANSPORT",
    "_ALL_BROKERS_DOWN",
    "_TIMED_OUT",
)

phase = "starting"


class Failure(Exception):
    pass


def describe(err):
    """librdkafka's error as NAME (code N): text [fatal]."""
    text = f"{err.name()} (code {err.code()}): {err.str()}"
    if err.fatal():
        text += " [fatal]"
    return text


class ErrorLog:
    """error_cb for one client: keeps fatal errors and recent transient ones."""

    def __init__(self, who):
        self.who = who
        self.fatal = None
        self.recent = []

    def __call__(self, err):
        msg = f"{self.who}: {describe(err)}"
        print(f"client error: {msg}", file=sys.stderr, flush=True)
        if err.fatal() or err.code() in FATAL_CODES:
            if self.fatal is None:
                self.fatal = msg
        else:
            self.recent = (self.recent + [msg])[-3:]

    def check(self):
        if self.fatal:
            raise Failure(self.fatal)


def fail(message):
    """Prints the FAIL line and exits at once (librdkafka's threads may hang)."""
    sys.stderr.flush()
    print("FAIL: " + message.replace("\n", " "), flush=True)
    os._exit(1)


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--bootstrap", required=True)
    p.add_argument("--topic", required=True)
    p.add_argument("--count", type=int, required=True)
    p.add_argument("--group", required=True)
    p.add_argument("--timeout-seconds", type=float, default=60.0)
    p.add_argument("--config-json", default="{}")
    a = p.parse_args()
    if a.count < 1:
        p.error("--count must be >= 1")
    if a.timeout_seconds <= 0:
        p.error("--timeout-seconds must be > 0")
    try:
        config = json.loads(a.config_json)
    except json.JSONDecodeError as e:
        p.error(f"--config-json: {e}")
    if not isinstance(config, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in config.items()):
        p.error("--config-json must be an object of string values")
    a.config = config
    return a


def run(a, deadline):
    global phase
    run_id = uuid.uuid4().hex
    prefix = run_id + "-"
    timeout_ms = str(max(1000, int((deadline - time.monotonic()) * 1000)))

    # --- produce ---
    phase = "produce"
    perr = ErrorLog("producer")
    pconf = {
        "bootstrap.servers": a.bootstrap,
        "client.id": "roundtrip-py-producer",
        "acks": "all",
        "enable.idempotence": "true",
        "message.timeout.ms": timeout_ms,
        **a.config,
        "error_cb": perr,
    }
    producer = Producer(pconf)
    delivery_errors = []
    acked = [0]

    def on_delivery(err, msg):
        if err is not None:
            delivery_errors.append(f"record {msg.key().decode()}: {describe(err)}")
        else:
            acked[0] += 1

    start = time.monotonic()
    for i in range(a.count):
        while True:
            try:
                producer.produce(a.topic, key=f"k-{i}", value=f"{prefix}{i}", on_delivery=on_delivery)
                break
            except BufferError:
                producer.poll(0.1)
        producer.poll(0)
    while True:
        remaining = producer.flush(0.2)
        perr.check()
        if delivery_errors:
            raise Failure(f"delivery failed: {delivery_errors[0]}"
                          + (f" (and {len(delivery_errors) - 1} more)" if len(delivery_errors) > 1 else ""))
        if remaining == 0 and acked[0] == a.count:
            break
        if time.monotonic() > deadline:
            raise Failure(f"timed out with {a.count - acked[0]} of {a.count} records unacknowledged"
                          + last_errors(perr))
    produced = time.monotonic()

    # --- consume ---
    phase = "consume"
    cerr = ErrorLog("consumer")
    cconf = {
        "bootstrap.servers": a.bootstrap,
        "client.id": "roundtrip-py-consumer",
        "group.id": a.group,
        "auto.offset.reset": "earliest",
        "enable.auto.commit": "false",
        **a.config,
        "error_cb": cerr,
    }
    consumer = Consumer(cconf)
    consumer.subscribe([a.topic])
    seen = set()
    duplicates = 0
    polled = 0
    while len(seen) < a.count:
        if time.monotonic() > deadline:
            raise Failure(f"timed out with {len(seen)} of {a.count} records consumed" + last_errors(cerr))
        msgs = consumer.consume(num_messages=500, timeout=0.2)
        cerr.check()
        got = False
        for m in msgs:
            err = m.error()
            if err is not None:
                if err.code() in TRANSIENT_CONSUMER_CODES and not err.fatal():
                    cerr.recent = (cerr.recent + [f"consumer: {describe(err)}"])[-3:]
                    continue
                raise Failure(f"consumer: {describe(err)}")
            got = True
            polled += 1
            v = (m.value() or b"").decode("utf-8", "replace")
            if not v.startswith(prefix):
                continue  # an earlier run's record
            i = int(v[len(prefix):])
            if i < 0 or i >= a.count:
                raise Failure(f"unexpected value {v!r}")
            if i in seen:
                duplicates += 1
            seen.add(i)
        if got:
            phase = "commit"
            try:
                consumer.commit(asynchronous=False)
            except KafkaException as e:
                if e.args[0].code() != KafkaError._NO_OFFSET:
                    raise Failure(f"commit: {describe(e.args[0])}")
            phase = f"consume ({len(seen)}/{a.count} values)"
    phase = "close consumer"
    consumer.close()
    done = time.monotonic()
    return ("OK produced=%d consumed=%d duplicates=%d polled=%d topic=%s group=%s produce_ms=%d consume_ms=%d"
            " confluent_kafka=%s librdkafka=%s") % (
        a.count, len(seen), duplicates, polled, a.topic, a.group,
        (produced - start) * 1000, (done - produced) * 1000,
        binding_version(), confluent_kafka.libversion()[0])


def binding_version():
    v = confluent_kafka.version()  # a string in 2.x, a (string, int) tuple before
    return v[0] if isinstance(v, tuple) else v


def last_errors(log):
    return ("; last client errors: " + " | ".join(log.recent)) if log.recent else ""


def main():
    a = parse_args()
    deadline = time.monotonic() + a.timeout_seconds
    # A blocking call (a synchronous commit, close) cannot outlive the budget.
    watchdog = threading.Timer(a.timeout_seconds + 5, lambda: fail(f"timeout after {a.timeout_seconds:g}s in phase {phase}"))
    watchdog.daemon = True
    watchdog.start()
    try:
        line = run(a, deadline)
    except Failure as e:
        fail(f"{phase}: {e}")
    except KafkaException as e:
        err = e.args[0] if e.args and isinstance(e.args[0], KafkaError) else None
        fail(f"{phase}: {describe(err) if err else e}")
    except Exception as e:  # noqa: BLE001 - report anything as a FAIL line
        fail(f"{phase}: {type(e).__name__}: {e}")
    sys.stderr.flush()
    print(line, flush=True)
    os._exit(0)


if __name__ == "__main__":
    main()
