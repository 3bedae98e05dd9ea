#!/usr/bin/env bash
# nginx for network mode's tests (tests/e2e/test_network_*.py, test_overload.py, the proxy and
# Kubernetes sidecar checks): Debian's package. Nginx comes from the security archive, which keeps
# only its newest build, so it is a floor (the release's version), not a pin.
set -uo pipefail
# shellcheck source=tests/tools/apt.sh
source "$(dirname "$0")/apt.sh"
found nginx || apt_install "nginx>=1.22.1-9+deb12u9" "nginx-common>=1.22.1-9+deb12u9"
