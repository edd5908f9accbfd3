# syntax=docker/dockerfile:1
#
# The kafka-auth-proxy image: a static binary on distroless, running as the
# non-root user nonroot (65532). docker-compose.yml builds it.
#
#   docker build -t kafka-auth-proxy .
#   docker run --rm -v "$PWD/proxy.yaml:/etc/kafka-auth-proxy/config.yaml:ro" -p 9092-9095:9092-9095 kafka-auth-proxy
#
# The builder's Go release matches the go line of go.mod.

FROM golang:1.26 AS build
WORKDIR /src
# Modules first, so that editing the code does not download them again.
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=docker
# Static (no cgo), without local paths, and stripped, as `make build`.
RUN CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X main.version=${VERSION}" \
      -o /out/kafka-auth-proxy ./cmd/kafka-auth-proxy \
 && mkdir -p /out/state

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/kafka-auth-proxy /usr/local/bin/kafka-auth-proxy
# The state file's folder (api_keys.state_file), writable by the proxy; a
# volume mounted here starts with this owner.
COPY --from=build --chown=65532:65532 /out/state /var/lib/kafka-auth-proxy
USER 65532:65532
# The CLI commands (api-key, service-account) find the configuration here.
ENV KAFKA_AUTH_PROXY_CONFIG=/etc/kafka-auth-proxy/config.yaml
# Bootstrap, the first broker ports (broker N on 9093 + N by default) and
# the metrics endpoint.
EXPOSE 9092 9093 9094 9095 9404
ENTRYPOINT ["/usr/local/bin/kafka-auth-proxy"]
CMD ["serve", "--config", "/etc/kafka-auth-proxy/config.yaml"]
