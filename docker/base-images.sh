#!/usr/bin/env bash
# docker/base-images.sh: make sure the base image of the CPU stack is there.
#
# Every image of the CPU profile (serving, model tools, the nginx proxy, Prometheus) is built by
# docker/Dockerfile FROM debian:bookworm-slim. Where that image can be pulled, or is already
# there, this does nothing. Where no container registry is reachable (an air-gapped or proxied
# network), it builds the same thing from Debian's packages: `debootstrap --variant=minbase
# bookworm` (needs root, debootstrap and a Debian mirror), the slim image's apt sources and
# its dpkg/apt trimming, then `docker import` under the tag the Dockerfile expects.
# Environment: DEBIAN_MIRROR (default http://deb.debian.org/debian).
# Grafana's image cannot be made from Debian's packages: the stack comes up without it (compose
# profile `grafana`, docs/deployment.md).
set -euo pipefail
image=debian:bookworm-slim
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
suite=bookworm

if docker image inspect "$image" >/dev/null 2>&1; then
    echo "$image: present"
    exit 0
fi
if docker pull "$image" >/dev/null 2>&1; then
    echo "$image: pulled"
    exit 0
fi
echo "$image: cannot be pulled; building it from Debian's packages ($mirror)"
command -v debootstrap >/dev/null || PATH="$PATH:/usr/sbin:/sbin"
command -v debootstrap >/dev/null || { echo "error: needs debootstrap (apt-get install debootstrap)" >&2; exit 1; }
[ "$(id -u)" = 0 ] || { echo "error: debootstrap needs root" >&2; exit 1; }
root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
debootstrap --variant=minbase "$suite" "$root" "$mirror" >/dev/null
# As the official slim image: deb822 sources with updates and security, no recommends, no docs.
rm -f "$root/etc/apt/sources.list"
cat >"$root/etc/apt/sources.list.d/debian.sources" <<SOURCES
Types: deb
URIs: $mirror
Suites: $suite $suite-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: ${mirror%/debian}/debian-security
Suites: $suite-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SOURCES
cat >"$root/etc/apt/apt.conf.d/docker-no-recommends" <<'CONF'
APT::Install-Recommends "false";
APT::Install-Suggests "false";
CONF
# No downloaded .debs or package caches left in layers, no translations (as the official image).
cat >"$root/etc/apt/apt.conf.d/docker-clean" <<'CONF'
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
CONF
echo 'Acquire::Languages "none";' >"$root/etc/apt/apt.conf.d/docker-no-languages"
cat >"$root/etc/dpkg/dpkg.cfg.d/docker" <<'CONF'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/info/*
path-exclude /usr/share/locale/*
CONF
rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/cache/apt/*.bin "$root"/var/lib/apt/lists/* "$root"/usr/share/doc/*/[!c]* \
    "$root"/usr/share/man/* "$root"/usr/share/info/* "$root"/usr/share/locale/*
tar --numeric-owner -C "$root" -c . | docker import --change 'CMD ["bash"]' - "$image" >/dev/null
echo "$image: built ($(docker image inspect -f '{{.Size}}' "$image") bytes)"
