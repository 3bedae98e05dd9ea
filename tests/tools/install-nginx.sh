#!/usr/bin/env bash
# nginx for network mode's tests (tests/e2e/test_network_*.py, test_overload.py): Debian's package,
# pinned. `make test` and `.ci/run` call this. Where nginx is already there it does nothing; where
# it cannot install (not root, no apt-get, offline) it says why and exits 1, and those tests then
# skip, named in pytest's summary under "SECURITY TESTS NOT RUN".
set -uo pipefail
NGINX_VERSION=1.22.1-9+deb12u11
if PATH="$PATH:/usr/sbin:/usr/local/sbin" command -v nginx >/dev/null; then
    exit 0
fi
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
    echo "warning: nginx is not installed and this is not root with apt-get: network mode's security tests will not run (sudo apt-get install nginx)" >&2
    exit 1
fi
if ! { apt-get update -qq &&
       DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
           "nginx=$NGINX_VERSION" "nginx-common=$NGINX_VERSION" >/dev/null; }; then
    echo "warning: could not install nginx $NGINX_VERSION: network mode's security tests will not run" >&2
    exit 1
fi
