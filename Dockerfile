# ringload in a container: `docker build -t ringload .` (docs/operators.md, "Build the image").
# The builder compiles the release binary from the locked dependencies; the runtime image holds
# only that binary and runs it as an unprivileged user. ringload speaks plain http:// (no TLS),
# so the runtime needs no CA certificates.

# The workspace's dependencies (pest, sha2) need Rust 1.88 or newer.
FROM rust:1.88-bookworm AS builder
WORKDIR /src
COPY . .
RUN cargo build --release --locked

FROM debian:bookworm-slim
RUN useradd --system --uid 10001 --user-group --no-create-home --shell /usr/sbin/nologin ringload
COPY --from=builder /src/target/release/ringload /usr/local/bin/ringload
# Numeric, so Kubernetes can check `runAsNonRoot` without reading /etc/passwd.
USER 10001:10001
ENTRYPOINT ["ringload"]
