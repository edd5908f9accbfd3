package io.kafkaauthproxy.it;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.AlterConfigOp;
import org.apache.kafka.clients.admin.AlterConfigsOptions;
import org.apache.kafka.clients.admin.ConfigEntry;
import org.apache.kafka.clients.admin.CreatePartitionsOptions;
import org.apache.kafka.clients.admin.CreateTopicsOptions;
import org.apache.kafka.clients.admin.GroupListing;
import org.apache.kafka.clients.admin.NewPartitions;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.admin.RecordsToDelete;
import org.apache.kafka.clients.admin.TransactionListing;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.acl.AccessControlEntry;
import org.apache.kafka.common.acl.AclBinding;
import org.apache.kafka.common.acl.AclBindingFilter;
import org.apache.kafka.common.acl.AclOperation;
import org.apache.kafka.common.acl.AclPermissionType;
import org.apache.kafka.common.config.ConfigResource;
import org.apache.kafka.common.errors.ApiException;
import org.apache.kafka.common.resource.PatternType;
import org.apache.kafka.common.resource.ResourcePattern;
import org.apache.kafka.common.resource.ResourceType;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;

/**
 * Runs authorization probes with the Java producer, consumer and admin
 * client and prints what each one got, so that a test can compare a broker
 * enforcing ACLs with the proxy enforcing the same ACLs.
 *
 * <pre>
 * AuthzProbe --bootstrap HOST:PORT --step STEP [--step STEP]...
 *            [--property key=value]... [--timeout-seconds 180]
 * </pre>
 *
 * <p>A step is a verb and its arguments separated by ':', e.g.
 * {@code produce:orders} or {@code consume:orders:orders-app}. For each step,
 * in order, it prints one line
 *
 * <pre>
 * STEP &lt;step&gt; &lt;result&gt;
 * </pre>
 *
 * <p>where the result is {@code OK}, {@code OK [a,b]} for the steps that
 * list names, or the simple class name of the Kafka {@link ApiException}
 * the client threw (e.g. {@code TopicAuthorizationException}), or of the
 * outermost exception when none is an ApiException; a line {@code DETAIL
 * <step> <causes>} follows a failed step. Each step has its own clients,
 * which are closed after it; Kafka calls time out after about 20 seconds.
 * After the last step it prints a line starting with {@code OK} and exits 0;
 * bad arguments or the overall timeout print {@code FAIL: ...} and exit 1.
 *
 * <p>Steps (T a topic, G a group, X a transactional id):
 * <ul>
 * <li>{@code produce:T} one record to T, acks=all, idempotent
 * <li>{@code consume:T:G} subscribe to T in group G, poll until assigned, commit the positions
 * <li>{@code fetch:T} assign partition 0 of T without a group and poll from the start
 * <li>{@code txn:X:T} initTransactions with id X, one record to T, commit
 * <li>{@code describe-topic:T}, {@code list-topics}, {@code list-offsets:T}
 * <li>{@code create-topic:T}, {@code create-partitions:T}, {@code alter-config:T} (all validate-only)
 * <li>{@code delete-topic:T}, {@code delete-records:T} (before offset 0: deletes nothing)
 * <li>{@code describe-configs:T}, {@code describe-broker-configs:ID}
 * <li>{@code list-groups}, {@code describe-group:G}, {@code group-offsets:G}, {@code delete-group:G}
 * <li>{@code describe-producers:T}, {@code describe-txn:X}, {@code list-txns}
 * <li>{@code describe-acls}, {@code create-acl} (ALLOW User:nobody Read on topic nobody)
 * <li>{@code describe-cluster}
 * </ul>
 */
public final class AuthzProbe {
    private static volatile String phase = "starting";
    private static final Duration CALL = Duration.ofSeconds(20);

    private final String bootstrap;
    private final Map<String, String> properties;

    private AuthzProbe(String bootstrap, Map<String, String> properties) {
        this.bootstrap = bootstrap;
        this.properties = properties;
    }

