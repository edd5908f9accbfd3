package io.kafkaauthproxy.it;

import java.time.Duration;
import java.util.BitSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.UUID;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicLong;

import org.apache.kafka.clients.consumer.CloseOptions;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.Metric;
import org.apache.kafka.common.MetricName;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;

/**
 * Keeps one producer and one consumer busy for a while, for re-authentication
 * tests: the same two client instances (and so, normally, the same
 * connections) must keep working across several SASL session lifetimes.
 *
 * <pre>
 * ConsumeFor --bootstrap HOST:PORT --topic T --group G --duration-ms D
 *            [--interval-ms 200] [--stall-ms 5000] [--start-ms 30000]
 *            [--property key=value]...
 * </pre>
 *
 * <p>For {@code duration-ms} from the creation of the clients it sends one
 * record every {@code interval-ms} (acks=all, idempotence on) and polls the
 * topic in consumer group {@code G} (from the earliest offset, committing
 * asynchronously after every non-empty poll). Then it flushes the producer,
 * consumes until every acknowledged record of this run has arrived, and
 * commits synchronously.
 *
 * <p>It fails (a line starting with {@code FAIL: }, exit status 1) at the
 * first of:
 * <ul>
 * <li>a send, poll or commit error;
 * <li>a failed authentication or re-authentication, or any connection closed
 *     (the clients' {@code failed-authentication-total},
 *     {@code failed-reauthentication-total} and
 *     {@code connection-close-total} metrics): a dropped connection is
 *     retried silently by the clients, so it is caught here;
 * <li>no new record consumed (or, with records in flight, none acknowledged)
 *     for {@code stall-ms}, or nothing consumed or acknowledged at all within
 *     {@code start-ms} of the start;
 * <li>{@code duration-ms} plus 60 seconds passing (a hung client).
 * </ul>
 *
 * <p>It prints a progress line every two seconds and, on success, one line
 * starting with {@code OK} with the counts of records produced and consumed,
 * the re-authentications and the connection counts. Each
 * {@code --property} is applied to both clients after the defaults.
 */
public final class ConsumeFor {
    private static volatile String phase = "starting";

    private final Args a;
    private final String prefix = UUID.randomUUID() + "-";
    private final ConcurrentLinkedQueue<String> errors = new ConcurrentLinkedQueue<>();
    private final AtomicLong acked = new AtomicLong();
    private final AtomicLong lastAckNanos = new AtomicLong();
    private final BitSet seen = new BitSet();
    private long start;
    private long sent;
    private long duplicates;
    private long lastConsumedNanos;
    private long progressNanos; // what the consumer stall limit counts from
    private long maxGapNanos;
    private KafkaProducer<String, String> producer;
    private KafkaConsumer<String, String> consumer;

    private ConsumeFor(Args a) {
        this.a = a;
    }

    public static void main(String[] args) {
        if (System.getProperty("org.slf4j.simpleLogger.defaultLogLevel") == null) {
            System.setProperty("org.slf4j.simpleLogger.defaultLogLevel", "warn");
        }
        Args a;
        try {
            a = Args.parse(args);
        } catch (IllegalArgumentException e) {
            ClientSupport.fail(e.getMessage() + "; usage: ConsumeFor --bootstrap HOST:PORT --topic T --group G"
                    + " --duration-ms D [--interval-ms 200] [--stall-ms 5000] [--start-ms 30000]"
                    + " [--property key=value]...");
            return;
        }
        ClientSupport.allowOAuthUrls(a.properties);
        ConsumeFor c = new ConsumeFor(a);
        startWatchdog(c, a.durationMs + 60_000L);
        try {
            String ok = c.run();
            System.out.println(ok);
            System.out.flush();
            System.exit(0);
        } catch (Throwable e) {
            c.fail(phase + ": " + ClientSupport.describe(e));
        }
    }

