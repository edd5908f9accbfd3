//go:build integration

package compat_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl/plain"
	"gopkg.in/yaml.v3"

	"github.com/kafka-auth-proxy/kafka-auth-proxy/authn/apikey"
	"github.com/kafka-auth-proxy/kafka-auth-proxy/deploy"
	"github.com/kafka-auth-proxy/kafka-auth-proxy/integration/harness"
	"github.com/kafka-auth-proxy/kafka-auth-proxy/integration/oidc"
)

// target is the proxy the matrix runs through and what the test needs to
// know of it.
type target struct {
	name         string // for the table, e.g. "local: one broker, proxy binary"
	kafka        string // the broker version
	oidcProvider string // the identity provider, for the table
	bootstrap    string // the proxy's bootstrap address

	apiKey, apiSecret                     string // SASL/PLAIN
	tokenEndpoint, clientID, clientSecret string // OAUTHBEARER, client credentials

	// prefix starts every topic, group and transactional id the two
	// principals may use; deniedPrefix starts names they may not.
	prefix, deniedPrefix string
	// admin makes a client that may create topics under prefix (and, when
	// createDenied, under deniedPrefix) and read them back.
	admin        []kgo.Opt
	createDenied bool

	stop func() error
}

// The local target's principals: the API key's service account and the
// identity pool the OIDC provider's payments-app lands in.
const (
	localAccount = "sa-compat"
	localPool    = "pool-compat"
	localCluster = "lkc-compat"
	localPrefix  = "compat-"
)

// startLocal starts the matrix's own set-up: one Apache Kafka broker from
// Maven Central, the OIDC provider of package oidc, and the proxy binary
// built from this tree, configured by a file like deploy/proxy/config.yaml:
// an API key of sa-compat, an identity pool for tokens with the "payments"
// group, and ResourceOwner on the prefix compat- for both.
func startLocal(ctx context.Context) (_ *target, err error) {
	var stops []func() error
	stopAll := func() error {
		var errs []error
		for i := len(stops) - 1; i >= 0; i-- {
			errs = append(errs, stops[i]())
		}
		return errors.Join(errs...)
	}
	defer func() {
		if err != nil {
			err = errors.Join(err, stopAll())
		}
	}()
	cluster, err := harness.Start(ctx, harness.Options{Brokers: 1})
	if err != nil {
		return nil, fmt.Errorf("start kafka: %w", err)
	}
	stops = append(stops, cluster.Stop)
	idp, err := oidc.Start(ctx, oidc.Options{})
	if err != nil {
		return nil, fmt.Errorf("start the OIDC provider: %w", err)
	}
	stops = append(stops, idp.Stop)

	dir, err := os.MkdirTemp("", "kafka-auth-proxy-compat-*")
	if err != nil {
		return nil, err
	}
	stops = append(stops, func() error { return os.RemoveAll(dir) })
	bin := filepath.Join(dir, "kafka-auth-proxy")
	build := exec.CommandContext(ctx, "go", "build", "-o", bin, "github.com/kafka-auth-proxy/kafka-auth-proxy/cmd/kafka-auth-proxy")
	if out, err := build.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("build the proxy: %w\n%s", err, out)
	}
	ports, err := harness.FreePorts(3) // bootstrap, broker 1, metrics
	if err != nil {
		return nil, err
	}
	keyID, err := apikey.NewKeyID()
	if err != nil {
		return nil, err
	}
	secret, err := apikey.NewSecret()
	if err != nil {
		return nil, err
	}
	hash, err := apikey.HashSecret(secret)
	if err != nil {
		return nil, err
	}
	bootstrap := net.JoinHostPort("127.0.0.1", strconv.Itoa(ports[0]))
	metrics := net.JoinHostPort("127.0.0.1", strconv.Itoa(ports[2]))
	var bindings []map[string]string
	for _, principal := range []string{"User:" + localAccount, "User:" + localPool} {
		for _, rt := range []string{"topic", "group", "transactional_id"} {
			bindings = append(bindings, map[string]string{
				"principal": principal, "role": "ResourceOwner", "resource_type": rt, "name": localPrefix, "pattern": "prefixed",
			})
		}
	}
	cfg := map[string]any{
		"listener": map[string]any{"address": bootstrap, "broker_port_base": ports[1] - int(cluster.NodeIDs[0])},
		"upstream": map[string]any{"bootstrap": cluster.Bootstrap},
		"auth":     "sasl",
		"authentication": map[string]any{
			"cluster_id": localCluster, "failure_delay": "100ms",
		},
		"api_keys": map[string]any{
			"accounts": []map[string]string{{"id": localAccount}},
			// The proxy expands ${VAR} and $$ in values; $$ is a "$".
			"keys": []map[string]string{{"id": keyID, "secret_hash": strings.ReplaceAll(hash, "$", "$$"), "account": localAccount, "cluster": localCluster}},
		},
		"oidc": map[string]any{
			"providers": []map[string]any{{"name": "idp", "issuer": idp.Issuer, "audiences": []string{idp.Audience}}},
			"identity_pools": []map[string]string{{
				"id": localPool, "provider": "idp", "filter": `has(claims.groups) && "payments" in claims.groups`,
			}},
		},
		"authorization": map[string]any{"role_bindings": bindings},
		"metrics":       map[string]any{"address": metrics},
		"log":           map[string]any{"level": "warn"},
	}
	data, err := yaml.Marshal(cfg)
	if err != nil {
		return nil, err
	}
	file := filepath.Join(dir, "proxy.yaml")
	if err := os.WriteFile(file, data, 0o600); err != nil {
		return nil, err
	}
	stop, err := startProxyProcess(ctx, bin, file, filepath.Join(dir, "proxy.log"), metrics)
	if err != nil {
		return nil, err
	}
	stops = append(stops, stop)
	return &target{
		name:          "local: one broker started from Maven Central's jars, the proxy binary built from this tree",
		kafka:         cluster.KafkaVersion(),
		oidcProvider:  "a real OIDC provider (node oidc-provider, client-credentials grant)",
		bootstrap:     bootstrap,
		apiKey:        keyID,
		apiSecret:     secret,
		tokenEndpoint: idp.TokenURL,
		clientID:      oidc.PaymentsClientID,
		clientSecret:  oidc.PaymentsClientSecret,
		prefix:        localPrefix,
		deniedPrefix:  "denied-",
		admin:         []kgo.Opt{kgo.SeedBrokers(cluster.Bootstrap...)},
		createDenied:  true,
		stop:          stopAll,
	}, nil
}