    public static void main(String[] args) {
        if (System.getProperty("org.slf4j.simpleLogger.defaultLogLevel") == null) {
            System.setProperty("org.slf4j.simpleLogger.defaultLogLevel", "error");
        }
        String bootstrap = null;
        List<String> steps = new ArrayList<>();
        Map<String, String> props = new LinkedHashMap<>();
        int timeoutSeconds = 180;
        for (int i = 0; i < args.length; i++) {
            String flag = args[i];
            if (i + 1 >= args.length) {
                ClientSupport.fail("missing value for " + flag);
            }
            String v = args[++i];
            switch (flag) {
                case "--bootstrap" -> bootstrap = v;
                case "--step" -> steps.add(v);
                case "--timeout-seconds" -> timeoutSeconds = Integer.parseInt(v);
                case "--property" -> {
                    int eq = v.indexOf('=');
                    if (eq <= 0) {
                        ClientSupport.fail("--property wants key=value, got " + v);
                    }
                    props.put(v.substring(0, eq), v.substring(eq + 1));
                }
                default -> ClientSupport.fail("unknown argument " + flag
                        + "; usage: AuthzProbe --bootstrap HOST:PORT --step STEP... [--property key=value]...");
            }
        }
        if (bootstrap == null || steps.isEmpty()) {
            ClientSupport.fail("--bootstrap and at least one --step are required");
        }
        ClientSupport.allowOAuthUrls(props);
        startWatchdog(timeoutSeconds);
        AuthzProbe p = new AuthzProbe(bootstrap, props);
        int failed = 0;
        for (String step : steps) {
            phase = step;
            String result;
            try {
                result = p.run(step);
            } catch (IllegalArgumentException e) {
                ClientSupport.fail("step " + step + ": " + e.getMessage());
                return;
            } catch (Throwable e) {
                failed++;
                result = classify(e);
                System.out.println("DETAIL " + step + " " + ClientSupport.describe(e));
            }
            System.out.println("STEP " + step + " " + result);
            System.out.flush();
        }
        System.out.println("OK steps=" + steps.size() + " errors=" + failed);
        System.out.flush();
        System.exit(0);
    }

    /** The simple name of the first ApiException among the causes of e, else of e itself. */
    static String classify(Throwable e) {
        for (Throwable c = e; c != null; c = c.getCause()) {
            if (c instanceof ApiException) {
                return c.getClass().getSimpleName();
            }
            if (c.getCause() == c) {
                break;
            }
        }
        Throwable top = e;
        while ((top instanceof ExecutionException || top instanceof CompletionException) && top.getCause() != null) {
            top = top.getCause();
        }
        return top.getClass().getSimpleName();
    }

    private String run(String step) throws Exception {
        String[] a = step.split(":", -1);
        String verb = a[0];
        switch (verb) {
            case "produce" -> {
                need(a, 2);
                try (KafkaProducer<String, String> p = producer(null)) {
                    p.send(new ProducerRecord<>(a[1], "probe", "probe")).get(CALL.toMillis(), TimeUnit.MILLISECONDS);
                }
                return "OK";
            }
            case "txn" -> {
                need(a, 3);
                try (KafkaProducer<String, String> p = producer(a[1])) {
                    p.initTransactions();
                    p.beginTransaction();
                    p.send(new ProducerRecord<>(a[2], "probe", "txn")).get(CALL.toMillis(), TimeUnit.MILLISECONDS);
                    p.commitTransaction();
                }
                return "OK";
            }
            case "consume" -> {
                need(a, 3);
                try (KafkaConsumer<String, String> c = consumer(a[2])) {
                    c.subscribe(List.of(a[1]));
                    long deadline = System.nanoTime() + CALL.toNanos();
                    while (c.assignment().isEmpty()) {
                        if (System.nanoTime() > deadline) {
                            throw new Exception("no partition assigned within " + CALL);
                        }
                        c.poll(Duration.ofMillis(200));
                    }
                    for (TopicPartition tp : c.assignment()) {
                        c.position(tp, CALL);
                    }
                    c.commitSync(CALL);
                }
                return "OK";
            }
            case "fetch" -> {
                need(a, 2);
                try (KafkaConsumer<String, String> c = consumer(null)) {
                    TopicPartition tp = new TopicPartition(a[1], 0);
                    c.assign(List.of(tp));
                    c.seekToBeginning(List.of(tp));
                    long deadline = System.nanoTime() + Duration.ofSeconds(3).toNanos();
                    while (System.nanoTime() < deadline) {
                        if (!c.poll(Duration.ofMillis(200)).isEmpty()) {
                            break;
                        }
                    }
                }
                return "OK";
            }
            default -> {
                try (Admin admin = Admin.create(adminProps())) {
                    return runAdmin(admin, a);
                }
            }
        }
    }

