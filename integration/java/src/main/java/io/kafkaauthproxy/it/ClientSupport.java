package io.kafkaauthproxy.it;

import java.util.LinkedHashSet;
import java.util.Map;
import java.util.Set;

/** Helpers shared by the main classes of the integration test client. */
final class ClientSupport {
    /**
     * The JVM system property that Kafka 4 clients (and brokers) check before
     * they contact an OAuth token or JWKS endpoint: a comma-separated list of
     * allowed URLs. Unset means none is allowed.
     */
    static final String ALLOWED_URLS_PROPERTY = "org.apache.kafka.sasl.oauthbearer.allowed.urls";

    /** Client properties naming URLs that the OAUTHBEARER login handler fetches. */
    private static final String[] URL_PROPERTIES = {
        "sasl.oauthbearer.token.endpoint.url",
        "sasl.oauthbearer.jwks.endpoint.url",
    };

    private ClientSupport() {
    }

    /**
     * When the JVM was started without {@value #ALLOWED_URLS_PROPERTY}, allows
     * the token and JWKS endpoint URLs named in the client properties, so an
     * OAUTHBEARER login against a test identity provider works without extra
     * JVM arguments. Returns the value set, or null when nothing was changed.
     */
    static String allowOAuthUrls(Map<String, String> properties) {
        if (System.getProperty(ALLOWED_URLS_PROPERTY) != null) {
            return null;
        }
        Set<String> urls = new LinkedHashSet<>();
        for (String key : URL_PROPERTIES) {
            String v = properties.get(key);
            if (v != null && !v.isBlank()) {
                urls.add(v.trim());
            }
        }
        if (urls.isEmpty()) {
            return null;
        }
        String value = String.join(",", urls);
        System.setProperty(ALLOWED_URLS_PROPERTY, value);
        return value;
    }

    /**
     * The chain of causes of e, as "Class: message: caused by Class: message",
     * each message cut at its first line (some, like the LoginException of
     * the OAuth login handler, carry a whole stack trace).
     */
    static String describe(Throwable e) {
        StringBuilder b = new StringBuilder();
        for (Throwable c = e; c != null; c = c.getCause()) {
            if (b.length() > 0) {
                b.append(": caused by ");
            }
            String m = String.valueOf(c.getMessage());
            int nl = m.indexOf('\n');
            if (nl >= 0) {
                m = m.substring(0, nl).strip() + " [...]";
            }
            b.append(c.getClass().getSimpleName()).append(": ").append(m);
            if (c.getCause() == c) {
                break;
            }
        }
        return b.toString();
    }

    /** Prints one FAIL line and halts with status 1, without waiting for client threads. */
    static void fail(String message) {
        System.out.println("FAIL: " + message.replace('\n', ' '));
        System.out.flush();
        Runtime.getRuntime().halt(1);
    }
}
