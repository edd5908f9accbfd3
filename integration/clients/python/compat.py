#!/usr/bin/env python3
"""Run a compatibility-matrix plan with librdkafka (confluent-kafka).

Run by integration/compat (PythonRunner) in the venv of requirements.txt:

    compat.py PLAN.json     perform the plan's steps
    compat.py --version     print "confluent-kafka X (librdkafka Y)"

PLAN.json is a compat.Plan (see integration/compat/plan.go and doc.go). Each
step prints one line, "STEP <step> ok <what happened>" or
"STEP <step> fail <librdkafka's error>"; every step runs even when an earlier
one failed, each bounded by step_timeout_ms. The exit status is 0 when every
step succeeded, else 1. The steps:

  produce      Records[produce] to Topic, acks=all, key = value; every
               delivery report must be a success.
  consume      read them back in Group (earliest offset, no auto commit),
               commit synchronously, close.
  denied       Records[denied] to DeniedTopic, where the principal has no
               ACL: librdkafka's authorization error is the expected outcome.
  idempotent   Records[idempotent] to TxTopic with enable.idempotence.
  transaction  with transactional.id, commit a transaction holding
               Records[transaction] to TxTopic, then flush one holding
               AbortedRecords to the broker and abort it.
  resume       (a second process) produce Records[resume], then consume in
               Group from its committed offset until every resume record has
               arrived; any Records[produce] record is a failure.

The login is SASL_PLAINTEXT with PLAIN (username, password) or OAUTHBEARER
through librdkafka's own OIDC support (sasl.oauthbearer.method=oidc, the
client-credentials grant against token_endpoint).
"""

import json
import os
import sys
import threading
import time

import confluent_kafka
from confluent_kafka import Consumer, KafkaError, KafkaException, Producer

# Helpers shared with the round-trip script of integration/clients.
from roundtrip import FATAL_CODES, TRANSIENT_CONSUMER_CODES, binding_version, describe

# Extra time a step's thread gets beyond step_timeout_ms before the step is
# reported as hung (librdkafka's own timeouts should end it first).
GRACE_SECONDS = 5


class StepFailure(Exception):
    pass


class ClientErrors:
    """error_cb of one step's clients: keeps the errors no retry will cure
    (a refused login, a fatal producer error) and the last transient ones."""

    def __init__(self, step):
        self.step = step
        self.fatal = []  # KafkaError
        self.recent = []  # text

    def callback(self, who):
        def on_error(err):
            print(f"client error: {self.step} {who}: {describe(err)}", file=sys.stderr, flush=True)
            if err.fatal() or err.code() in FATAL_CODES:
                self.fatal.append(err)
            else:
                self.recent = (self.recent + [f"{who}: {describe(err)}"])[-3:]
        return on_error


def version_line():
    return f"confluent-kafka {binding_version()} (librdkafka {confluent_kafka.libversion()[0]})"


def login_config(plan):
    """librdkafka properties for the plan's bootstrap address and login."""
    conf = {
        "bootstrap.servers": plan["bootstrap"],
        "security.protocol": "SASL_PLAINTEXT",
    }
    mech = plan.get("mechanism")
    if mech == "PLAIN":
        conf.update({
            "sasl.mechanism": "PLAIN",
            "sasl.username": plan.get("username", ""),
            "sasl.password": plan.get("password", ""),
        })
    elif mech == "OAUTHBEARER":
        conf.update({
            "sasl.mechanism": "OAUTHBEARER",
            "sasl.oauthbearer.method": "oidc",
            "sasl.oauthbearer.client.id": plan.get("client_id", ""),
            "sasl.oauthbearer.client.secret": plan.get("client_secret", ""),
            "sasl.oauthbearer.token.endpoint.url": plan.get("token_endpoint", ""),
        })
    else:
        raise StepFailure(f"unknown mechanism {mech!r}")
    return conf


