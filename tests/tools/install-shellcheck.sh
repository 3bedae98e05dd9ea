#!/usr/bin/env bash
# ShellCheck for the deployment scripts' check (tests/deploy/test_model_repository_script.py).
set -uo pipefail
# shellcheck source=tests/tools/apt.sh
source "$(dirname "$0")/apt.sh"
found shellcheck || apt_install "shellcheck>=0.9.0-1"
