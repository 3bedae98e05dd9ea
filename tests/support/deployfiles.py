"""Reading the deployment files in docker/ the way their tools do: compose's .env and interpolation,
the dashboard's PromQL, the Prometheus adapter rule; and finding the command-line tools that check them."""

from __future__ import annotations

import json
import re
import shutil
import sys
from pathlib import Path

import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]
DOCKER = REPO_ROOT / "docker"
COMPOSE = DOCKER / "compose.yaml"
DASHBOARD = DOCKER / "grafana" / "dashboards" / "triton-densenet.json"
PROMETHEUS_CONFIG = DOCKER / "prometheus" / "prometheus.yml"
ALERTS = DOCKER / "prometheus" / "alerts.yml"
KUBERNETES = DOCKER / "kubernetes"
ADAPTER_VALUES = KUBERNETES / "prometheus-adapter-values.yaml"
ENTRYPOINT = DOCKER / "entrypoint.py"
REPOSITORY_SCRIPT = DOCKER / "model-repository.sh"

# Triton's GPU metrics (DCGM), from the metrics documentation of triton-inference-server/server
# (docs/user_guide/metrics.md, "GPU Metrics"). A server without a GPU never exports them.
DOCUMENTED_GPU_METRICS = frozenset(
    {
        "nv_gpu_utilization",
        "nv_gpu_memory_total_bytes",
        "nv_gpu_memory_used_bytes",
        "nv_gpu_power_usage",
        "nv_gpu_power_limit",
        "nv_energy_consumption",
    }
)

# Triton's metrics (nv_*) and this project's prediction-quality metrics (densenet_*, docs/quality.md);
# quoted strings (label values such as model="densenet_ensemble") are not metric names.
_METRIC = re.compile(r"\b(?:nv|densenet)_[a-z0-9_]+\b")
_QUOTED = re.compile(r'"(?:[^"\\]|\\.)*"')
_VARIABLE = re.compile(r"\$(?:\{(?P<braced>[^}]*)\}|(?P<plain>[A-Za-z_][A-Za-z0-9_]*)|(?P<escaped>\$))")


def tool(name: str) -> str | None:
    """A command-line tool: from this virtualenv (PyPI-installed linters) or the PATH (Debian's)."""
    local = Path(sys.executable).parent / name
    return str(local) if local.exists() else shutil.which(name)


def load_yaml(path: Path) -> object:
    return yaml.safe_load(path.read_text())


def load_all_yaml(path: Path) -> list:
    return [doc for doc in yaml.safe_load_all(path.read_text()) if doc]


def dotenv() -> dict[str, str]:
    """docker/.env as compose reads it (KEY=VALUE lines, # comments)."""
    values = {}
    for line in (DOCKER / ".env").read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            key, _, value = line.partition("=")
            values[key.strip()] = value.strip()
    return values


def compose() -> dict:
    return load_yaml(COMPOSE)  # type: ignore[return-value]


class InterpolationError(ValueError):
    pass


def interpolate(value: object, env: dict[str, str]) -> object:
    """Compose's interpolation: ${VAR}, ${VAR:-default}, ${VAR-default}, ${VAR:?error}, ${VAR?error}, $$."""

    def one(match: re.Match[str]) -> str:
        if match["escaped"]:
            return "$"
        expression = match["braced"] if match["braced"] is not None else match["plain"]
        name, operator, argument = re.fullmatch(r"([A-Za-z_][A-Za-z0-9_]*)(:?[-?])?(.*)", expression).groups()
        current = env.get(name)
        unset_or_empty = current is None or (
            operator is not None and operator.startswith(":") and not current
        )
        if operator and operator.endswith("-"):
            return argument if unset_or_empty else current
        if operator and operator.endswith("?"):
            if unset_or_empty:
                raise InterpolationError(f"{name}: {argument}")
            return current
        if current is None:
            raise InterpolationError(f"{name} is not set and has no default")
        return current

    if isinstance(value, str):
        return _VARIABLE.sub(one, value)
    if isinstance(value, list):
        return [interpolate(item, env) for item in value]
    if isinstance(value, dict):
        return {key: interpolate(item, env) for key, item in value.items()}
    return value


def dashboard() -> dict:
    return json.loads(DASHBOARD.read_text())


def dashboard_queries() -> list[tuple[str, str]]:
    """(panel title, PromQL) of every query on the dashboard, rows' nested panels included."""
    queries = []
    for panel in dashboard()["panels"]:
        for inner in [panel, *panel.get("panels", [])]:
            for target in inner.get("targets", []):
                queries.append((inner["title"], target["expr"]))
    return queries


def as_promql(grafana_expr: str, rate_window: str = "30s") -> str:
    """A dashboard query as Prometheus itself would get it: Grafana's variables substituted."""
    return grafana_expr.replace("$__rate_interval", rate_window).replace('=~"$model"', '=~".*"')


def adapter_rules() -> list[dict]:
    return load_yaml(ADAPTER_VALUES)["rules"]["custom"]  # type: ignore[index]


def adapter_query(rule: dict, label_matchers: str, group_by: str) -> str:
    """The adapter's metricsQuery template filled in as prometheus-adapter does."""
    return (
        rule["metricsQuery"]
        .replace("<<.LabelMatchers>>", label_matchers)
        .replace("<<.GroupBy>>", group_by)
        .replace("<<.Series>>", rule["name"]["matches"].strip("^$"))
    )


def alert_expressions() -> list[tuple[str, str]]:
    return [(rule["alert"], rule["expr"]) for group in load_yaml(ALERTS)["groups"] for rule in group["rules"]]


def metric_names(expr: str) -> set[str]:
    """The metric names (nv_*, densenet_*) a PromQL expression reads."""
    return set(_METRIC.findall(_QUOTED.sub('""', expr)))