    private String run() throws Exception {
        Properties pp = new Properties();
        pp.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, a.bootstrap);
        pp.put(ProducerConfig.CLIENT_ID_CONFIG, "consumefor-producer");
        pp.put(ProducerConfig.ACKS_CONFIG, "all");
        pp.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, "true");
        pp.put(ProducerConfig.LINGER_MS_CONFIG, "0");
        pp.put(ProducerConfig.MAX_BLOCK_MS_CONFIG, "15000");
        pp.put(ProducerConfig.REQUEST_TIMEOUT_MS_CONFIG, "10000");
        pp.put(ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, "20000");
        pp.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
        pp.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
        pp.putAll(a.properties);

        Properties cp = new Properties();
        cp.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, a.bootstrap);
        cp.put(ConsumerConfig.CLIENT_ID_CONFIG, "consumefor-consumer");
        cp.put(ConsumerConfig.GROUP_ID_CONFIG, a.group);
        cp.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        cp.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
        cp.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
        cp.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
        cp.putAll(a.properties);

        phase = "create clients";
        start = System.nanoTime();
        producer = new KafkaProducer<>(pp);
        consumer = new KafkaConsumer<>(cp);
        consumer.subscribe(List.of(a.topic));

        long end = start + a.durationMs * 1_000_000L;
        long interval = a.intervalMs * 1_000_000L;
        long nextSend = start;
        long nextCheck = start;
        long nextProgress = start + 2_000_000_000L;
        phase = "run";
        for (long now = System.nanoTime(); now < end; now = System.nanoTime()) {
            if (now >= nextSend) {
                send();
                nextSend += interval;
                if (nextSend < now) {
                    nextSend = now + interval; // a slow poll: do not burst to catch up
                }
            }
            long waitMs = Math.max(1, Math.min(50, (nextSend - System.nanoTime()) / 1_000_000L));
            consume(consumer.poll(Duration.ofMillis(waitMs)), true);
            now = System.nanoTime();
            checkErrors();
            checkStalls(now, true);
            if (now >= nextCheck) {
                checkConnections();
                nextCheck = now + 500_000_000L;
            }
            if (now >= nextProgress) {
                System.out.println("progress " + counts());
                System.out.flush();
                nextProgress += 2_000_000_000L;
            }
        }

        phase = "flush";
        producer.flush();
        checkErrors();
        if (acked.get() != sent) {
            fail("flush: " + (sent - acked.get()) + " record(s) not acknowledged");
        }

        // Every acknowledged record must arrive; the stall limit bounds the wait.
        phase = "drain";
        if (progressNanos != 0) {
            progressNanos = System.nanoTime(); // the flush took its time: give the drain a full stall period
        }
        while (seen.cardinality() < sent) {
            consume(consumer.poll(Duration.ofMillis(100)), false);
            checkErrors();
            checkStalls(System.nanoTime(), false);
        }
        phase = "final commit";
        consumer.commitSync(Duration.ofSeconds(10));
        checkErrors();
        phase = "final metrics";
        checkConnections();
        String summary = counts() + " " + metricsSummary();

        phase = "close";
        producer.close(Duration.ofSeconds(5));
        consumer.close(CloseOptions.timeout(Duration.ofSeconds(5)));
        return "OK " + summary;
    }

    private void send() {
        final long i = sent++;
        producer.send(new ProducerRecord<>(a.topic, "k-" + i, prefix + i), (md, e) -> {
            if (e != null) {
                errors.add("send of record " + i + " failed: " + ClientSupport.describe(e));
                return;
            }
            acked.incrementAndGet();
            lastAckNanos.set(System.nanoTime());
        });
    }

    private void consume(ConsumerRecords<String, String> records, boolean commit) {
        for (ConsumerRecord<String, String> r : records) {
            String v = r.value();
            if (v == null || !v.startsWith(prefix)) {
                continue; // an earlier run's record
            }
            int i = Integer.parseInt(v.substring(prefix.length()));
            if (seen.get(i)) {
                duplicates++;
                continue;
            }
            seen.set(i);
            long now = System.nanoTime();
            if (lastConsumedNanos != 0) {
                maxGapNanos = Math.max(maxGapNanos, now - lastConsumedNanos);
            }
            lastConsumedNanos = now;
            progressNanos = now;
        }
        if (commit && !records.isEmpty()) {
            consumer.commitAsync((offsets, e) -> {
                if (e != null) {
                    errors.add("commit failed: " + ClientSupport.describe(e));
                }
            });
        }
    }

    private void checkErrors() {
        String e = errors.peek();
        if (e != null) {
            fail(e);
        }
    }

    private void checkStalls(long now, boolean producing) {
        long stall = a.stallMs * 1_000_000L;
        long startLimit = a.startMs * 1_000_000L;
        if (progressNanos == 0) {
            if (now - start > startLimit) {
                fail("no record consumed within " + a.startMs + " ms of the start");
            }
        } else if (now - progressNanos > stall && (producing || seen.cardinality() < sent)) {
            fail(String.format("the consumer made no progress for %d ms", (now - progressNanos) / 1_000_000L));
        }
        long lastAck = lastAckNanos.get();
        if (lastAck == 0) {
            if (now - start > startLimit) {
                fail("no record acknowledged within " + a.startMs + " ms of the start");
            }
        } else if (acked.get() < sent && now - lastAck > stall) {
            fail(String.format("the producer got no acknowledgement for %d ms", (now - lastAck) / 1_000_000L));
        }
    }

    private void checkConnections() {
        for (String who : new String[] {"producer", "consumer"}) {
            Map<MetricName, ? extends Metric> m = who.equals("producer") ? producer.metrics() : consumer.metrics();
            String group = who + "-metrics";
            long failedAuth = total(m, group, "failed-authentication-total");
            long failedReauth = total(m, group, "failed-reauthentication-total");
            long closed = total(m, group, "connection-close-total");
            if (failedAuth > 0 || failedReauth > 0) {
                fail(String.format("%s: %d failed authentication(s) and %d failed re-authentication(s)",
                        who, failedAuth, failedReauth));
            }
            if (closed > 0) {
                fail(String.format("%s: %d connection(s) closed during the run (a dropped connection; the client"
                        + " would reconnect silently)", who, closed));
            }
        }
    }

    private String metricsSummary() {
        long reauth = 0;
        long created = 0;
        long closed = 0;
        long failed = 0;
        for (String who : new String[] {"producer", "consumer"}) {
            Map<MetricName, ? extends Metric> m = who.equals("producer") ? producer.metrics() : consumer.metrics();
            String group = who + "-metrics";
            reauth += total(m, group, "successful-reauthentication-total");
            created += total(m, group, "connection-creation-total");
            closed += total(m, group, "connection-close-total");
            failed += total(m, group, "failed-authentication-total") + total(m, group, "failed-reauthentication-total");
        }
        return String.format("reauthentications=%d connections=%d connection_closes=%d failed_authentications=%d"
                + " max_gap_ms=%d", reauth, created, closed, failed, maxGapNanos / 1_000_000L);
    }

    private static long total(Map<MetricName, ? extends Metric> metrics, String group, String name) {
        double sum = 0;
        for (Map.Entry<MetricName, ? extends Metric> e : metrics.entrySet()) {
            MetricName n = e.getKey();
            if (n.group().equals(group) && n.name().equals(name)) {
                Object v = e.getValue().metricValue();
                if (v instanceof Number num) {
                    sum += num.doubleValue();
                }
            }
        }
        return Math.round(sum);
    }

    private String counts() {
        return String.format("produced=%d acked=%d consumed=%d duplicates=%d elapsed_ms=%d topic=%s group=%s",
                sent, acked.get(), seen.cardinality(), duplicates, (System.nanoTime() - start) / 1_000_000L,
                a.topic, a.group);
    }

    /** Prints the FAIL line with the counts so far and halts. */
    private void fail(String message) {
        String c;
        try {
            c = start == 0 ? "" : " (" + counts() + ")";
        } catch (RuntimeException e) {
            c = "";
        }
        ClientSupport.fail(message + c);
    }

    private static void startWatchdog(ConsumeFor c, long millis) {
        Thread t = new Thread(() -> {
            try {
                Thread.sleep(millis);
            } catch (InterruptedException e) {
                return;
            }
            ClientSupport.fail("timeout after " + millis + " ms in phase " + phase);
        }, "consumefor-watchdog");
        t.setDaemon(true);
        t.start();
    }

    /** Command-line arguments. */
    private static final class Args {
        String bootstrap;
        String topic;
        String group;
        long durationMs = -1;
        long intervalMs = 200;
        long stallMs = 5000;
        long startMs = 30000;
        final Map<String, String> properties = new LinkedHashMap<>();

        static Args parse(String[] argv) {
            Args a = new Args();
            for (int i = 0; i < argv.length; i++) {
                String flag = argv[i];
                if (i + 1 >= argv.length) {
                    throw new IllegalArgumentException("missing value for " + flag);
                }
                String v = argv[++i];
                switch (flag) {
                    case "--bootstrap" -> a.bootstrap = v;
                    case "--topic" -> a.topic = v;
                    case "--group" -> a.group = v;
                    case "--duration-ms" -> a.durationMs = parseLong(flag, v);
                    case "--interval-ms" -> a.intervalMs = parseLong(flag, v);
                    case "--stall-ms" -> a.stallMs = parseLong(flag, v);
                    case "--start-ms" -> a.startMs = parseLong(flag, v);
                    case "--property" -> {
                        int eq = v.indexOf('=');
                        if (eq <= 0) {
                            throw new IllegalArgumentException("--property wants key=value, got " + v);
                        }
                        a.properties.put(v.substring(0, eq), v.substring(eq + 1));
                    }
                    default -> throw new IllegalArgumentException("unknown argument " + flag);
                }
            }
            if (a.bootstrap == null || a.topic == null || a.group == null || a.durationMs < 1) {
                throw new IllegalArgumentException("--bootstrap, --topic, --group and --duration-ms >= 1 are required");
            }
            if (a.intervalMs < 1 || a.stallMs < 1 || a.startMs < 1) {
                throw new IllegalArgumentException("--interval-ms, --stall-ms and --start-ms must be >= 1");
            }
            return a;
        }

        private static long parseLong(String flag, String v) {
            try {
                return Long.parseLong(v);
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException(flag + " wants a number, got " + v);
            }
        }
    }
}
