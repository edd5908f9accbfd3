package io.kafkaauthproxy.it;

import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import java.util.concurrent.FutureTask;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.AuthorizationException;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;

/**
 * The Java client's runner of the client compatibility matrix
 * (integration/compat, whose package comment describes the steps).
 *
 * <pre>
 * Compat --version
 * Compat [--property key=value]... PLAN.json
 * </pre>
 *
 * <p>With {@code --version} it prints {@code kafka-clients VERSION}, the
 * version of the kafka-clients jar on the classpath (from its
 * kafka/kafka-version.properties, which AppInfoParser reads too; that class
 * moved in 4.x), and exits 0.
 *
 * <p>Otherwise it reads the plan (compat.Plan as JSON) from the last argument
 * and performs its steps in order, each with new clients, printing one line
 * per step:
 *
 * <pre>
 * STEP &lt;step&gt; ok &lt;what happened&gt;
 * STEP &lt;step&gt; fail &lt;exception class: message&gt;
 * </pre>
 *
 * <p>Every step runs even when an earlier one failed, and each is bounded by
 * the plan's step_timeout_ms. It exits 0 when every step was ok and 1
 * otherwise. Each {@code --property} is a client property applied to every
 * producer and consumer after the step's own settings: the harness passes the
 * SASL login there (the plan's credentials are not read here). The producers
 * of the produce, denied and resume steps are not idempotent
 * (enable.idempotence=false), so that only the idempotent and transaction
 * steps depend on idempotence.
 *
 * <p>The sources compile against kafka-clients 3.9 and 4.x alike: use no API
 * that 4.0 removed or that came after 3.9.
 */
public final class Compat {
    /** How much longer than the step's own deadline the runner waits for it. */
    private static final long GRACE_MS = 5_000;
    /** The least time given to a commit or a close, even after the deadline passed. */
    private static final long MIN_FINISH_MS = 1_000;

    private Compat() {
    }

    public static void main(String[] args) {
        if (System.getProperty("org.slf4j.simpleLogger.defaultLogLevel") == null) {
            System.setProperty("org.slf4j.simpleLogger.defaultLogLevel", "warn");
        }
        if (args.length == 1 && args[0].equals("--version")) {
            try {
                System.out.println("kafka-clients " + clientVersion());
                exit(0);
            } catch (IOException e) {
                System.out.println("FAIL: " + describe(e));
                exit(1);
            }
        }
        Plan plan;
        Map<String, String> properties = new LinkedHashMap<>();
        try {
            if (args.length == 0) {
                throw new IllegalArgumentException("missing the plan file");
            }
            for (int i = 0; i < args.length - 1; i++) {
                if (!args[i].equals("--property") || i + 1 >= args.length - 1) {
                    throw new IllegalArgumentException("unexpected argument " + args[i]);
                }
                String kv = args[++i];
                int eq = kv.indexOf('=');
                if (eq <= 0) {
                    throw new IllegalArgumentException("--property wants key=value, got " + kv);
                }
                properties.put(kv.substring(0, eq), kv.substring(eq + 1));
            }
            plan = Plan.read(new File(args[args.length - 1]));
        } catch (IllegalArgumentException | IOException e) {
            System.out.println("FAIL: " + describe(e)
                    + "; usage: Compat --version | Compat [--property key=value]... PLAN.json");
            exit(2);
            return;
        }
        ClientSupport.allowOAuthUrls(properties);

        boolean allOk = true;
        for (String step : plan.steps) {
            String line;
            try {
                line = "ok " + runStep(new Steps(plan, properties), step);
            } catch (Throwable e) {
                allOk = false;
                line = "fail " + describe(e);
            }
            System.out.println("STEP " + step + " " + line.replace('\n', ' ').replace('\r', ' '));
            System.out.flush();
        }
        exit(allOk ? 0 : 1);
    }

