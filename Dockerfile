# syntax=docker/dockerfile:1
# Sesame server image: a static Go binary with git (the runner clones, commits and pushes), bubblewrap
# (the local sandbox), CA certificates, Node.js and the five agent CLIs at the versions of the agent
# catalog, installed by scripts/install-agents into AGENTS_DIR=/opt/agents, so that a container of it
# can finish a task with the local provider. The local sandbox makes user namespaces, which Docker's
# default seccomp and AppArmor profiles forbid: relax them (for example --security-opt
# seccomp=unconfined --security-opt apparmor=unconfined); `sesame doctor` says whether sandboxes work and
# lists the agents. Build: docker build -t sesame . ; run with the env vars in README.md.
#
# The health check asks the HTTP server (/healthz through `sesame healthcheck`); a worker-only
# container (serve --role worker) serves no HTTP: run it with --no-healthcheck.

FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
RUN CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X main.version=${VERSION}" -o /out/sesame ./cmd/sesame

# The agent CLIs, from npm, one prefix each: /opt/agents/<agent>/node_modules/.bin/<program>. Gemini CLI
# needs Node.js 20 or later, which Debian bookworm does not package, hence the Node.js image.
FROM node:20-bookworm-slim AS agents
COPY scripts/install-agents /usr/local/bin/install-agents
RUN AGENTS_DIR=/opt/agents install-agents

FROM node:20-bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends bubblewrap ca-certificates git tini \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --create-home --home-dir /var/lib/sesame sesame \
 && mkdir -p /tmp/sesame && chown sesame /tmp/sesame
COPY --from=agents /opt/agents /opt/agents
COPY --from=build /out/sesame /usr/local/bin/sesame
USER sesame
WORKDIR /var/lib/sesame
ENV LISTEN_ADDR=:8080 AGENTS_DIR=/opt/agents
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s CMD ["sesame", "healthcheck"]
ENTRYPOINT ["tini", "--", "sesame"]
CMD ["serve"]
