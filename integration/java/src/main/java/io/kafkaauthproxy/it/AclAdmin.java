package io.kafkaauthproxy.it;

import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Properties;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.DeleteAclsResult;
import org.apache.kafka.common.acl.AccessControlEntry;
import org.apache.kafka.common.acl.AccessControlEntryFilter;
import org.apache.kafka.common.acl.AclBinding;
import org.apache.kafka.common.acl.AclBindingFilter;
import org.apache.kafka.common.acl.AclOperation;
import org.apache.kafka.common.acl.AclPermissionType;
import org.apache.kafka.common.resource.PatternType;
import org.apache.kafka.common.resource.ResourcePattern;
import org.apache.kafka.common.resource.ResourcePatternFilter;
import org.apache.kafka.common.resource.ResourceType;

/**
 * Manages ACLs with the Java {@link Admin} client (CreateAcls, DescribeAcls,
 * DeleteAcls), as {@code kafka-acls.sh} does, for the integration tests.
 *
 * <pre>
 * AclAdmin --bootstrap HOST:PORT [--property key=value]... ACTION...
 *
 * ACTION is one of
 *   --create ACL      create one ACL
 *   --list PRINCIPAL  list the ACLs of PRINCIPAL ("any" for every ACL)
 *   --delete ACL      delete the ACLs that exactly match ACL
 * ACL is PRINCIPAL,RESOURCE_TYPE,PATTERN_TYPE,NAME,OPERATION,PERMISSION[,HOST]
 *   e.g. User:sa-1,TOPIC,LITERAL,orders,WRITE,ALLOW (host defaults to *)
 * </pre>
 *
 * <p>Actions run in order, each waiting for the server's answer. Each ACL
 * created, listed or deleted is printed as one line,
 * {@code CREATED|ACL|DELETED principal=P host=H resource=TYPE:PATTERN:NAME
 * operation=OP permission=PERM}, and the last line, on success, starts with
 * {@code OK}. The first error prints {@code FAIL: <action>: <causes>} (the
 * causes name the exception classes, e.g. ClusterAuthorizationException)
 * and exits 1.
 */
public final class AclAdmin {
    private AclAdmin() {
    }

    public static void main(String[] args) {
        if (System.getProperty("org.slf4j.simpleLogger.defaultLogLevel") == null) {
            System.setProperty("org.slf4j.simpleLogger.defaultLogLevel", "error");
        }
        String bootstrap = null;
        Map<String, String> props = new LinkedHashMap<>();
        List<String[]> actions = new ArrayList<>();
        for (int i = 0; i < args.length; i++) {
            String flag = args[i];
            if (i + 1 >= args.length) {
                ClientSupport.fail("missing value for " + flag);
            }
            String v = args[++i];
            switch (flag) {
                case "--bootstrap" -> bootstrap = v;
                case "--property" -> {
                    int eq = v.indexOf('=');
                    if (eq <= 0) {
                        ClientSupport.fail("--property wants key=value, got " + v);
                    }
                    props.put(v.substring(0, eq), v.substring(eq + 1));
                }
                case "--create", "--list", "--delete" -> actions.add(new String[] {flag.substring(2), v});
                default -> ClientSupport.fail("unknown argument " + flag);
            }
        }
        if (bootstrap == null || actions.isEmpty()) {
            ClientSupport.fail("usage: AclAdmin --bootstrap HOST:PORT [--property key=value]... (--create ACL | --list PRINCIPAL | --delete ACL)...");
        }
        ClientSupport.allowOAuthUrls(props);
        startWatchdog(120);

        Properties p = new Properties();
        p.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        p.put(AdminClientConfig.CLIENT_ID_CONFIG, "acl-admin");
        p.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, "30000");
        p.put(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, "15000");
        p.putAll(props);
        int created = 0;
        int listed = 0;
        int deleted = 0;
        try (Admin admin = Admin.create(p)) {
            for (String[] action : actions) {
                String what = action[0] + " " + action[1];
                try {
                    switch (action[0]) {
                        case "create" -> {
                            AclBinding b = parse(action[1]);
                            admin.createAcls(List.of(b)).all().get();
                            System.out.println("CREATED " + format(b));
                            created++;
                        }
                        case "list" -> {
                            AccessControlEntryFilter entry = action[1].equals("any")
                                    ? AccessControlEntryFilter.ANY
                                    : new AccessControlEntryFilter(action[1], null, AclOperation.ANY, AclPermissionType.ANY);
                            Collection<AclBinding> found = admin
                                    .describeAcls(new AclBindingFilter(ResourcePatternFilter.ANY, entry)).values().get();
                            for (AclBinding b : found) {
                                System.out.println("ACL " + format(b));
                                listed++;
                            }
                        }
                        case "delete" -> {
                            DeleteAclsResult r = admin.deleteAcls(List.of(parse(action[1]).toFilter()));
                            for (AclBinding b : r.all().get()) {
                                System.out.println("DELETED " + format(b));
                                deleted++;
                            }
                        }
                        default -> throw new IllegalStateException(action[0]);
                    }
                } catch (IllegalArgumentException e) {
                    ClientSupport.fail(what + ": " + e.getMessage());
                } catch (Exception e) {
                    ClientSupport.fail(what + ": " + ClientSupport.describe(e));
                }
                System.out.flush();
            }
        }
        System.out.println("OK created=" + created + " listed=" + listed + " deleted=" + deleted);
        System.out.flush();
        System.exit(0);
    }

    /** Parses PRINCIPAL,RESOURCE_TYPE,PATTERN_TYPE,NAME,OPERATION,PERMISSION[,HOST]. */
    static AclBinding parse(String spec) {
        String[] f = spec.split(",", -1);
        if (f.length != 6 && f.length != 7) {
            throw new IllegalArgumentException("ACL wants PRINCIPAL,RESOURCE_TYPE,PATTERN_TYPE,NAME,OPERATION,PERMISSION[,HOST], got " + spec);
        }
        ResourceType type = ResourceType.valueOf(f[1].toUpperCase(Locale.ROOT));
        PatternType pattern = PatternType.valueOf(f[2].toUpperCase(Locale.ROOT));
        AclOperation op = AclOperation.valueOf(f[4].toUpperCase(Locale.ROOT));
        AclPermissionType perm = AclPermissionType.valueOf(f[5].toUpperCase(Locale.ROOT));
        String host = f.length == 7 ? f[6] : "*";
        return new AclBinding(new ResourcePattern(type, f[3], pattern), new AccessControlEntry(f[0], host, op, perm));
    }

    static String format(AclBinding b) {
        ResourcePattern r = b.pattern();
        AccessControlEntry e = b.entry();
        return String.format("principal=%s host=%s resource=%s:%s:%s operation=%s permission=%s",
                e.principal(), e.host(), r.resourceType(), r.patternType(), r.name(), e.operation(), e.permissionType());
    }

    private static void startWatchdog(int seconds) {
        Thread t = new Thread(() -> {
            try {
                Thread.sleep(seconds * 1000L);
            } catch (InterruptedException e) {
                return;
            }
            ClientSupport.fail("timeout after " + seconds + "s");
        }, "acladmin-watchdog");
        t.setDaemon(true);
        t.start();
    }
}