    /**
     * Runs one step in a thread of its own and returns its detail. The step
     * keeps to its deadline by itself; if it does not return within the step
     * timeout plus {@link #GRACE_MS}, it is interrupted and abandoned (its
     * thread is a daemon).
     */
    private static String runStep(Steps steps, String step) throws Throwable {
        FutureTask<String> task = new FutureTask<>(() -> steps.run(step));
        Thread t = new Thread(task, "compat-" + step);
        t.setDaemon(true);
        t.start();
        try {
            return task.get(steps.plan.stepTimeoutMs + GRACE_MS, TimeUnit.MILLISECONDS);
        } catch (TimeoutException e) {
            task.cancel(true);
            throw new StepFailure("the step did not finish within " + steps.plan.stepTimeoutMs + " ms");
        } catch (ExecutionException e) {
            throw e.getCause();
        }
    }

    /** The steps of one plan, each with its own clients. */
    private static final class Steps {
        final Plan plan;
        final Map<String, String> properties;
        long deadline;

        Steps(Plan plan, Map<String, String> properties) {
            this.plan = plan;
            this.properties = properties;
        }

        String run(String step) throws Exception {
            deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(plan.stepTimeoutMs);
            switch (step) {
                case "produce":
                    return produce();
                case "consume":
                    return consume();
                case "denied":
                    return denied();
                case "idempotent":
                    return idempotent();
                case "transaction":
                    return transaction();
                case "resume":
                    return resume();
                default:
                    throw new StepFailure("unknown step " + step);
            }
        }

        /** produce: the produce records to the topic, acks=all. */
        String produce() throws Exception {
            List<String> values = plan.records("produce");
            KafkaProducer<String, String> p = new KafkaProducer<>(producerProps("produce", false, null));
            try {
                return "acknowledged " + values.size() + " records (acks=all) " + sendAll(p, plan.topic, values);
            } finally {
                closeProducer(p);
            }
        }

        /** consume: read the produce records back in the group, commit, close. */
        String consume() throws Exception {
            return consumeAndCommit("consume", plan.records("produce"), List.of());
        }

        /**
         * denied: produce to the denied topic; the client's authorization
         * error is the expected outcome.
         */
        String denied() throws Exception {
            List<String> values = plan.records("denied");
            KafkaProducer<String, String> p = new KafkaProducer<>(producerProps("denied", false, null));
            try {
                List<Future<RecordMetadata>> sent = new ArrayList<>();
                Throwable error = null;
                try {
                    for (String v : values) {
                        Future<RecordMetadata> f = p.send(new ProducerRecord<>(plan.deniedTopic, v, v));
                        sent.add(f);
                        if (failed(f)) {
                            break; // each further send would wait for metadata again
                        }
                    }
                } catch (AuthorizationException e) {
                    error = e; // older clients throw from send
                }
                int acked = 0;
                for (Future<RecordMetadata> f : sent) {
                    try {
                        f.get(remainingMs(), TimeUnit.MILLISECONDS);
                        acked++;
                    } catch (ExecutionException e) {
                        if (error == null) {
                            error = e.getCause();
                        }
                    } catch (TimeoutException e) {
                        throw new StepFailure("no answer to a record sent to the denied topic within "
                                + plan.stepTimeoutMs + " ms");
                    }
                }
                if (acked > 0) {
                    throw new StepFailure(acked + " of " + values.size()
                            + " records to the denied topic " + plan.deniedTopic + " were acknowledged");
                }
                if (error instanceof AuthorizationException) {
                    return describe(error);
                }
                if (error instanceof Exception) {
                    throw (Exception) error;
                }
                throw new StepFailure("no record was sent to the denied topic");
            } finally {
                closeProducer(p);
            }
        }

        /** idempotent: the idempotent records to the transaction topic, idempotent producer. */
        String idempotent() throws Exception {
            List<String> values = plan.records("idempotent");
            KafkaProducer<String, String> p = new KafkaProducer<>(producerProps("idempotent", true, null));
            try {
                return "acknowledged " + values.size() + " records (idempotent, acks=all) "
                        + sendAll(p, plan.txTopic, values);
            } finally {
                closeProducer(p);
            }
        }

