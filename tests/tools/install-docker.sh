#!/usr/bin/env bash
# Docker for the compose end-to-end test (tests/deploy/test_compose_stack.py): Debian's docker.io,
# Compose v2 and buildx from Debian trixie (bookworm only has Compose 1.29), debootstrap for
# docker/base-images.sh; then starts dockerd when no daemon answers and waits for it (bounded).
# `make test` and `.ci/run` call this. Idempotent: what is there is kept. Where it cannot install or
# start Docker (not root, no apt-get, offline, no overlay/cgroups) it says why and exits 1; the
# compose test then skips saying why (a failure under CI=true).
set -uo pipefail
# Floors, not pins: the versions tested (apt-cache madison, 2026-12-07); the archives keep only each
# suite's newest build, so the candidate is installed and checked against these. trixie's source is
# pinned low so nothing else moves.
DOCKER_IO_VERSION=20.10.24+dfsg1-1+deb12u1+b6
COMPOSE_VERSION=2.26.1-4
BUILDX_VERSION=0.13.1+ds1-3
DEBOOTSTRAP_VERSION=1.0.128+nmu2+deb12u2
DOCKERD_WAIT_S=${DOCKERD_WAIT_S:-60}
DOCKERD_LOG=${DOCKERD_LOG:-/var/log/dockerd.log}
export PATH="$PATH:/usr/sbin:/sbin"

warn() { echo "warning: $*: the compose end-to-end test will not run" >&2; exit 1; }

# Debian's client (/usr/bin/docker) talks to Debian's daemon; a newer client elsewhere on PATH
# negotiates the API version down by itself, so either works once the daemon answers.
docker_ok() { /usr/bin/docker info >/dev/null 2>&1 || docker info >/dev/null 2>&1; }
installed() { [ "$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null)" = "install ok installed" ]; }

if ! { installed docker.io && installed docker-compose && installed docker-buildx && installed debootstrap; }; then
    if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
        warn "Docker is not installed and this is not root with apt-get (install docker.io, Compose v2, buildx)"
    fi
    if [ ! -e /etc/apt/sources.list.d/trixie.sources ] && ! grep -rqs '\btrixie\b' /etc/apt/sources.list /etc/apt/sources.list.d; then
        cat >/etc/apt/sources.list.d/trixie.sources <<'SRC'
Types: deb
URIs: http://deb.debian.org/debian
Suites: trixie
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
    fi
    # Low priority: trixie is only used where a command names it (-t trixie / =version).
    [ -e /etc/apt/preferences.d/trixie ] || printf 'Package: *\nPin: release n=trixie\nPin-Priority: 100\n' \
        >/etc/apt/preferences.d/trixie
    { apt-get update -qq &&
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
          docker.io debootstrap iptables ca-certificates >/dev/null &&
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends -t trixie \
          docker-compose docker-buildx >/dev/null; } ||
        warn "could not install docker.io, docker-compose (Compose v2, trixie), docker-buildx (trixie)"
fi
while read -r package floor; do
    installed=$(dpkg-query -W -f='${Version}' "$package")
    dpkg --compare-versions "$installed" ge "$floor" || warn "$package $installed is older than $floor, the version tested"
done <<FLOORS
docker.io $DOCKER_IO_VERSION
docker-compose $COMPOSE_VERSION
docker-buildx $BUILDX_VERSION
debootstrap $DEBOOTSTRAP_VERSION
FLOORS

if ! docker_ok; then
    [ "$(id -u)" = 0 ] || warn "no Docker daemon answers and this is not root to start one"
    command -v dockerd >/dev/null || warn "no dockerd"
    nohup dockerd >>"$DOCKERD_LOG" 2>&1 &
    for _ in $(seq "$DOCKERD_WAIT_S"); do
        docker_ok && break
        sleep 1
    done
    docker_ok || warn "dockerd did not answer within ${DOCKERD_WAIT_S}s (log: $DOCKERD_LOG)"
fi
/usr/bin/docker compose version >/dev/null 2>&1 || docker compose version >/dev/null 2>&1 ||
    warn "no Compose v2 plugin (docker compose)"
exit 0
