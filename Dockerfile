# syntax=docker/dockerfile:1
# Sesame server image: a static Go binary on a small Debian base with git (the runner clones, commits
# and pushes), bubblewrap (the local sandbox) and CA certificates. The local sandbox makes user
# namespaces, which Docker's default seccomp and AppArmor profiles forbid: relax them (for example
# --security-opt seccomp=unconfined --security-opt apparmor=unconfined); `sesame doctor` says whether
# sandboxes work. Build: docker build -t sesame . ; run with the env vars in README.md.

FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
RUN CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X main.version=${VERSION}" -o /out/sesame ./cmd/sesame

FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends bubblewrap ca-certificates git tini \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --create-home --home-dir /var/lib/sesame sesame \
 && mkdir -p /tmp/sesame && chown sesame /tmp/sesame
COPY --from=build /out/sesame /usr/local/bin/sesame
USER sesame
WORKDIR /var/lib/sesame
ENV LISTEN_ADDR=:8080
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=3s CMD ["sesame", "doctor"]
ENTRYPOINT ["tini", "--", "sesame"]
CMD ["serve"]
