# syntax=docker/dockerfile:1
# The GoDrive image: built with the project's pinned toolchain, run as a non-root user on
# Debian slim. `docker compose up` (docker-compose.yml) runs it with PostgreSQL, MinIO,
# Prometheus and Grafana. Alone: `docker build -t godrive .`, then for example
# `docker run -p 8080:8080 -e POSTGRES_HOST=db.internal -e POSTGRES_PASSWORD=... godrive`;
# `docker run godrive migrate` (or any subcommand) runs the CLI.

FROM rust:1.95-bookworm AS builder
WORKDIR /src
COPY . .
# The registry and target/ live in BuildKit cache mounts, so a rebuild after a source change
# recompiles GoDrive, not its dependencies. The binary leaves the cache in the same step.
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked \
    && install -m 0755 target/release/godrive /usr/local/bin/godrive

FROM debian:bookworm-slim
# ca-certificates: MinIO or S3 over https. curl: the health check below (GoDrive has no
# health subcommand). Package versions follow bookworm's security updates, so unpinned.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates curl \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --system --gid 10001 godrive \
    && useradd --system --uid 10001 --gid godrive --home-dir /app --no-create-home \
        --shell /usr/sbin/nologin godrive \
    && mkdir -p /app/data \
    && chown godrive:godrive /app/data
WORKDIR /app
COPY --from=builder /usr/local/bin/godrive /usr/local/bin/godrive
# Profiles are looked up in ./config (GODRIVE_CONFIG_DIR); the fs backend writes ./data.
COPY config/ /app/config/
# The metrics listener defaults to loopback; in a container Prometheus scrapes it from outside.
ENV GODRIVE_METRICS_ADDR=0.0.0.0:9464
# Numeric, so that runtimes which require a non-root user (runAsNonRoot) can check it.
USER 10001:10001
# S3 and the /v1 JSON API; Prometheus metrics.
EXPOSE 8080 9464
HEALTHCHECK --interval=15s --timeout=3s --start-period=20s --retries=3 \
    CMD ["sh", "-c", "curl -fsS -o /dev/null \"http://127.0.0.1:${GODRIVE_API_PORT:-8080}/v1/health/live\" || exit 1"]
ENTRYPOINT ["godrive"]
CMD ["serve"]