class Step:
    """The context of one step: the plan, its deadline and its clients' errors."""

    def __init__(self, plan, name, timeout):
        self.plan = plan
        self.name = name
        self.deadline = time.monotonic() + timeout
        self.errors = ClientErrors(name)

    def remaining(self):
        return max(0.0, self.deadline - time.monotonic())

    def remaining_ms(self):
        return str(max(1000, int(self.remaining() * 1000)))

    def check_deadline(self, what):
        if time.monotonic() > self.deadline:
            raise StepFailure(f"timed out {what}" + self.last_errors())

    def check_fatal(self):
        if self.errors.fatal:
            raise StepFailure(describe(self.errors.fatal[0]))

    def last_errors(self):
        recent = self.errors.recent
        return ("; last client errors: " + " | ".join(recent)) if recent else ""

    def producer(self, who, **extra):
        conf = {
            **login_config(self.plan),
            "client.id": f"compat-py-{who}",
            "acks": "all",
            "message.timeout.ms": self.remaining_ms(),
            **extra,
        }
        conf["error_cb"] = self.errors.callback(who)
        return Producer(conf)

    def consumer(self, who):
        conf = {
            **login_config(self.plan),
            "client.id": f"compat-py-{who}",
            "group.id": self.plan["group"],
            "auto.offset.reset": "earliest",
            "enable.auto.commit": "false",
        }
        conf["error_cb"] = self.errors.callback(who)
        return Consumer(conf)


def produce_all(st, producer, topic, values):
    """Produces values (key = value) and waits for every delivery report.

    Returns the failed reports as (value, KafkaError) pairs.
    """
    failed = []
    acked = [0]

    def on_delivery(err, msg):
        if err is not None:
            failed.append(((msg.value() or b"").decode("utf-8", "replace"), err))
        else:
            acked[0] += 1

    for v in values:
        while True:
            try:
                producer.produce(topic, key=v, value=v, on_delivery=on_delivery)
                break
            except BufferError:
                producer.poll(0.1)
                st.check_deadline("while the producer's queue was full")
    while acked[0] + len(failed) < len(values):
        producer.flush(0.2)
        st.check_fatal()
        st.check_deadline(f"with {len(values) - acked[0] - len(failed)} of {len(values)} records unacknowledged")
    return failed


def first_failure(failed):
    v, err = failed[0]
    more = f" (and {len(failed) - 1} more)" if len(failed) > 1 else ""
    return f"record {v!r}: {describe(err)}{more}"


def produce_step(st, topic, values, who, **extra):
    producer = st.producer(who, **extra)
    failed = produce_all(st, producer, topic, values)
    if failed:
        raise StepFailure("delivery failed: " + first_failure(failed))
    return f"{len(values)} records acknowledged"


def consume_step(st, want, forbidden=()):
    """Consumes in the plan's group until every value of want has arrived,
    then commits synchronously and closes; a value of forbidden fails."""
    consumer = st.consumer("consumer")
    missing = set(want)
    forbidden = set(forbidden)
    seen = 0
    try:
        consumer.subscribe([st.plan["topic"]])
        while missing:
            st.check_deadline(f"with {len(want) - len(missing)} of {len(want)} records consumed,"
                              f" still missing {sorted(missing)}")
            for m in consumer.consume(num_messages=100, timeout=0.2):
                err = m.error()
                if err is not None:
                    if err.code() in TRANSIENT_CONSUMER_CODES and not err.fatal():
                        continue
                    raise StepFailure(f"consumer: {describe(err)}")
                v = (m.value() or b"").decode("utf-8", "replace")
                seen += 1
                if v in forbidden:
                    raise StepFailure(f"consumed {v!r} again: the group's committed offset was not used")
                missing.discard(v)
            st.check_fatal()
        try:
            parts = consumer.commit(asynchronous=False)
        except KafkaException as e:
            raise StepFailure(f"commit: {describe(e.args[0])}")
        bad = [p for p in parts or [] if p.error is not None]
        if bad:
            raise StepFailure(f"commit of {bad[0].topic} [{bad[0].partition}]: {describe(bad[0].error)}")
    finally:
        consumer.close()
    return f"{seen} records consumed, offsets committed"


def step_produce(st):
    return produce_step(st, st.plan["topic"], st.plan["records"]["produce"], "producer")


def step_consume(st):
    return consume_step(st, st.plan["records"]["produce"])


def is_authorization_error(err):
    return err.name().endswith("_AUTHORIZATION_FAILED")


def step_denied(st):
    values = st.plan["records"]["denied"]
    producer = st.producer("denied-producer")
    try:
        failed = produce_all(st, producer, st.plan["denied_topic"], values)
    except StepFailure:
        # librdkafka may raise the refusal through error_cb before (or
        # instead of) failing the records.
        denied = [e for e in st.errors.fatal if is_authorization_error(e)]
        if denied:
            return f"{denied[0].name()}: {denied[0].str()}"
        raise
    if len(failed) < len(values):
        raise StepFailure(f"{len(values) - len(failed)} records to the denied topic were acknowledged")
    denied = [err for _, err in failed if is_authorization_error(err)]
    if not denied:
        raise StepFailure("delivery failed, but not for authorization: " + first_failure(failed))
    return f"{denied[0].name()}: {denied[0].str()}"