    private String runAdmin(Admin admin, String[] a) throws Exception {
        switch (a[0]) {
            case "describe-topic" -> {
                need(a, 2);
                admin.describeTopics(List.of(a[1])).allTopicNames().get();
                return "OK";
            }
            case "list-topics" -> {
                need(a, 1);
                return "OK " + sorted(admin.listTopics().names().get());
            }
            case "list-offsets" -> {
                need(a, 2);
                admin.listOffsets(Map.of(new TopicPartition(a[1], 0), OffsetSpec.latest())).all().get();
                return "OK";
            }
            case "create-topic" -> {
                need(a, 2);
                admin.createTopics(List.of(new NewTopic(a[1], 1, (short) 1)), new CreateTopicsOptions().validateOnly(true))
                        .all().get();
                return "OK";
            }
            case "create-partitions" -> {
                need(a, 2);
                admin.createPartitions(Map.of(a[1], NewPartitions.increaseTo(2)), new CreatePartitionsOptions().validateOnly(true))
                        .all().get();
                return "OK";
            }
            case "alter-config" -> {
                need(a, 2);
                ConfigResource r = new ConfigResource(ConfigResource.Type.TOPIC, a[1]);
                AlterConfigOp op = new AlterConfigOp(new ConfigEntry("retention.ms", "3600000"), AlterConfigOp.OpType.SET);
                admin.incrementalAlterConfigs(Map.of(r, List.of(op)), new AlterConfigsOptions().validateOnly(true)).all().get();
                return "OK";
            }
            case "delete-topic" -> {
                need(a, 2);
                admin.deleteTopics(List.of(a[1])).all().get();
                return "OK";
            }
            case "delete-records" -> {
                need(a, 2);
                admin.deleteRecords(Map.of(new TopicPartition(a[1], 0), RecordsToDelete.beforeOffset(0))).all().get();
                return "OK";
            }
            case "describe-configs" -> {
                need(a, 2);
                admin.describeConfigs(List.of(new ConfigResource(ConfigResource.Type.TOPIC, a[1]))).all().get();
                return "OK";
            }
            case "describe-broker-configs" -> {
                need(a, 2);
                admin.describeConfigs(List.of(new ConfigResource(ConfigResource.Type.BROKER, a[1]))).all().get();
                return "OK";
            }
            case "list-groups" -> {
                need(a, 1);
                Set<String> names = new TreeSet<>();
                for (GroupListing g : admin.listGroups().all().get()) {
                    names.add(g.groupId());
                }
                return "OK " + sorted(names);
            }
            case "describe-group" -> {
                need(a, 2);
                admin.describeConsumerGroups(List.of(a[1])).all().get();
                return "OK";
            }
            case "group-offsets" -> {
                need(a, 2);
                admin.listConsumerGroupOffsets(a[1]).partitionsToOffsetAndMetadata().get();
                return "OK";
            }
            case "delete-group" -> {
                need(a, 2);
                admin.deleteConsumerGroups(List.of(a[1])).all().get();
                return "OK";
            }
            case "describe-producers" -> {
                need(a, 2);
                admin.describeProducers(List.of(new TopicPartition(a[1], 0))).all().get();
                return "OK";
            }
            case "describe-txn" -> {
                need(a, 2);
                admin.describeTransactions(List.of(a[1])).all().get();
                return "OK";
            }
            case "list-txns" -> {
                need(a, 1);
                Set<String> ids = new TreeSet<>();
                for (TransactionListing l : admin.listTransactions().all().get()) {
                    ids.add(l.transactionalId());
                }
                return "OK " + sorted(ids);
            }
            case "describe-acls" -> {
                need(a, 1);
                admin.describeAcls(AclBindingFilter.ANY).values().get();
                return "OK";
            }
            case "create-acl" -> {
                need(a, 1);
                AclBinding b = new AclBinding(new ResourcePattern(ResourceType.TOPIC, "nobody", PatternType.LITERAL),
                        new AccessControlEntry("User:nobody", "*", AclOperation.READ, AclPermissionType.ALLOW));
                admin.createAcls(List.of(b)).all().get();
                return "OK";
            }
            case "describe-cluster" -> {
                need(a, 1);
                admin.describeCluster().clusterId().get();
                return "OK";
            }
            default -> throw new IllegalArgumentException("unknown step verb " + a[0]);
        }
    }

