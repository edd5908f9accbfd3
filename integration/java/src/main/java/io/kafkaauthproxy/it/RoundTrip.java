package io.kafkaauthproxy.it;

import java.time.Duration;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.UUID;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;

import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;

/**
 * Produces records with the Java client and consumes them back in a consumer
 * group, for the integration tests.
 *
 * <pre>
 * RoundTrip --bootstrap HOST:PORT --topic T --count N --group G
 *           [--property key=value]... [--timeout-seconds S]
 * </pre>
 *
 * <p>It produces {@code count} records (acks=all, idempotence on) with values
 * unique to this run, consumes the topic from the start in group {@code G},
 * committing after every poll, and checks that every value of this run
 * arrived. Each {@code --property} is applied to both the producer and the
 * consumer, after the defaults (so SASL or TLS settings can be passed). On
 * success it prints one line starting with {@code OK} and exits 0; on any
 * failure or after the timeout (default 60 s) it prints one line starting
 * with {@code FAIL} and exits 1.
 *
 * <p>When the JVM system property
 * {@code org.apache.kafka.sasl.oauthbearer.allowed.urls} is not set, the
 * {@code sasl.oauthbearer.token.endpoint.url} and
 * {@code sasl.oauthbearer.jwks.endpoint.url} properties given are allowed
 * (Kafka 4 refuses to contact any other URL).
 */
public final class RoundTrip {
    private static volatile String phase = "starting";

    private RoundTrip() {
    }

    public static void main(String[] args) {
        if (System.getProperty("org.slf4j.simpleLogger.defaultLogLevel") == null) {
            System.setProperty("org.slf4j.simpleLogger.defaultLogLevel", "warn");
        }
        Args a;
        try {
            a = Args.parse(args);
        } catch (IllegalArgumentException e) {
            fail(e.getMessage() + "; usage: RoundTrip --bootstrap HOST:PORT --topic T --count N --group G"
                    + " [--property key=value]... [--timeout-seconds S]");
            return;
        }
        ClientSupport.allowOAuthUrls(a.properties);
        startWatchdog(a.timeoutSeconds);
        try {
            System.out.println(run(a));
            System.out.flush();
            System.exit(0);
        } catch (Throwable e) {
            fail(phase + ": " + describe(e));
        }
    }

    private static String run(Args a) throws Exception {
        long start = System.nanoTime();
        String runId = UUID.randomUUID().toString();

        Properties pp = new Properties();
        pp.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, a.bootstrap);
        pp.put(ProducerConfig.CLIENT_ID_CONFIG, "roundtrip-producer");
        pp.put(ProducerConfig.ACKS_CONFIG, "all");
        pp.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, "true");
        pp.put(ProducerConfig.MAX_BLOCK_MS_CONFIG, "30000");
        pp.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
        pp.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
        pp.putAll(a.properties);

        phase = "produce";
        try (KafkaProducer<String, String> producer = new KafkaProducer<>(pp)) {
            List<Future<RecordMetadata>> sent = new ArrayList<>(a.count);
            for (int i = 0; i < a.count; i++) {
                sent.add(producer.send(new ProducerRecord<>(a.topic, "k-" + i, runId + "-" + i)));
            }
            producer.flush();
            for (int i = 0; i < a.count; i++) {
                try {
                    sent.get(i).get();
                } catch (ExecutionException e) {
                    throw new Exception("record " + i + " not acknowledged", e.getCause());
                }
            }
        }
        long produced = System.nanoTime();

        Properties cp = new Properties();
        cp.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, a.bootstrap);
        cp.put(ConsumerConfig.CLIENT_ID_CONFIG, "roundtrip-consumer");
        cp.put(ConsumerConfig.GROUP_ID_CONFIG, a.group);
        cp.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        cp.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
        cp.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
        cp.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
        cp.putAll(a.properties);

        phase = "consume";
        BitSet seen = new BitSet(a.count);
        int duplicates = 0;
        long polled = 0;
        String prefix = runId + "-";
        try (KafkaConsumer<String, String> consumer = new KafkaConsumer<>(cp)) {
            consumer.subscribe(List.of(a.topic));
            while (seen.cardinality() < a.count) {
                ConsumerRecords<String, String> records = consumer.poll(Duration.ofMillis(500));
                for (ConsumerRecord<String, String> r : records) {
                    polled++;
                    String v = r.value();
                    if (v == null || !v.startsWith(prefix)) {
                        continue; // an earlier run's record
                    }
                    int i = Integer.parseInt(v.substring(prefix.length()));
                    if (i < 0 || i >= a.count) {
                        throw new Exception("unexpected value " + v);
                    }
                    if (seen.get(i)) {
                        duplicates++;
                    }
                    seen.set(i);
                }
                if (!records.isEmpty()) {
                    phase = "commit";
                    consumer.commitSync(Duration.ofSeconds(30));
                    phase = "consume (" + seen.cardinality() + "/" + a.count + " values)";
                }
            }
        }
        long done = System.nanoTime();
        return String.format("OK produced=%d consumed=%d duplicates=%d polled=%d topic=%s group=%s produce_ms=%d consume_ms=%d",
                a.count, seen.cardinality(), duplicates, polled, a.topic, a.group,
                (produced - start) / 1_000_000, (done - produced) / 1_000_000);
    }

    private static void startWatchdog(int seconds) {
        Thread t = new Thread(() -> {
            try {
                Thread.sleep(seconds * 1000L);
            } catch (InterruptedException e) {
                return;
            }
            fail("timeout after " + seconds + "s in phase " + phase);
        }, "roundtrip-watchdog");
        t.setDaemon(true);
        t.start();
    }

    /** Prints one FAIL line and halts with status 1, without waiting for client threads. */
    private static void fail(String message) {
        System.out.println("FAIL: " + message.replace('\n', ' '));
        System.out.flush();
        Runtime.getRuntime().halt(1);
    }

    private static String describe(Throwable e) {
        return ClientSupport.describe(e);
    }

    /** Command-line arguments. */
    private static final class Args {
        String bootstrap;
        String topic;
        String group;
        int count = -1;
        int timeoutSeconds = 60;
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
                    case "--count" -> a.count = parseInt(flag, v);
                    case "--timeout-seconds" -> a.timeoutSeconds = parseInt(flag, v);
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
            if (a.bootstrap == null || a.topic == null || a.group == null || a.count < 1) {
                throw new IllegalArgumentException("--bootstrap, --topic, --group and --count >= 1 are required");
            }
            if (a.timeoutSeconds < 1) {
                throw new IllegalArgumentException("--timeout-seconds must be >= 1");
            }
            return a;
        }

        private static int parseInt(String flag, String v) {
            try {
                return Integer.parseInt(v);
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException(flag + " wants a number, got " + v);
            }
        }
    }
}