def step_idempotent(st):
    return produce_step(st, st.plan["tx_topic"], st.plan["records"]["idempotent"], "idempotent-producer",
                        **{"enable.idempotence": "true"})


def txn_call(what, fn, *args, **kwargs):
    """Calls a transactional API, turning its KafkaException into a StepFailure."""
    try:
        return fn(*args, **kwargs)
    except KafkaException as e:
        raise StepFailure(f"{what}: {describe(e.args[0])}")


def step_transaction(st):
    plan = st.plan
    topic = plan["tx_topic"]
    committed = plan["records"]["transaction"]
    aborted = plan.get("aborted_records") or []
    producer = st.producer("transactional-producer", **{
        "transactional.id": plan["transactional_id"],
        "enable.idempotence": "true",
    })
    failed = []

    def on_delivery(err, msg):
        if err is not None:
            failed.append(((msg.value() or b"").decode("utf-8", "replace"), err))

    txn_call("init_transactions", producer.init_transactions, st.remaining())

    txn_call("begin_transaction", producer.begin_transaction)
    for v in committed:
        txn_call("produce", producer.produce, topic, key=v, value=v, on_delivery=on_delivery)
    txn_call("commit_transaction", producer.commit_transaction, st.remaining())
    if failed:
        raise StepFailure("committed transaction: " + first_failure(failed))

    txn_call("begin_transaction", producer.begin_transaction)
    for v in aborted:
        txn_call("produce", producer.produce, topic, key=v, value=v, on_delivery=on_delivery)
    # The records reach the broker before the abort, so that the abort has
    # something to discard.
    left = producer.flush(st.remaining())
    if left or failed:
        raise StepFailure("flush before the abort: "
                          + (first_failure(failed) if failed else f"{left} records unacknowledged"))
    txn_call("abort_transaction", producer.abort_transaction, st.remaining())
    return (f"committed {len(committed)} records, aborted {len(aborted)} "
            f"(transactional.id {plan['transactional_id']})")


def step_resume(st):
    produced = produce_step(st, st.plan["topic"], st.plan["records"]["resume"], "resume-producer")
    consumed = consume_step(st, st.plan["records"]["resume"], forbidden=st.plan["records"]["produce"])
    return f"{produced}; {consumed}"


STEPS = {
    "produce": step_produce,
    "consume": step_consume,
    "denied": step_denied,
    "idempotent": step_idempotent,
    "transaction": step_transaction,
    "resume": step_resume,
}


def one_line(text):
    return " ".join(str(text).split())


def run_step(plan, name, timeout):
    """Runs one step in a thread, so that a call hung in librdkafka cannot
    hold up the steps after it; returns (ok, detail)."""
    fn = STEPS.get(name)
    if fn is None:
        return False, f"unknown step {name!r}"
    outcome = []

    def target():
        try:
            outcome.append((True, fn(Step(plan, name, timeout))))
        except StepFailure as e:
            outcome.append((False, str(e)))
        except KafkaException as e:
            err = e.args[0] if e.args and isinstance(e.args[0], KafkaError) else None
            outcome.append((False, describe(err) if err else str(e)))
        except Exception as e:  # noqa: BLE001 - a bug of this script: report it
            outcome.append((False, f"{type(e).__name__}: {e}"))

    t = threading.Thread(target=target, name=f"step-{name}", daemon=True)
    t.start()
    t.join(timeout + GRACE_SECONDS)
    if not outcome:
        return False, f"hung for more than {timeout + GRACE_SECONDS:g}s"
    return outcome[0]


def main():
    if sys.argv[1:] == ["--version"]:
        print(version_line(), flush=True)
        return 0
    if len(sys.argv) < 2:
        print("usage: compat.py PLAN.json | --version", file=sys.stderr)
        return 2
    with open(sys.argv[-1], encoding="utf-8") as f:
        plan = json.load(f)
    timeout = (plan.get("step_timeout_ms") or 30000) / 1000
    print(version_line(), flush=True)
    all_ok = True
    for name in plan.get("steps") or []:
        ok, detail = run_step(plan, name, timeout)
        all_ok = all_ok and ok
        sys.stderr.flush()
        print(f"STEP {name} {'ok' if ok else 'fail'} {one_line(detail)}", flush=True)
    return 0 if all_ok else 1


if __name__ == "__main__":
    code = main()
    sys.stdout.flush()
    sys.stderr.flush()
    # librdkafka's threads of a hung step must not keep the process alive.
    os._exit(code)
