# corral: the orchestrator with its local runner pool, as `corral serve`.
# Build: docker build -t corral .
# Run:   docker run -p 7700:7700 -v corral-data:/data \
#          --cap-add SYS_ADMIN --cgroupns private \
#          --security-opt seccomp=unconfined --security-opt apparmor=unconfined corral
#
# Every worker isolation layer applies only with those options, and the image is strict by
# default: a runner that lacks a layer refuses to start and names it (docs/security.md,
# "Containment in the image"). The public API listens on every address, so it serves TLS, and the
# orchestrator and its runners speak mutual TLS: mount your certificates at /data/tls (the
# names `corral certs` writes), or the entry point makes development ones there on first start
# (docs/security.md, "Transport"). The container runs as root so that the runner can create each
# worker's namespaces and cgroup; every worker drops to uid 65534 with no privileges, Landlock
# and its own seccomp filter before function code runs. Docker's seccomp and AppArmor profiles
# are lifted because they forbid the unshare(2) and mount(2) calls that build those layers.

FROM python:3.11-slim-bookworm AS build
WORKDIR /src
RUN python -m venv /opt/corral
COPY pyproject.toml README.md ./
COPY corral ./corral
COPY orchestrator ./orchestrator
COPY runner ./runner
COPY sandbox ./sandbox
COPY nango-stubs ./nango-stubs
RUN /opt/corral/bin/pip install --no-cache-dir --upgrade pip \
 && /opt/corral/bin/pip install --no-cache-dir .

FROM python:3.11-slim-bookworm
RUN mkdir -p /data && chmod 0700 /data
COPY --from=build /opt/corral /opt/corral
COPY deploy/entrypoint.sh /usr/local/bin/corral-entrypoint
ENV PATH=/opt/corral/bin:$PATH \
    CORRAL_HOST=0.0.0.0 \
    CORRAL_PORT=7700 \
    CORRAL_DATA_DIR=/data \
    CORRAL_LOG_FORMAT=json \
    CORRAL_STRICT_CONTAINMENT=true \
    CORRAL_RUNNER_STRICT_CONTAINMENT=true \
    CORRAL_TLS_CERT=/data/tls/orchestrator.pem \
    CORRAL_TLS_KEY=/data/tls/orchestrator-key.pem \
    CORRAL_TLS_CA=/data/tls/ca.pem \
    CORRAL_TLS_CLIENT_CERT=/data/tls/orchestrator-client.pem \
    CORRAL_TLS_CLIENT_KEY=/data/tls/orchestrator-client-key.pem \
    CORRAL_RUNNER_TLS_CERT=/data/tls/runner.pem \
    CORRAL_RUNNER_TLS_KEY=/data/tls/runner-key.pem
WORKDIR /data
EXPOSE 7700
VOLUME ["/data"]
HEALTHCHECK --interval=30s --timeout=10s CMD ["corral", "health", "--server", "127.0.0.1:7700", "--service", "corral.containment"]
ENTRYPOINT ["corral-entrypoint"]
CMD ["serve"]