        /**
         * transaction: commit a transaction of the transaction records, then
         * abort one of the aborted records, both to the transaction topic.
         */
        String transaction() throws Exception {
            List<String> committed = plan.records("transaction");
            List<String> aborted = plan.abortedRecords;
            KafkaProducer<String, String> p = new KafkaProducer<>(
                    producerProps("transaction", true, plan.transactionalId));
            try {
                String phase = "initTransactions";
                try {
                    p.initTransactions();
                    phase = "beginTransaction";
                    p.beginTransaction();
                    phase = "send in the committed transaction";
                    sendAll(p, plan.txTopic, committed);
                    phase = "commitTransaction";
                    p.commitTransaction();
                    phase = "beginTransaction";
                    p.beginTransaction();
                    phase = "send in the aborted transaction";
                    sendAll(p, plan.txTopic, aborted);
                    phase = "abortTransaction";
                    p.abortTransaction();
                } catch (Exception e) {
                    throw new PhaseException(phase, e);
                }
            } finally {
                closeProducer(p);
            }
            return "committed a transaction of " + committed.size() + " records and aborted one of "
                    + aborted.size() + " (transactional.id " + plan.transactionalId + ")";
        }

        /**
         * resume: produce the resume records, then consume in the group from
         * its committed offset: the resume records must come, the produce
         * records must not.
         */
        String resume() throws Exception {
            List<String> values = plan.records("resume");
            try {
                KafkaProducer<String, String> p = new KafkaProducer<>(producerProps("resume", false, null));
                try {
                    sendAll(p, plan.topic, values);
                } finally {
                    closeProducer(p);
                }
            } catch (Exception e) {
                throw new PhaseException("produce", e);
            }
            return "produced " + values.size() + " records (acks=all), then "
                    + consumeAndCommit("resume", values, plan.records("produce"));
        }

        /**
         * Consumes the topic in the group until every value of want has
         * come, commits synchronously and closes the consumer. A value of
         * forbidden that comes fails the step (after the commit).
         */
        String consumeAndCommit(String step, List<String> want, List<String> forbidden) throws Exception {
            Set<String> missing = new LinkedHashSet<>(want);
            Set<String> forbiddenSet = new LinkedHashSet<>(forbidden);
            Set<String> forbiddenSeen = new LinkedHashSet<>();
            int polled = 0;
            Map<Integer, Long> committed = new TreeMap<>();
            KafkaConsumer<String, String> c = new KafkaConsumer<>(consumerProps(step));
            try {
                c.subscribe(List.of(plan.topic));
                while (!missing.isEmpty()) {
                    long left = remainingMs();
                    if (left <= 0) {
                        throw new StepFailure("timed out after " + plan.stepTimeoutMs + " ms: "
                                + (want.size() - missing.size()) + " of " + want.size()
                                + " values came (missing " + sample(missing) + "; " + polled + " records polled)");
                    }
                    for (ConsumerRecord<String, String> r : c.poll(Duration.ofMillis(Math.min(left, 1_000)))) {
                        polled++;
                        if (!missing.remove(r.value()) && forbiddenSet.contains(r.value())) {
                            forbiddenSeen.add(r.value());
                        }
                    }
                }
                for (TopicPartition tp : c.assignment()) {
                    committed.put(tp.partition(), c.position(tp, finishTimeout()));
                }
                try {
                    c.commitSync(finishTimeout());
                } catch (Exception e) {
                    throw new PhaseException("commitSync", e);
                }
            } finally {
                closeConsumer(c);
            }
            if (!forbiddenSeen.isEmpty()) {
                throw new StepFailure(forbiddenSeen.size() + " records of the produce step came again ("
                        + sample(forbiddenSeen) + "): the group's committed offsets were not used");
            }
            return "consumed " + want.size() + " values in group " + plan.group + " (" + polled
                    + " records polled), committed offsets " + committed;
        }

