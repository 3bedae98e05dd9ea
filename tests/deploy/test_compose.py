"""docker/compose.yaml: valid against the Compose Specification, and says what production needs.

The schema is the compose-spec JSON schema vendored in check-jsonschema (PyPI, pinned in
requirements/dev.txt), run through its CLI. tests/e2e/test_compose_stack.py runs the CPU stack.
"""

from __future__ import annotations

import re
import subprocess

import pytest
import yaml

from densenet_build.repository.pbtxt import parse_model_config
from tests.support.deployfiles import COMPOSE, DOCKER, REPO_ROOT, compose, dotenv, interpolate, tool

SERVING = ("triton", "triton-cpu")
SECRETS_ENV = {"TRITON_ADMIN_TOKEN": "t" * 32, "GRAFANA_ADMIN_PASSWORD": "p" * 16}


def check_jsonschema(path) -> subprocess.CompletedProcess[str]:
    executable = tool("check-jsonschema")
    if executable is None:
        pytest.skip("check-jsonschema is not installed (requirements/dev.txt)")
    return subprocess.run(
        [executable, "--builtin-schema", "vendor.compose-spec", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_compose_file_is_valid_against_the_compose_specification():
    result = check_jsonschema(COMPOSE)
    assert result.returncode == 0, result.stdout + result.stderr


def test_compose_file_is_valid_after_interpolation_with_the_env_file(tmp_path):
    resolved = interpolate(compose(), {**dotenv(), **SECRETS_ENV})
    path = tmp_path / "compose.resolved.yaml"
    path.write_text(yaml.safe_dump(resolved))
    result = check_jsonschema(path)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_schema_check_rejects_a_misspelt_key(tmp_path):
    broken = tmp_path / "compose.yaml"
    broken.write_text(COMPOSE.read_text().replace("shm_size:", "shm_sise:"))
    result = check_jsonschema(broken)
    assert result.returncode != 0
    assert "shm_sise" in result.stdout


def test_every_variable_is_pinned_in_env_defaulted_or_required():
    # Without the secrets' variables nothing fails here: compose passes them as secrets, and the
    # entry point and Grafana's wrapper refuse to start without them.
    interpolate(compose(), dotenv())


def test_ngc_release_is_pinned_once():
    release = dotenv()["NGC_RELEASE"]
    assert re.fullmatch(r"\d\d\.\d\d", release)
    dockerfile = (DOCKER / "Dockerfile").read_text()
    assert f"ARG NGC_RELEASE={release}\n" in dockerfile
    images = re.findall(r"^FROM (\S+)", dockerfile, re.MULTILINE)
    ngc = [image for image in images if image.startswith("nvcr.io/")]
    assert set(ngc) == {
        "nvcr.io/nvidia/tritonserver:${NGC_RELEASE}-py3",
        "nvcr.io/nvidia/tensorrt:${NGC_RELEASE}-py3",
    }
    # No hard-coded NGC image tag anywhere else in docker/ (Kubernetes tags are checked against .env).
    for path in DOCKER.rglob("*"):
        if path.is_file() and path.suffix in (".yaml", ".yml", ".py", ".sh", ""):
            assert not re.search(r"nvcr\.io/nvidia/\w+:\d", path.read_text()), path


def test_services_and_profiles():
    services = compose()["services"]
    assert services["engine"]["profiles"] == ["gpu"]
    assert services["triton"]["profiles"] == ["gpu"]
    assert services["model"]["profiles"] == ["cpu"]
    assert services["triton-cpu"]["profiles"] == ["cpu"]
    assert "profiles" not in services["prometheus"]
    assert "profiles" not in services["proxy"]
    assert "profiles" not in services["edge"]
    # Grafana's image cannot be built from Debian's packages: the stack comes up without it.
    assert services["grafana"]["profiles"] == ["grafana"]
    assert dotenv()["COMPOSE_PROFILES"] == "gpu"


def test_triton_waits_for_the_engine_and_reserves_gpus():
    services = compose()["services"]
    done = {"condition": "service_completed_successfully"}
    assert services["triton"]["depends_on"] == {"engine": done, "edge": done}
    assert services["triton-cpu"]["depends_on"] == {"model": done, "edge": done}
    for name in ("engine", "triton"):
        devices = services[name]["deploy"]["resources"]["reservations"]["devices"]
        assert devices[0]["capabilities"] == ["gpu"]
        assert devices[0]["driver"] == "nvidia"
    for name in ("model", "triton-cpu"):
        assert "deploy" not in services[name], f"{name} must run without a GPU"
    assert services["engine"]["restart"] == "no"
    assert services["engine"]["command"] == ["engine"]
    assert services["model"]["command"] == ["onnx"]


def test_cpu_profile_serves_the_cpu_config():
    services = compose()["services"]
    assert "--model-config-name=cpu" in services["triton-cpu"]["command"]
    # config.pbtxt everywhere (the TensorRT plan) unless GPU_CONFIG=dali picks preprocess/configs/dali.pbtxt
    assert services["triton"]["command"] == ["--model-config-name=${GPU_CONFIG:-default}"]
    assert not any((REPO_ROOT / "model_repository").glob("*/configs/default.pbtxt")), (
        "'default' must match no custom config"
    )
    assert list((REPO_ROOT / "model_repository").glob("*/configs/dali.pbtxt")) == [
        REPO_ROOT / "model_repository/preprocess/configs/dali.pbtxt"
    ]
    assert "triton" in services["triton-cpu"]["networks"]["default"]["aliases"]


@pytest.mark.parametrize("name", SERVING)
def test_serving_service_is_locked_down(name):
    service = compose()["services"][name]
    assert service["restart"] == "unless-stopped"
    assert service["read_only"] is True
    assert service["cap_drop"] == ["ALL"]
    assert "no-new-privileges:true" in service["security_opt"]
    assert service["volumes"] == ["model-repository:/models:ro", "admin-token:/run/densenet:ro"]
    # The token reaches the container as a file (the one-shot `edge` copies the secret into the
    # admin-token volume: compose cannot hand an environment secret to a read-only container),
    # never as an environment variable or argument.
    assert service["environment"]["TRITON_ADMIN_TOKEN_FILE"] == "/run/densenet/triton_admin_token"
    assert not any("TOKEN" in key for key in service["environment"] if key != "TRITON_ADMIN_TOKEN_FILE")
    assert not any("TOKEN" in str(arg) for arg in service["command"])
    assert "secrets" not in service
    # Triton 2.51's one-request crashes and any server's missing limits: only nginx faces the network.
    assert service["ports"] == ["127.0.0.1:${METRICS_PORT:-8002}:8002"], "metrics only, on loopback"


@pytest.mark.parametrize("name", SERVING)
def test_healthcheck_runs_a_real_inference(name):
    check = compose()["services"][name]["healthcheck"]
    assert check["test"][:3] == ["CMD", "python3", "-m"]
    assert check["test"][3] == "densenet_serve.health"
    assert "127.0.0.1:8000" in check["test"]
    assert "/v2/health" not in " ".join(check["test"])


def _bytes(size: str) -> int:
    number, unit = re.fullmatch(r"(\d+)([kmg]?)b?", size.lower()).groups()
    return int(number) * 1024 ** " kmg".index(unit or " ")


def _config(model: str, name: str = "config.pbtxt"):
    return parse_model_config((REPO_ROOT / "model_repository" / model / name).read_text())


def test_shm_size_holds_a_full_batch_of_the_largest_images():
    preprocess = _config("preprocess")
    max_bytes = int(preprocess.parameters["max_bytes"].string_value)
    batch = max(_config(m).max_batch_size for m in ("densenet_ensemble", "preprocess", "postprocess"))
    batch = max(batch, _config("densenet", "configs/cpu.pbtxt").max_batch_size)
    pixels = batch * 4
    for dim in preprocess.output[0].dims:
        pixels *= dim
    logits = batch * 4 * 1000
    needed = batch * max_bytes + pixels + (pixels + logits) + logits
    for name in SERVING:
        assert _bytes(compose()["services"][name]["shm_size"]) >= needed
    assert needed > 64 << 20, "Docker's 64 MiB default would not do"


def test_monitoring_is_published_on_loopback_only_and_grafana_needs_a_password():
    services = compose()["services"]
    assert services["prometheus"]["ports"] == ["127.0.0.1:${PROMETHEUS_PORT:-9090}:9090"]
    assert services["grafana"]["ports"] == ["127.0.0.1:3000:3000"]
    environment = services["grafana"]["environment"]
    assert environment["GF_SECURITY_ADMIN_PASSWORD__FILE"] == "/run/secrets/grafana_admin_password"
    assert environment["GF_AUTH_ANONYMOUS_ENABLED"] == "false"
    assert "exit 64" in services["grafana"]["entrypoint"][-1]
    volumes = services["grafana"]["volumes"]
    assert "./grafana/provisioning:/etc/grafana/provisioning:ro" in volumes
    for volume in [*volumes, *services["prometheus"]["volumes"]]:
        source = volume.split(":", 1)[0]
        if source.startswith("./"):
            assert (DOCKER / source).is_dir(), f"{source} does not exist"


def test_images_are_pinned():
    for name, service in compose()["services"].items():
        image = service["image"]
        assert re.search(r":(v?\d[\w.-]*|\$\{(NGC_RELEASE|IMAGE_VERSION:\?[^}]*)\})$", image), (
            f"{name}: {image} is not pinned"
        )
    assert re.fullmatch(r"\d+\.\d+\.\d+", dotenv()["IMAGE_VERSION"])


def test_only_the_proxy_publishes_serving_ports_with_tls():
    services = compose()["services"]
    proxy = services["proxy"]
    assert "profiles" not in proxy
    assert proxy["ports"] == [
        "${PUBLISH_ADDRESS:-0.0.0.0}:${HTTPS_PORT:-443}:8443",
        "${PUBLISH_ADDRESS:-0.0.0.0}:${GRPCS_PORT:-8001}:8444",
    ]
    for name, service in services.items():
        for port in service.get("ports", []):
            assert port.startswith("127.0.0.1:") or name == "proxy", (
                f"{name} publishes {port} beyond loopback"
            )
    assert set(proxy["depends_on"]) == {*SERVING, "edge"}
    assert proxy["depends_on"].pop("edge") == {"condition": "service_completed_successfully"}
    assert all(d["condition"] == "service_healthy" for d in proxy["depends_on"].values())
    # The proxy reads what the one-shot `edge` wrote (certificate, maps), read-only; no secrets.
    assert "secrets" not in proxy
    assert proxy["read_only"] is True
    assert proxy["cap_drop"] == ["ALL"]
    assert proxy["volumes"] == ["./nginx:/etc/nginx/densenet:ro", "edge:/etc/nginx/edge:ro"]
    assert proxy["image"] == services["edge"]["image"]


def test_the_edge_makes_what_is_missing_and_takes_the_users_files():
    """Two commands: no certificate, maps or key file needed beforehand (docs/deployment.md)."""
    compose_file = compose()
    edge = compose_file["services"]["edge"]
    assert edge["build"]["target"] == "proxy"
    assert edge["entrypoint"][:4] == ["python3", "-m", "densenet_serve.edge", "edge"]
    assert edge["secrets"] == ["triton_admin_token", "tls_certificate", "tls_key", "edge_api_keys"]
    assert edge["user"] == "10001:10001"
    assert edge["restart"] == "no"
    assert edge["cap_drop"] == ["ALL"]
    secrets = compose_file["secrets"]
    # Unset, an optional file is /dev/null: empty, i.e. "not given" (self-signed; keys off).
    assert secrets["tls_certificate"] == {"file": "${TLS_CERTIFICATE:-/dev/null}"}
    assert secrets["tls_key"] == {"file": "${TLS_KEY:-/dev/null}"}
    assert secrets["edge_api_keys"] == {"file": "${EDGE_API_KEY_FILE:-/dev/null}"}
    assert secrets["triton_admin_token"] == {"environment": "TRITON_ADMIN_TOKEN"}


def test_builds_get_the_ca_bundle_as_a_secret_never_as_an_argument():
    compose_file = compose()
    assert compose_file["secrets"]["build_ca"] == {"file": "${BUILD_CA_BUNDLE:-/dev/null}"}
    for name, service in compose_file["services"].items():
        if "build" in service:
            assert service["build"]["secrets"] == ["build_ca"], name
            assert not any("CA" in arg for arg in service["build"]["args"]), name
    dockerfile = (DOCKER / "Dockerfile").read_text()
    assert "--mount=type=secret,id=build_ca,required=false" in dockerfile
    assert "PIP_CERT=/run/secrets/build_ca" in dockerfile
    assert not re.search(r"^(ENV|ARG) .*CA", dockerfile, re.MULTILINE)


def test_the_proxy_config_is_the_launchers_template_for_compose():
    from densenet_serve.edge.config import nginx_config
    from densenet_serve.edge.deployments import DEPLOYMENTS

    committed = (DOCKER / "nginx" / "nginx.conf").read_text()
    assert committed == nginx_config(DEPLOYMENTS["compose"]), "regenerate: densenet-edge compose"
    assert "server triton:8000;" in committed
    assert "ssl_certificate /etc/nginx/edge/tls.crt;" in committed
    # The maps of the admin token and the API keys: written by the one-shot `edge`.
    assert "include /etc/nginx/edge/admin-token.map;" in committed
    assert "include /etc/nginx/edge/api-keys.map;" in committed
    assert "user www-data www-data;" in committed  # Debian's nginx
    listens = re.findall(r"listen (\S+)", committed)
    assert listens == ["0.0.0.0:8443", "0.0.0.0:8444"]
