"""What the launcher prints once every model is READY: where to call it, and how."""

from __future__ import annotations

from collections.abc import Mapping

from densenet_contract.names import ENSEMBLE, served_weights

from .edge.nginx import NginxProxy
from .server import TritonServer
from .tls import fingerprint


def ready_banner(server: TritonServer, record: Mapping[str, str], proxy: NginxProxy | None = None) -> str:
    """What is served (``record``: densenet's config parameters), the endpoints, a curl line that
    classifies an image, and where the admin APIs are."""
    weights, details = served_weights(record)
    url = server.http_url
    metrics = f"{url.rsplit(':', 1)[0]}:{server.options.metrics_port}/metrics"
    grpc = f"{server.options.host}:{server.options.grpc_port}"
    if proxy is None:
        endpoints = f"HTTP    {url}    gRPC {grpc}    metrics {metrics}"
        curl = "curl"
    else:
        config = proxy.config
        url = f"https://{config.probe_host}:{config.https_port}"
        endpoints = "\n  ".join(
            [
                f"HTTPS   https://{config.host}:{config.https_port}    "
                f"gRPC (TLS) {config.host}:{config.grpc_port}    through nginx",
                f"tritonserver on loopback only: HTTP {server.http_url}    gRPC {grpc}    metrics {metrics}",
                f"TLS certificate {config.certificate}",
                f"    SHA-256 fingerprint {fingerprint(config.certificate)}",
                f"API keys: {_keys(proxy)}",
                f"limits: {config.limits()}",
            ]
        )
        curl = f"curl --cacert {config.certificate}"
    if proxy is not None and proxy.api_key_file is not None:
        curl += ' -H "Authorization: Bearer $KEY"'
    call = f'{curl} --data-binary @cat.jpg -H "Inference-Header-Content-Length: 0" {url}'
    admin = "Statistics, repository, shared-memory, trace, logging APIs"
    if proxy is not None:
        admin = "Statistics, repository, trace, logging APIs (shared memory: never over the network)"
    return f"""
{ENSEMBLE} is READY ({weights})
  weights from {details}
  {endpoints}

  {call}/v2/models/{ENSEMBLE}/infer

  {admin}: header admin-token: $TRITON_ADMIN_TOKEN

Press Ctrl-C to stop.
"""


def _keys(proxy: NginxProxy) -> str:
    if proxy.api_key_file is None:
        return "off (anyone who reaches the port may classify; --api-key-file turns them on)"
    return (
        f"ON, {proxy.api_keys} from {proxy.api_key_file} (header Authorization: Bearer KEY; "
        "kill -HUP this launcher after editing the file)"
    )
