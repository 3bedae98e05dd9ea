"""docker/kubernetes: schema validation offline, and the pieces agree with each other and with compose.

Schemas: kubernetes-validate (PyPI, pinned in requirements/dev.txt), which ships the Kubernetes
OpenAPI-derived JSON schemas; --strict rejects unknown fields. `kubectl kustomize` renders the
kustomization where kubectl is installed (it needs no cluster). No cluster runs here.
"""

from __future__ import annotations

import re
import subprocess

import pytest

from tests.support.deployfiles import (
    ADAPTER_VALUES,
    KUBERNETES,
    adapter_rules,
    compose,
    dotenv,
    load_all_yaml,
    load_yaml,
    tool,
)

KUBERNETES_VERSIONS = ("1.30.0", "1.37.0")


def kustomization() -> dict:
    return load_yaml(KUBERNETES / "kustomization.yaml")


def manifests() -> list:
    return [KUBERNETES / name for name in kustomization()["resources"]]


def resources() -> dict[str, dict]:
    return {doc["kind"]: doc for path in manifests() for doc in load_all_yaml(path)}


def validate(*paths, version: str) -> subprocess.CompletedProcess[str]:
    executable = tool("kubernetes-validate")
    if executable is None:
        pytest.skip("kubernetes-validate is not installed (requirements/dev.txt)")
    return subprocess.run(
        [executable, "--strict", "--kubernetes-version", version, *map(str, paths)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
def test_manifests_validate_against_the_kubernetes_schemas(version):
    result = validate(*manifests(), version=version)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count("passed") == len(manifests())


def test_validation_rejects_an_unknown_field(tmp_path):
    broken = tmp_path / "deployment.yaml"
    broken.write_text(
        (KUBERNETES / "deployment.yaml").read_text().replace("readOnlyRootFilesystem", "readOnlyRoot")
    )
    result = validate(broken, version=KUBERNETES_VERSIONS[-1])
    assert result.returncode != 0
    assert "readOnlyRoot" in result.stdout + result.stderr


def test_kustomize_renders_valid_manifests_with_the_ngc_release_tags(tmp_path):
    kubectl = tool("kubectl")
    if kubectl is None:
        pytest.skip("kubectl is not installed; the kustomization is checked file by file above")
    rendered = subprocess.run(
        [kubectl, "kustomize", str(KUBERNETES)], capture_output=True, text=True, timeout=60, check=True
    ).stdout
    path = tmp_path / "rendered.yaml"
    path.write_text(rendered)
    result = validate(path, version=KUBERNETES_VERSIONS[-1])
    assert result.returncode == 0, result.stdout + result.stderr
    release = dotenv()["NGC_RELEASE"]
    assert f"image: densenet-triton:{release}" in rendered
    assert f"image: densenet-engine:{release}" in rendered
    assert "namespace: densenet" in rendered


def test_image_tags_are_the_ngc_release():
    release = dotenv()["NGC_RELEASE"]
    assert {image["name"]: image["newTag"] for image in kustomization()["images"]} == {
        "densenet-triton": release,
        "densenet-engine": release,
    }


def containers() -> dict[str, dict]:
    return {c["name"]: c for c in resources()["Deployment"]["spec"]["template"]["spec"]["containers"]}


def test_replicas_request_a_gpu_and_read_the_shared_repository():
    pod = resources()["Deployment"]["spec"]["template"]["spec"]
    container = containers()["triton"]
    assert container["resources"]["limits"]["nvidia.com/gpu"] == 1
    mounts = {m["name"]: m for m in container["volumeMounts"]}
    assert mounts["repository"]["mountPath"] == "/models"
    assert mounts["repository"]["readOnly"] is True
    volumes = {v["name"]: v for v in pod["volumes"]}
    claim = volumes["repository"]["persistentVolumeClaim"]["claimName"]
    assert claim == resources()["PersistentVolumeClaim"]["metadata"]["name"]
    assert "ReadWriteMany" in resources()["PersistentVolumeClaim"]["spec"]["accessModes"]
    job = resources()["Job"]["spec"]["template"]["spec"]
    assert job["volumes"][0]["persistentVolumeClaim"]["claimName"] == claim
    assert job["containers"][0]["args"] == compose()["services"]["engine"]["command"]
    assert job["containers"][0]["resources"]["limits"]["nvidia.com/gpu"] == 1


def test_probes_run_the_compose_healthcheck():
    container = containers()["triton"]
    healthcheck = compose()["services"]["triton"]["healthcheck"]["test"]
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        assert container[probe]["exec"]["command"] == healthcheck[1:], probe
        assert container[probe]["timeoutSeconds"] > 10  # the check's own --timeout


def test_pod_matches_the_compose_service():
    pod = resources()["Deployment"]["spec"]["template"]
    container = containers()["triton"]
    annotations = pod["metadata"]["annotations"]
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    assert ports == {"metrics": 8002}
    assert annotations["prometheus.io/scrape"] == "true"
    assert int(annotations["prometheus.io/port"]) == ports["metrics"]
    volumes = {v["name"]: v for v in pod["spec"]["volumes"]}
    # The entry point reads the token from /run/secrets/triton_admin_token.
    (item,) = volumes["admin-token"]["secret"]["items"]
    mounts = {m["name"]: m["mountPath"] for m in container["volumeMounts"]}
    assert f"{mounts['admin-token']}/{item['path']}" == "/run/secrets/triton_admin_token"
    assert volumes["shm"]["emptyDir"] == {"medium": "Memory", "sizeLimit": "1Gi"}
    assert compose()["services"]["triton"]["shm_size"] == "1gb"
    assert mounts["shm"] == "/dev/shm"
    assert pod["spec"]["securityContext"]["runAsNonRoot"] is True
    assert container["securityContext"]["capabilities"]["drop"] == ["ALL"]
    assert container["securityContext"]["readOnlyRootFilesystem"] is True


def test_service_selects_the_replicas():
    service = resources()["Service"]
    labels = resources()["Deployment"]["spec"]["template"]["metadata"]["labels"]
    assert service["spec"]["selector"].items() <= labels.items()
    assert {p["port"] for p in service["spec"]["ports"]} == {443, 8001, 8002}
    targets = {p["targetPort"] for p in service["spec"]["ports"]}
    pod_ports = {p["name"] for c in containers().values() for p in c.get("ports", [])}
    assert targets <= pod_ports


def test_triton_serves_only_through_the_nginx_sidecar():
    from densenet_serve.edge.config import nginx_config
    from densenet_serve.edge.deployments import DEPLOYMENTS

    triton, proxy = containers()["triton"], containers()["proxy"]
    assert "--http-address=127.0.0.1" in triton["args"]
    assert "--grpc-address=127.0.0.1" in triton["args"]
    assert {p["name"]: p["containerPort"] for p in proxy["ports"]} == {"https": 8443, "grpc-tls": 8444}
    # Kubernetes pulls from a registry: nginx's official image (compose builds Debian's nginx, which
    # needs no registry); both run the one template of densenet_serve.edge.
    assert re.fullmatch(r"nginx:\d+\.\d+\.\d+", proxy["image"])
    assert proxy["securityContext"]["readOnlyRootFilesystem"] is True
    mounts = {m["name"]: m["mountPath"] for m in proxy["volumeMounts"]}
    assert "/etc/nginx/densenet/nginx.conf" in proxy["command"]
    assert mounts["proxy-config"] == "/etc/nginx/densenet"
    committed = (KUBERNETES / "nginx.conf").read_text()
    assert committed == nginx_config(DEPLOYMENTS["kubernetes"]), "regenerate: densenet-edge kubernetes"
    assert f"ssl_certificate {mounts['tls']}/tls.crt;" in committed
    for name in ("admin-token.map", "api-keys.map"):  # the edge's secret, mounted
        assert f"include {mounts['edge']}/{name};" in committed
    volumes_ = {v["name"]: v for v in resources()["Deployment"]["spec"]["template"]["spec"]["volumes"]}
    assert volumes_["edge"]["secret"]["secretName"] == "densenet-edge"
    (generated,) = kustomization()["configMapGenerator"]
    assert generated["files"] == ["nginx.conf"]
    volumes = {v["name"]: v for v in resources()["Deployment"]["spec"]["template"]["spec"]["volumes"]}
    assert volumes["proxy-config"]["configMap"]["name"] == generated["name"]


def test_the_sidecars_config_passes_nginx_own_check(tmp_path):
    from densenet_serve.edge.keys import write_map_files
    from densenet_serve.edge.nginx import find_nginx
    from densenet_serve.errors import ServerSetupError
    from densenet_serve.tls import self_signed

    try:
        nginx = find_nginx()
    except ServerSetupError as error:
        pytest.skip(str(error))
    certificate, key = self_signed(tmp_path / "tls", "127.0.0.1")
    text = (KUBERNETES / "nginx.conf").read_text().replace(" /tmp/", f" {tmp_path}/")
    text = text.replace("/etc/nginx/tls/tls.crt", str(certificate)).replace(
        "/etc/nginx/tls/tls.key", str(key)
    )
    # The edge secret as `densenet-edge maps` writes it, keys on.
    keys = tmp_path / "keys"
    keys.write_text("a-client-key-0123456789\n")
    write_map_files(tmp_path / "edge", "an-admin-token-0123456789", keys)
    text = text.replace("/etc/nginx/edge/", f"{tmp_path}/edge/")
    (tmp_path / "nginx.conf").write_text(text)
    result = subprocess.run(
        [nginx, "-t", "-p", str(tmp_path), "-c", str(tmp_path / "nginx.conf"), "-e", "stderr"],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr


def test_autoscaler_scales_the_deployment_on_the_adapters_triton_metric():
    hpa = resources()["HorizontalPodAutoscaler"]["spec"]
    assert hpa["scaleTargetRef"]["name"] == resources()["Deployment"]["metadata"]["name"]
    assert hpa["minReplicas"] >= 2
    (metric,) = hpa["metrics"]
    names = {rule["name"]["as"] for rule in adapter_rules()}
    assert metric["type"] == "Pods"
    assert metric["pods"]["metric"]["name"] in names


def test_adapter_rule_maps_series_to_pods():
    assert ADAPTER_VALUES.name not in kustomization()["resources"]  # Helm values, not a manifest
    for rule in adapter_rules():
        assert rule["resources"]["overrides"] == {
            "namespace": {"resource": "namespace"},
            "pod": {"resource": "pod"},
        }
        assert 'namespace!=""' in rule["seriesQuery"]
        assert 'pod!=""' in rule["seriesQuery"]
        assert "<<.LabelMatchers>>" in rule["metricsQuery"]
        assert "<<.GroupBy>>" in rule["metricsQuery"]