        /**
         * Sends values (each as key and value) to topic and waits for every
         * acknowledgement. Returns where they went, e.g. "to partitions
         * {0=2, 1=3}" (records per partition).
         */
        String sendAll(KafkaProducer<String, String> p, String topic, List<String> values) throws Exception {
            List<Future<RecordMetadata>> sent = new ArrayList<>();
            for (String v : values) {
                Future<RecordMetadata> f = p.send(new ProducerRecord<>(topic, v, v));
                if (failed(f)) {
                    // Typically no metadata within max.block.ms; each
                    // further send would wait as long again.
                    try {
                        f.get();
                    } catch (ExecutionException e) {
                        throw unwrap(e);
                    }
                }
                sent.add(f);
            }
            p.flush();
            Map<Integer, Integer> perPartition = new TreeMap<>();
            for (int i = 0; i < sent.size(); i++) {
                RecordMetadata md;
                try {
                    md = sent.get(i).get(remainingMs(), TimeUnit.MILLISECONDS);
                } catch (ExecutionException e) {
                    throw unwrap(e);
                } catch (TimeoutException e) {
                    throw new StepFailure("record " + values.get(i) + " was not acknowledged within "
                            + plan.stepTimeoutMs + " ms");
                }
                perPartition.merge(md.partition(), 1, Integer::sum);
            }
            return "to " + topic + " partitions " + perPartition;
        }