// startProxyProcess runs `bin serve --config file`, logging to logFile,
// and waits until http://metrics/readyz answers 200. stop ends it with
// SIGTERM.
func startProxyProcess(ctx context.Context, bin, file, logFile, metrics string) (stop func() error, err error) {
	log, err := os.Create(logFile)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, "serve", "--config", file)
	cmd.Stdout, cmd.Stderr = log, log
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		log.Close()
		return nil, fmt.Errorf("start the proxy: %w", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait(); log.Close() }()
	stop = func() error {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
		return nil
	}
	tail := func() string {
		data, _ := os.ReadFile(logFile)
		if len(data) > 8<<10 {
			data = data[len(data)-8<<10:]
		}
		return string(bytes.TrimSpace(data))
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+metrics+"/readyz", nil)
		if resp, err := http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return stop, nil
			}
		}
		select {
		case err := <-exited:
			return nil, fmt.Errorf("the proxy exited before it was ready (%v); its log:\n%s", err, tail())
		case <-ctx.Done():
			return nil, errors.Join(fmt.Errorf("the proxy was not ready within 30s; its log:\n%s", tail()), stop())
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// targetEnv names the environment variable that picks the target: "local"
// (the default) or "compose", the stack of docker-compose.yml, which must
// be up (`docker compose up --build`).
const targetEnv = "KAP_COMPAT_TARGET"

// composeTarget targets the running docker compose stack with its demo
// credentials (package deploy). The test's own reads go through the proxy
// as the demo API key, which owns every name under deploy.ResourcePrefix;
// the denied topic is not created, as the demo principals may not.
func composeTarget(ctx context.Context) (*target, error) {
	admin := []kgo.Opt{
		kgo.SeedBrokers(deploy.Bootstrap),
		kgo.SASL(plain.Auth{User: deploy.APIKey, Pass: deploy.APISecret}.AsMechanism()),
	}
	cl, err := kgo.NewClient(admin...)
	if err != nil {
		return nil, err
	}
	defer cl.Close()
	if err := cl.Ping(ctx); err != nil {
		return nil, fmt.Errorf("the compose stack's proxy at %s does not answer (is `docker compose up` running?): %w", deploy.Bootstrap, err)
	}
	return &target{
		name:          "docker compose stack (docker-compose.yml)",
		kafka:         "of the apache/kafka image",
		oidcProvider:  "Keycloak (realm " + deploy.Realm + ")",
		bootstrap:     deploy.Bootstrap,
		apiKey:        deploy.APIKey,
		apiSecret:     deploy.APISecret,
		tokenEndpoint: deploy.TokenEndpoint,
		clientID:      deploy.ClientID,
		clientSecret:  deploy.ClientSecret,
		prefix:        deploy.ResourcePrefix,
		deniedPrefix:  "not-" + deploy.ResourcePrefix,
		admin:         admin,
		stop:          func() error { return nil },
	}, nil
}