    private static void need(String[] a, int n) {
        if (a.length != n) {
            throw new IllegalArgumentException(a[0] + " takes " + (n - 1) + " argument(s) separated by ':'");
        }
    }

    private static String sorted(Collection<String> names) {
        return "[" + String.join(",", new TreeSet<>(names)) + "]";
    }

    private KafkaProducer<String, String> producer(String transactionalId) {
        Properties p = new Properties();
        p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        p.put(ProducerConfig.CLIENT_ID_CONFIG, "authz-probe-producer");
        p.put(ProducerConfig.ACKS_CONFIG, "all");
        p.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, "true");
        p.put(ProducerConfig.MAX_BLOCK_MS_CONFIG, "15000");
        p.put(ProducerConfig.REQUEST_TIMEOUT_MS_CONFIG, "10000");
        p.put(ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, "15000");
        p.put(ProducerConfig.LINGER_MS_CONFIG, "0");
        p.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
        p.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
        if (transactionalId != null) {
            p.put(ProducerConfig.TRANSACTIONAL_ID_CONFIG, transactionalId);
            p.put(ProducerConfig.TRANSACTION_TIMEOUT_CONFIG, "30000");
        }
        p.putAll(properties);
        return new KafkaProducer<>(p);
    }

    private KafkaConsumer<String, String> consumer(String group) {
        Properties p = new Properties();
        p.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        p.put(ConsumerConfig.CLIENT_ID_CONFIG, "authz-probe-consumer");
        if (group != null) {
            p.put(ConsumerConfig.GROUP_ID_CONFIG, group);
        }
        p.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        p.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
        p.put(ConsumerConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, "20000");
        p.put(ConsumerConfig.REQUEST_TIMEOUT_MS_CONFIG, "10000");
        p.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
        p.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
        p.putAll(properties);
        return new KafkaConsumer<>(p);
    }

    private Properties adminProps() {
        Properties p = new Properties();
        p.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        p.put(AdminClientConfig.CLIENT_ID_CONFIG, "authz-probe-admin");
        p.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, "20000");
        p.put(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, "10000");
        p.putAll(properties);
        return p;
    }

    private static void startWatchdog(int seconds) {
        Thread t = new Thread(() -> {
            try {
                Thread.sleep(seconds * 1000L);
            } catch (InterruptedException e) {
                return;
            }
            ClientSupport.fail("timeout after " + seconds + "s in step " + phase);
        }, "authzprobe-watchdog");
        t.setDaemon(true);
        t.start();
    }
}
