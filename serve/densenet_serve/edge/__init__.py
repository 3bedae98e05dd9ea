"""Network mode's edge: nginx in front of tritonserver, which then listens on loopback only.

The pinned tritonserver 2.51 cannot be upgraded (nvidia-pytriton 0.7.0 is the newest wheel that
ships a server) and one request crashes it (CVE-2025-23310/23311: a body of millions of tiny
chunks; a JSON body nested ~50,000 arrays deep). So whatever listens beyond loopback is nginx,
configured by :func:`.config.nginx_config` from ``nginx.conf.template``: it de-chunks and caps bodies,
refuses compressed ones, caps the JSON Triton would parse, times out slow clients, terminates TLS
for HTTP and gRPC, passes only an allow-list of APIs (the admin APIs only with the admin token,
checked by nginx; the shared-memory APIs never), optionally requires client API keys, limits
each client's request rate and concurrency, answers "server busy" with 503 and Retry-After, and
logs every request.

One module per concern: :mod:`.config` renders nginx.conf (pure), :mod:`.keys` the maps of the
admin token and the client API keys, :mod:`.nginx` runs nginx beside the launcher,
:mod:`.deployments` describes the same edge for compose and Kubernetes, and ``densenet-edge``
(:mod:`.__main__`) writes their files.
"""
