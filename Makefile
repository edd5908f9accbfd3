# kafka-auth-proxy developer commands. `make help` lists them.
SHELL     := /bin/bash
GO        ?= go
BIN       := bin/kafka-auth-proxy
VERSION   ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS   := -s -w -X main.version=$(VERSION)
# Integration tests start real Kafka brokers (and a JVM client); they get a
# generous timeout but normally finish in a few minutes.
IT_TIMEOUT ?= 30m
FUZZTIME  ?= 5m

.PHONY: help build run test test-unit test-integration compat compat-table bench lint fuzz prereqs clean

help: ## list targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-18s %s\n", $$1, $$2}'

build: ## build the binary into bin/
	$(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/kafka-auth-proxy

run: build ## start the proxy on 127.0.0.1:9092 in front of an embedded in-memory broker
	./$(BIN) dev

test: prereqs lint test-unit test-integration ## every test: unit, fuzz seeds, and integration against real Kafka

test-unit: ## fast unit tests (in-process kfake broker), with the race detector
	$(GO) test -race -count=1 ./...

test-integration: prereqs ## end-to-end tests against real Apache Kafka (1 and 3 brokers), real clients (the compatibility matrix) and a real Keycloak with the docker compose stack's realm
	$(GO) test -tags integration -count=1 -timeout $(IT_TIMEOUT) -v ./integration/... ./deploy/... 2>&1 | tee integration-test.out | grep -E '^(=== RUN|--- |PASS|FAIL|ok|panic)|\.go:[0-9]+:' ; exit $${PIPESTATUS[0]}

compat: prereqs ## run the client compatibility matrix (integration/compat) and write docs/compatibility.md from it; KAP_COMPAT_TARGET=compose runs it against `docker compose up`
	$(GO) test -tags integration -count=1 -timeout $(IT_TIMEOUT) -run '^TestCompatibility$$' -v ./integration/compat/ 2>&1 | tee compat-test.out | grep -E '^ *(--- |ok|FAIL|PASS)|\.go:[0-9]+: .*(, step [a-z]+: |cannot prepare| ready in )' ; status=$${PIPESTATUS[0]}; \
	$(GO) run ./integration/compat/table && exit $$status

compat-table: ## write docs/compatibility.md from the matrix's last run (make compat, or make test)
	$(GO) run ./integration/compat/table

bench: prereqs build ## produce/consume throughput against real Kafka: direct, through the proxy, and with authentication and authorization on
	$(GO) run ./integration/bench -proxy-bin ./$(BIN)

STATICCHECK ?= honnef.co/go/tools/cmd/staticcheck@v0.8.2

lint: ## gofmt, go vet and staticcheck (fetched into the Go module cache on first use)
	@out=$$(gofmt -l .); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(GO) vet -tags integration ./integration/... ./deploy/...
	$(GO) run $(STATICCHECK) ./...
	$(GO) run $(STATICCHECK) -tags integration ./integration/... ./deploy/...

fuzz: ## fuzz the request decoder, the Fetch walker, the PROXY header reader, the SASL parsers, token verification and the authorization rules (FUZZTIME=5m each)
	$(GO) test -run '^$$' -fuzz '^FuzzRequestDecode$$' -fuzztime $(FUZZTIME) ./proxy/
	$(GO) test -run '^$$' -fuzz '^FuzzFetchWalk$$' -fuzztime $(FUZZTIME) ./proxy/
	$(GO) test -run '^$$' -fuzz '^FuzzProxyHeader$$' -fuzztime $(FUZZTIME) ./proxy/
	$(GO) test -run '^$$' -fuzz '^FuzzParsePlain$$' -fuzztime $(FUZZTIME) ./authn/
	$(GO) test -run '^$$' -fuzz '^FuzzParseOAuthBearer$$' -fuzztime $(FUZZTIME) ./authn/
	$(GO) test -run '^$$' -fuzz '^FuzzVerify$$' -fuzztime $(FUZZTIME) ./authn/oauth/
	$(GO) test -run '^$$' -fuzz '^FuzzEnforce$$' -fuzztime $(FUZZTIME) ./proxy/

prereqs: ## check (and on Debian, install) Java 17+, Maven, Node.js and Python venv for the real-Kafka tests
	@./.ci/prereqs

clean:
	rm -rf bin integration/java/target integration-test.out