        Properties producerProps(String step, boolean idempotent, String transactionalId) {
            Properties pp = new Properties();
            pp.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, plan.bootstrap);
            pp.put(ProducerConfig.CLIENT_ID_CONFIG, "compat-" + step + "-producer");
            pp.put(ProducerConfig.ACKS_CONFIG, "all");
            pp.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, String.valueOf(idempotent));
            pp.put(ProducerConfig.MAX_BLOCK_MS_CONFIG, String.valueOf(plan.stepTimeoutMs));
            pp.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
            pp.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
            if (transactionalId != null) {
                pp.put(ProducerConfig.TRANSACTIONAL_ID_CONFIG, transactionalId);
            }
            pp.putAll(properties);
            return pp;
        }

        Properties consumerProps(String step) {
            Properties cp = new Properties();
            cp.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, plan.bootstrap);
            cp.put(ConsumerConfig.CLIENT_ID_CONFIG, "compat-" + step + "-consumer");
            cp.put(ConsumerConfig.GROUP_ID_CONFIG, plan.group);
            cp.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
            cp.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
            cp.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
            cp.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
            cp.putAll(properties);
            return cp;
        }

        /** Closes p within the time left (at least MIN_FINISH_MS). */
        void closeProducer(KafkaProducer<String, String> p) {
            p.close(finishTimeout());
        }

        /** Closes c within the time left (at least MIN_FINISH_MS), leaving the group. */
        @SuppressWarnings("deprecation") // close(Duration) is deprecated in 4.x, CloseOptions is not in 3.9
        void closeConsumer(KafkaConsumer<String, String> c) {
            c.close(finishTimeout());
        }

        long remainingMs() {
            return Math.max(0, TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime()));
        }

        Duration finishTimeout() {
            return Duration.ofMillis(Math.max(MIN_FINISH_MS, remainingMs()));
        }
    }

    /** The plan: the fields of compat.Plan that the runner uses. */
    private static final class Plan {
        String bootstrap;
        String topic;
        String txTopic;
        String deniedTopic;
        String group;
        String transactionalId;
        List<String> steps = new ArrayList<>();
        Map<String, List<String>> records = new LinkedHashMap<>();
        List<String> abortedRecords = new ArrayList<>();
        long stepTimeoutMs;

        static Plan read(File f) throws IOException {
            JsonNode n = new ObjectMapper().readTree(f);
            if (n == null || !n.isObject()) {
                throw new IOException("plan " + f + " is not a JSON object");
            }
            Plan p = new Plan();
            p.bootstrap = text(n, "bootstrap");
            p.topic = text(n, "topic");
            p.txTopic = text(n, "tx_topic");
            p.deniedTopic = text(n, "denied_topic");
            p.group = text(n, "group");
            p.transactionalId = text(n, "transactional_id");
            p.steps = strings(n.get("steps"));
            JsonNode recs = n.get("records");
            if (recs != null && recs.isObject()) {
                for (Map.Entry<String, JsonNode> e : recs.properties()) {
                    p.records.put(e.getKey(), strings(e.getValue()));
                }
            }
            p.abortedRecords = strings(n.get("aborted_records"));
            p.stepTimeoutMs = n.path("step_timeout_ms").asLong(0);
            if (p.stepTimeoutMs <= 0) {
                p.stepTimeoutMs = 60_000;
            }
            if (p.bootstrap.isEmpty()) {
                throw new IOException("plan " + f + " has no bootstrap");
            }
            return p;
        }

        /** The values of step; a step with none fails, since it could prove nothing. */
        List<String> records(String step) {
            List<String> v = records.get(step);
            if (v == null || v.isEmpty()) {
                throw new StepFailure("the plan has no records for " + step);
            }
            return v;
        }

        private static String text(JsonNode n, String field) {
            return n.path(field).asText("");
        }

        private static List<String> strings(JsonNode n) {
            List<String> out = new ArrayList<>();
            if (n != null && n.isArray()) {
                n.forEach(v -> out.add(v.asText()));
            }
            return out;
        }
    }

    /** A check of the runner failed: described by its message alone. */
    private static final class StepFailure extends RuntimeException {
        private static final long serialVersionUID = 1L;

        StepFailure(String message) {
            super(message);
        }
    }

    /** A client error in a named phase of a step: described as the error, then the phase. */
    private static final class PhaseException extends Exception {
        private static final long serialVersionUID = 1L;
        final String phase;

        PhaseException(String phase, Throwable cause) {
            super(phase, cause);
            this.phase = phase;
        }
    }

    /** Whether f has already failed (send returns failed futures for errors it meets itself). */
    private static boolean failed(Future<?> f) {
        if (!f.isDone()) {
            return false;
        }
        try {
            f.get();
            return false;
        } catch (ExecutionException | InterruptedException | CancellationException e) {
            return true;
        }
    }

    private static Exception unwrap(ExecutionException e) {
        Throwable c = e.getCause();
        return c instanceof Exception ? (Exception) c : e;
    }

    /**
     * One line for e: ClientSupport.describe's "Class: message: caused by
     * Class: message", with futures' wrappers skipped and the phase of a
     * PhaseException added; a StepFailure is its message alone.
     */
    static String describe(Throwable e) {
        String suffix = "";
        if (e instanceof PhaseException) {
            suffix = " (in " + ((PhaseException) e).phase + ")";
            e = e.getCause();
        }
        while ((e instanceof ExecutionException || e instanceof CompletionException) && e.getCause() != null) {
            e = e.getCause();
        }
        if (e instanceof StepFailure) {
            return e.getMessage() + suffix;
        }
        return ClientSupport.describe(e) + suffix;
    }

    /**
     * The version of the kafka-clients jar that KafkaProducer was loaded
     * from, as its kafka/kafka-version.properties says.
     */
    static String clientVersion() throws IOException {
        Properties p = new Properties();
        try (InputStream in = KafkaProducer.class.getResourceAsStream("/kafka/kafka-version.properties")) {
            if (in == null) {
                throw new IOException("kafka-clients has no kafka/kafka-version.properties");
            }
            p.load(in);
        }
        String v = p.getProperty("version", "").trim();
        if (v.isEmpty()) {
            throw new IOException("kafka/kafka-version.properties names no version");
        }
        return v;
    }

    /** Up to three values of s, for messages. */
    private static String sample(Set<String> s) {
        List<String> out = new ArrayList<>();
        for (String v : s) {
            if (out.size() == 3) {
                out.add("...");
                break;
            }
            out.add(v);
        }
        return String.join(", ", out);
    }

    /** Flushes and halts, without waiting for the clients' threads. */
    private static void exit(int status) {
        System.out.flush();
        System.err.flush();
        Runtime.getRuntime().halt(status);
    }
}
