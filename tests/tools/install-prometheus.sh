#!/usr/bin/env bash
# Prometheus and promtool for the deployment checks (tests/deploy/test_prometheus.py,
# tests/e2e/production/test_monitoring.py): Debian's package, at least the release's version.
set -uo pipefail
# shellcheck source=tests/tools/apt.sh
source "$(dirname "$0")/apt.sh"
{ found promtool && found prometheus; } || apt_install "prometheus>=2.42.0+ds-5+deb12u1"
