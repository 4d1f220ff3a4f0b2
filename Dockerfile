# corral: the orchestrator with its local runner pool, as `corral serve`.
# Build: docker build -t corral .     Run: docker run -p 7700:7700 -v corral-data:/data corral
# The kernel isolation layers (namespaces, seccomp, Landlock, cgroups) need the container to
# allow them, e.g. --cap-add SYS_ADMIN --security-opt seccomp=unconfined; without, the runner
# applies what the kernel allows and reports the rest (CORRAL_STRICT_CONTAINMENT=true refuses).

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
RUN groupadd --system corral && useradd --system --gid corral --home-dir /data corral \
 && mkdir -p /data && chown corral:corral /data
COPY --from=build /opt/corral /opt/corral
ENV PATH=/opt/corral/bin:$PATH \
    CORRAL_HOST=0.0.0.0 \
    CORRAL_PORT=7700 \
    CORRAL_DATA_DIR=/data \
    CORRAL_LOG_FORMAT=json
USER corral
WORKDIR /data
EXPOSE 7700
VOLUME ["/data"]
HEALTHCHECK --interval=30s --timeout=5s CMD python -c "import socket; socket.create_connection(('127.0.0.1', 7700), 2)"
ENTRYPOINT ["corral"]
CMD ["serve"]
