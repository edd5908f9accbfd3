package deploy

import (
	"encoding/base64"
	"encoding/json"
	"os"
	"os/exec"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

func TestComposeHasTheStacksServices(t *testing.T) {
	c := loadCompose(t)
	var names []string
	for name := range c.Services {
		names = append(names, name)
	}
	slices.Sort(names)
	want := []string{grafanaService, kafkaService, proxyService, keycloakService, prometheusService}
	slices.Sort(want)
	if !slices.Equal(names, want) {
		t.Fatalf("services %v, want %v", names, want)
	}
}

// pinnedTag is an image tag naming a release (4.4.0, v3.5.0, 26.7.3), not
// a moving one such as latest or a bare major version.
var pinnedTag = regexp.MustCompile(`^v?\d+\.\d+(\.\d+)?([-.][0-9A-Za-z.-]+)?$`)

func TestComposeImagesArePinnedOrBuilt(t *testing.T) {
	c := loadCompose(t)
	for name, s := range c.Services {
		t.Run(name, func(t *testing.T) {
			if s.Build != nil {
				df := path.Join(s.Build.Context, s.Build.Dockerfile)
				if _, err := os.Stat(repoFile(df)); err != nil {
					t.Fatalf("build: %v", err)
				}
				return
			}
			_, tag, ok := strings.Cut(s.Image[strings.LastIndexByte(s.Image, '/')+1:], ":")
			if !ok || !pinnedTag.MatchString(tag) {
				t.Errorf("image %q: pin a release tag", s.Image)
			}
		})
	}
}

func TestComposeBindMountsExistAndAreReadOnly(t *testing.T) {
	c := loadCompose(t)
	for name, s := range c.Services {
		for _, m := range s.mounts(t) {
			if !m.Bind() {
				if _, ok := c.Volumes[m.Source]; !ok {
					t.Errorf("%s: named volume %q is not declared under volumes", name, m.Source)
				}
				continue
			}
			if _, err := os.Stat(repoFile(m.Source)); err != nil {
				t.Errorf("%s: mounts %v", name, err)
			}
			if !m.ReadOnly {
				t.Errorf("%s: %s is mounted writable; the stack only reads the repository's files", name, m.Source)
			}
		}
	}
}

// The demo credentials are public, so nothing is reachable from other
// machines: every published port is bound to the loopback interface.
func TestComposePublishesOnLoopbackOnly(t *testing.T) {
	c := loadCompose(t)
	for name, s := range c.Services {
		for _, p := range s.published(t) {
			if p.HostIP != "127.0.0.1" {
				t.Errorf("%s publishes %d on %q; publish on 127.0.0.1", name, p.Host, p.HostIP)
			}
		}
	}
}

// Kafka is reached only through the proxy: its port is not published, and
// the proxy's upstream is its advertised listener on the compose network.
func TestComposeKafkaIsReachedThroughTheProxyOnly(t *testing.T) {
	c := loadCompose(t)
	kafka := c.service(t, kafkaService)
	if len(kafka.Ports) != 0 {
		t.Errorf("kafka publishes %v: clients would bypass the proxy", kafka.Ports)
	}
	env := kafka.Environment
	if !strings.Contains(env["KAFKA_PROCESS_ROLES"], "controller") || !strings.Contains(env["KAFKA_PROCESS_ROLES"], "broker") {
		t.Errorf("KAFKA_PROCESS_ROLES = %q, want a combined KRaft node", env["KAFKA_PROCESS_ROLES"])
	}
	if id, err := base64.RawURLEncoding.DecodeString(env["CLUSTER_ID"]); err != nil || len(id) != 16 {
		t.Errorf("CLUSTER_ID %q is not a base64url UUID (16 bytes)", env["CLUSTER_ID"])
	}
	for _, v := range []string{"KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR", "KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR", "KAFKA_TRANSACTION_STATE_LOG_MIN_ISR"} {
		if env[v] != "1" {
			t.Errorf("%s = %q; a single node needs 1 (groups and transactions fail otherwise)", v, env[v])
		}
	}
	cfg := loadProxyConfig(t)
	var advertised []string
	for _, l := range strings.Split(env["KAFKA_ADVERTISED_LISTENERS"], ",") {
		if u, ok := strings.CutPrefix(l, "PLAINTEXT://"); ok {
			advertised = append(advertised, u)
		}
	}
	if len(advertised) == 0 {
		t.Fatalf("KAFKA_ADVERTISED_LISTENERS %q has no PLAINTEXT listener", env["KAFKA_ADVERTISED_LISTENERS"])
	}
	if !slices.Equal(cfg.Upstream.Bootstrap, advertised) {
		t.Errorf("the proxy's upstream.bootstrap %v is not kafka's PLAINTEXT listener %v", cfg.Upstream.Bootstrap, advertised)
	}
	if host := strings.Split(advertised[0], ":")[0]; host != kafkaService && host != kafka.Hostname {
		t.Errorf("kafka advertises %s, which is not its name on the compose network", advertised[0])
	}
}

// The proxy publishes exactly its bootstrap port, the port of the Kafka
// node (broker_port_base + node id) and its metrics port, each on the same
// port on the host, because the proxy advertises its own port numbers.
func TestComposeProxyPortsMatchItsConfig(t *testing.T) {
	c := loadCompose(t)
	proxy := c.service(t, proxyService)
	cfg := loadProxyConfig(t)
	nodeID := c.service(t, kafkaService).Environment["KAFKA_NODE_ID"]

	bootstrapHost, bootstrapPort := urlHostPort(t, "kafka://"+Bootstrap)
	metricsHost, metricsPort := urlHostPort(t, MetricsURL)
	for _, tc := range []struct {
		what string
		port int
	}{
		{"bootstrap (listener.address)", port(t, cfg.Listener.Address)},
		{"broker " + nodeID + " (listener.broker_port_base + KAFKA_NODE_ID)", cfg.Listener.BrokerPortBase + atoi(t, nodeID)},
		{"metrics (metrics.address)", port(t, cfg.Metrics.Address)},
	} {
		if !proxy.publishes(t, tc.port) {
			t.Errorf("%s port %d is not published as %d:%d", tc.what, tc.port, tc.port, tc.port)
		}
	}
	if n := len(proxy.Ports); n != 3 {
		t.Errorf("the proxy publishes %d ports, want 3 (bootstrap, one broker, metrics)", n)
	}
	if bootstrapPort != port(t, cfg.Listener.Address) || bootstrapHost != cfg.Listener.AdvertisedHost {
		t.Errorf("Bootstrap %s: want advertised_host %s and the listener's port %d", Bootstrap, cfg.Listener.AdvertisedHost, port(t, cfg.Listener.Address))
	}
	if metricsHost != "localhost" || metricsPort != port(t, cfg.Metrics.Address) || !strings.HasSuffix(MetricsURL, "/metrics") {
		t.Errorf("MetricsURL %s does not match metrics.address %s", MetricsURL, cfg.Metrics.Address)
	}
	for _, a := range []string{cfg.Listener.Address, cfg.Metrics.Address} {
		if h, _, _ := strings.Cut(a, ":"); h != "0.0.0.0" && h != "" {
			t.Errorf("%s listens on %s only; inside a container it must listen on every interface", a, h)
		}
	}
}

// The proxy's command names a configuration file that a bind mount puts
// there, and its state file lives on a named volume.
func TestComposeProxyRunsTheMountedConfig(t *testing.T) {
	c := loadCompose(t)
	proxy := c.service(t, proxyService)
	if len(proxy.Command) != 3 || proxy.Command[0] != "serve" || proxy.Command[1] != "--config" {
		t.Fatalf("command %q, want serve --config FILE", proxy.Command)
	}
	if got := proxy.hostFile(t, proxy.Command[2]); got != proxyConfigFile {
		t.Errorf("--config %s is %q on the host, want %s", proxy.Command[2], got, proxyConfigFile)
	}
	cfg := loadProxyConfig(t)
	stateDir := path.Dir(cfg.APIKeys.StateFile)
	var onVolume bool
	for _, m := range proxy.mounts(t) {
		onVolume = onVolume || (!m.Bind() && m.Target == stateDir && !m.ReadOnly)
	}
	if !onVolume {
		t.Errorf("api_keys.state_file %s is not on a writable named volume", cfg.APIKeys.StateFile)
	}
	var deps map[string]any
	if err := proxy.DependsOn.Decode(&deps); err != nil || deps[kafkaService] == nil || deps[keycloakService] == nil {
		t.Errorf("the proxy does not depend on %s and %s: %v", kafkaService, keycloakService, err)
	}
}

// Keycloak imports the realm at start, and its front-end URL, the issuer
// of every token, is the one clients on the host use.
func TestComposeKeycloakImportsTheRealm(t *testing.T) {
	c := loadCompose(t)
	kc := c.service(t, keycloakService)
	if !slices.Contains(kc.Command, "--import-realm") {
		t.Errorf("command %q lacks --import-realm", kc.Command)
	}
	var imported bool
	for _, m := range kc.mounts(t) {
		imported = imported || (m.Source == "./"+realmFile && path.Dir(m.Target) == "/opt/keycloak/data/import" && strings.HasSuffix(m.Target, ".json"))
	}
	if !imported {
		t.Errorf("%s is not mounted into /opt/keycloak/data/import", realmFile)
	}
	if got := kc.Environment["KC_HOSTNAME"]; got != KeycloakURL {
		t.Errorf("KC_HOSTNAME = %q, want %s (the issuer clients on the host see)", got, KeycloakURL)
	}
	if got := kc.Environment["KC_HOSTNAME_BACKCHANNEL_DYNAMIC"]; got != "true" {
		t.Errorf("KC_HOSTNAME_BACKCHANNEL_DYNAMIC = %q; the proxy reaches Keycloak under another name", got)
	}
	_, kcPort := urlHostPort(t, KeycloakURL)
	if !kc.publishes(t, kcPort) {
		t.Errorf("Keycloak's port %d is not published", kcPort)
	}
	// The proxy reads the signing keys at Keycloak's name on the compose
	// network, on the port Keycloak listens on.
	cfg := loadProxyConfig(t)
	want := "http://" + keycloakService + ":" + strconv.Itoa(kcPort) + "/realms/" + Realm + "/protocol/openid-connect/certs"
	if got := cfg.OIDC.Providers[0].JWKSURI; got != want {
		t.Errorf("jwks_uri = %s, want %s", got, want)
	}
}

// prometheusConfig is the part of prometheus.yml the stack uses.
type prometheusConfig struct {
	Global struct {
		ScrapeInterval     string `yaml:"scrape_interval"`
		EvaluationInterval string `yaml:"evaluation_interval"`
	} `yaml:"global"`
	ScrapeConfigs []struct {
		JobName       string `yaml:"job_name"`
		MetricsPath   string `yaml:"metrics_path"`
		StaticConfigs []struct {
			Targets []string `yaml:"targets"`
		} `yaml:"static_configs"`
	} `yaml:"scrape_configs"`
}

// The image's default command reads this path.
const prometheusConfigPath = "/etc/prometheus/prometheus.yml"

func TestComposePrometheusScrapesTheProxy(t *testing.T) {
	c := loadCompose(t)
	prom := c.service(t, prometheusService)
	if got := prom.hostFile(t, prometheusConfigPath); got != prometheusFile {
		t.Errorf("%s is %q on the host, want %s", prometheusConfigPath, got, prometheusFile)
	}
	_, promPort := urlHostPort(t, PrometheusURL)
	if !prom.publishes(t, promPort) {
		t.Errorf("PrometheusURL's port %d is not published", promPort)
	}
	var pc prometheusConfig
	decodeYAMLStrict(t, prometheusFile, &pc)
	cfg := loadProxyConfig(t)
	want := proxyService + ":" + strconv.Itoa(port(t, cfg.Metrics.Address))
	var scraped bool
	for _, sc := range pc.ScrapeConfigs {
		for _, st := range sc.StaticConfigs {
			if slices.Contains(st.Targets, want) && (sc.MetricsPath == "" || sc.MetricsPath == "/metrics") {
				scraped = true
			}
		}
	}
	if !scraped {
		t.Errorf("%s does not scrape %s/metrics", prometheusFile, want)
	}
	if promtool, err := exec.LookPath("promtool"); err == nil {
		out, err := exec.Command(promtool, "check", "config", "--syntax-only", repoFile(prometheusFile)).CombinedOutput()
		if err != nil {
			t.Errorf("promtool check config: %v\n%s", err, out)
		}
		t.Logf("promtool check config: %s", strings.TrimSpace(string(out)))
	} else {
		t.Log("promtool is not installed: the Prometheus configuration was not checked by Prometheus itself (.ci/prereqs installs it)")
	}
}

// grafanaDatasources is a Grafana data source provisioning file.
type grafanaDatasources struct {
	APIVersion  int `yaml:"apiVersion"`
	Datasources []struct {
		Name      string         `yaml:"name"`
		UID       string         `yaml:"uid"`
		Type      string         `yaml:"type"`
		Access    string         `yaml:"access"`
		URL       string         `yaml:"url"`
		IsDefault bool           `yaml:"isDefault"`
		Editable  bool           `yaml:"editable"`
		JSONData  map[string]any `yaml:"jsonData"`
	} `yaml:"datasources"`
}

// grafanaDashboardProviders is a Grafana dashboard provisioning file.
type grafanaDashboardProviders struct {
	APIVersion int `yaml:"apiVersion"`
	Providers  []struct {
		Name                  string `yaml:"name"`
		Folder                string `yaml:"folder"`
		Type                  string `yaml:"type"`
		DisableDeletion       bool   `yaml:"disableDeletion"`
		AllowUIUpdates        bool   `yaml:"allowUiUpdates"`
		UpdateIntervalSeconds int    `yaml:"updateIntervalSeconds"`
		Options               struct {
			Path string `yaml:"path"`
		} `yaml:"options"`
	} `yaml:"providers"`
}

// The paths the Grafana image reads provisioning from.
const grafanaProvisioningPath = "/etc/grafana/provisioning"

func TestComposeGrafanaIsProvisioned(t *testing.T) {
	c := loadCompose(t)
	g := c.service(t, grafanaService)
	_, gPort := urlHostPort(t, GrafanaURL)
	if !g.publishes(t, gPort) {
		t.Errorf("GrafanaURL's port %d is not published", gPort)
	}
	for _, sub := range []string{"datasources", "dashboards"} {
		want := "deploy/grafana/provisioning/" + sub
		if got := g.hostFile(t, grafanaProvisioningPath+"/"+sub); got != want {
			t.Errorf("%s/%s is %q on the host, want %s", grafanaProvisioningPath, sub, got, want)
		}
	}

	// The data source is the prometheus service, under the uid the
	// dashboard's panels name.
	var ds grafanaDatasources
	decodeYAMLStrict(t, datasourcesDir+"/prometheus.yml", &ds)
	if len(ds.Datasources) != 1 {
		t.Fatalf("%d data sources, want 1", len(ds.Datasources))
	}
	_, promPort := urlHostPort(t, PrometheusURL)
	if want := "http://" + prometheusService + ":" + strconv.Itoa(promPort); ds.Datasources[0].URL != want || ds.Datasources[0].Type != "prometheus" {
		t.Errorf("data source %s %s, want prometheus %s", ds.Datasources[0].Type, ds.Datasources[0].URL, want)
	}
	dash := loadDashboard(t)
	for _, uid := range dash.datasourceUIDs() {
		if uid != ds.Datasources[0].UID {
			t.Errorf("the dashboard uses data source uid %q; the provisioned one is %q", uid, ds.Datasources[0].UID)
		}
	}

	// The dashboard provider reads a mounted folder that holds the
	// dashboard, which is also the home dashboard.
	var dp grafanaDashboardProviders
	decodeYAMLStrict(t, dashboardProvDir+"/kafka-auth-proxy.yml", &dp)
	if len(dp.Providers) != 1 || dp.Providers[0].Type != "file" {
		t.Fatalf("want one file dashboard provider, got %+v", dp.Providers)
	}
	dir := g.hostFile(t, dp.Providers[0].Options.Path)
	if dir != path.Dir(dashboardFile) {
		t.Errorf("the provider reads %s, which is %q on the host; want %s", dp.Providers[0].Options.Path, dir, path.Dir(dashboardFile))
	}
	if home := g.hostFile(t, g.Environment["GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH"]); home != dashboardFile {
		t.Errorf("GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH is %q on the host, want %s", home, dashboardFile)
	}
}

// dockerStage is one FROM stage of the Dockerfile with its instructions.
type dockerStage struct {
	From  string
	Lines []string // instructions after FROM, continuation lines joined
}

func parseDockerfile(t *testing.T) []dockerStage {
	t.Helper()
	var (
		stages []dockerStage
		line   string
	)
	for _, raw := range strings.Split(string(readRepoFile(t, dockerfile)), "\n") {
		raw = strings.TrimSpace(raw)
		if line == "" && (raw == "" || strings.HasPrefix(raw, "#")) {
			continue
		}
		if cont, ok := strings.CutSuffix(raw, "\\"); ok {
			line += cont + " "
			continue
		}
		line += raw
		if from, ok := strings.CutPrefix(line, "FROM "); ok {
			stages = append(stages, dockerStage{From: strings.Fields(from)[0]})
		} else if len(stages) > 0 {
			stages[len(stages)-1].Lines = append(stages[len(stages)-1].Lines, line)
		}
		line = ""
	}
	return stages
}

// instruction returns the arguments of the stage's last instruction named
// name ("" if none).
func (s dockerStage) instruction(name string) string {
	var arg string
	for _, l := range s.Lines {
		if rest, ok := strings.CutPrefix(l, name+" "); ok {
			arg = strings.TrimSpace(rest)
		}
	}
	return arg
}

// The image is built from the module by a Go release of go.mod's go line,
// as a static binary on distroless running as nonroot, and runs the
// command the Compose file gives it.
func TestDockerfileBuildsAStaticNonRootImage(t *testing.T) {
	stages := parseDockerfile(t)
	if len(stages) != 2 {
		t.Fatalf("%d stages, want a builder and a runtime stage", len(stages))
	}
	build, run := stages[0], stages[1]

	goLine := regexp.MustCompile(`(?m)^go (\d+\.\d+)`).FindStringSubmatch(string(readRepoFile(t, "go.mod")))
	if goLine == nil || !strings.HasPrefix(build.From, "golang:"+goLine[1]) {
		t.Errorf("builder %s does not match go.mod's go %v", build.From, goLine)
	}
	var goBuild string
	for _, l := range build.Lines {
		if strings.HasPrefix(l, "RUN ") && strings.Contains(l, "go build") {
			goBuild = l
		}
	}
	for _, want := range []string{"CGO_ENABLED=0", "-trimpath", "./cmd/kafka-auth-proxy", "-X main.version="} {
		if !strings.Contains(goBuild, want) {
			t.Errorf("the go build step lacks %s: %s", want, goBuild)
		}
	}

	if run.From != "gcr.io/distroless/static-debian12:nonroot" && run.From != "scratch" {
		t.Errorf("runtime image %s, want distroless static (nonroot) or scratch", run.From)
	}
	if u := run.instruction("USER"); u != "65532:65532" && u != "nonroot:nonroot" && u != "65532" && u != "nonroot" {
		t.Errorf("USER %q, want the non-root user 65532", u)
	}

	var entrypoint, cmd []string
	if err := json.Unmarshal([]byte(run.instruction("ENTRYPOINT")), &entrypoint); err != nil || len(entrypoint) != 1 || path.Base(entrypoint[0]) != "kafka-auth-proxy" {
		t.Errorf("ENTRYPOINT %q (%v), want the binary in exec form", run.instruction("ENTRYPOINT"), err)
	}
	if err := json.Unmarshal([]byte(run.instruction("CMD")), &cmd); err != nil {
		t.Errorf("CMD %q: %v", run.instruction("CMD"), err)
	}
	proxy := loadCompose(t).service(t, proxyService)
	if !slices.Equal(cmd, proxy.Command) {
		t.Errorf("the image's CMD %q differs from the Compose command %q", cmd, proxy.Command)
	}
	if env := run.instruction("ENV"); env != "KAFKA_AUTH_PROXY_CONFIG="+proxy.Command[2] {
		t.Errorf("ENV %q: the CLI commands would not find %s", env, proxy.Command[2])
	}

	// The state file's folder exists and belongs to the proxy's user, so
	// that a named volume mounted there is writable.
	stateDir := path.Dir(loadProxyConfig(t).APIKeys.StateFile)
	var owned bool
	for _, l := range run.Lines {
		owned = owned || (strings.HasPrefix(l, "COPY ") && strings.Contains(l, "--chown=65532:65532") && strings.HasSuffix(l, " "+stateDir))
	}
	if !owned {
		t.Errorf("the image does not create %s owned by 65532", stateDir)
	}
}

// The ignore file keeps the module's sources in the build context.
func TestDockerignoreKeepsTheSources(t *testing.T) {
	for _, line := range strings.Split(string(readRepoFile(t, ".dockerignore")), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		for _, needed := range []string{"go.mod", "go.sum", "cmd", "proxy", "authn", "authz", "config", "audit", "store", "*.go", "**/*.go"} {
			if line == needed || line == needed+"/" {
				t.Errorf(".dockerignore leaves out %s, which the build needs", needed)
			}
		}
	}
}

// The example client configurations hold the stack's constants.
func TestClientConfigsMatchTheStack(t *testing.T) {
	for _, tc := range []struct {
		file string
		want []string
	}{
		{"api-key.properties", []string{"bootstrap.servers=" + Bootstrap, "sasl.mechanism=PLAIN",
			`username="` + APIKey + `" password="` + APISecret + `";`}},
		{"oauth.properties", []string{"bootstrap.servers=" + Bootstrap, "sasl.mechanism=OAUTHBEARER",
			"sasl.oauthbearer.token.endpoint.url=" + TokenEndpoint,
			`clientId="` + ClientID + `" clientSecret="` + ClientSecret + `";`}},
		{"kcat-api-key.conf", []string{"bootstrap.servers=" + Bootstrap, "sasl.mechanisms=PLAIN",
			"sasl.username=" + APIKey, "sasl.password=" + APISecret}},
		{"kcat-oauth.conf", []string{"bootstrap.servers=" + Bootstrap, "sasl.mechanisms=OAUTHBEARER", "sasl.oauthbearer.method=oidc",
			"sasl.oauthbearer.client.id=" + ClientID, "sasl.oauthbearer.client.secret=" + ClientSecret,
			"sasl.oauthbearer.token.endpoint.url=" + TokenEndpoint}},
	} {
		text := string(readRepoFile(t, clientConfigsDir+"/"+tc.file))
		for _, w := range tc.want {
			if !strings.Contains(text, w) {
				t.Errorf("%s lacks %s", tc.file, w)
			}
		}
	}
}

func atoi(t *testing.T, s string) int {
	t.Helper()
	n, err := strconv.Atoi(s)
	if err != nil {
		t.Fatal(err)
	}
	return n
}
