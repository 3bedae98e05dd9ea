"""nginx run beside the launcher: found, configured in a private prefix, started, reloaded, stopped."""

from __future__ import annotations

import contextlib
import grp
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from densenet_contract.files import write_atomically

from ..errors import ServerExitedError, ServerSetupError, ServerTimeoutError
from ..server import die_with_parent, stop_group
from .config import ProxyConfig, nginx_config
from .keys import admin_token_map, api_keys_map, read_api_keys

NGINX_SEARCH_PATH = ("/usr/sbin", "/usr/local/sbin", "/usr/local/nginx/sbin")


def unprivileged_workers() -> str:
    """The ``user`` nginx's workers take when the launcher runs as root ("" otherwise)."""
    if os.geteuid() != 0:
        return ""
    nobody = pwd.getpwnam("nobody")
    return f"{nobody.pw_name} {grp.getgrgid(nobody.pw_gid).gr_name}"


def find_nginx(explicit: str | None = None) -> str:
    """The nginx executable: ``explicit``, else $NGINX, else nginx on PATH or in the sbin folders."""
    candidate = explicit or os.environ.get("NGINX")
    if candidate:
        found = shutil.which(candidate)
        if found is None:
            raise ServerSetupError(f"nginx not found at {candidate}")
        return found
    search = os.pathsep.join([os.environ.get("PATH", ""), *NGINX_SEARCH_PATH])
    found = shutil.which("nginx", path=search)
    if found is None:
        raise ServerSetupError(
            "network mode (a --host beyond loopback) puts nginx in front of tritonserver, and nginx "
            "is not installed: `sudo apt-get install nginx` (Debian/Ubuntu), or pass --nginx PATH"
        )
    return found


class NginxProxy:
    """nginx in the foreground in its own process group, with a private prefix directory.

    Use as a context manager, or ``start`` / ``wait_listening`` / ``stop``.
    """

    def __init__(
        self,
        config: ProxyConfig,
        nginx: str,
        admin_token: str,
        api_key_file: Path | None = None,
    ) -> None:
        """``api_key_file``: inference needs one of its keys (re-read by ``reload``); None: no keys."""
        self.config = config
        self.nginx = nginx
        self.process: subprocess.Popen[bytes] | None = None
        self._admin_token = admin_token
        self.api_key_file = api_key_file
        self.api_keys = 0  # how many keys the running nginx knows

    def write_maps(self) -> None:
        """The admin token's and the API keys' map files (private: the prefix is 0700/0711)."""
        keys = read_api_keys(self.api_key_file) if self.api_key_file is not None else None
        write_atomically(self.config.admin_token_map_path, admin_token_map(self._admin_token), mode=0o600)
        write_atomically(self.config.api_keys_map_path, api_keys_map(keys), mode=0o600)
        self.api_keys = len(keys or [])

    def reload(self) -> None:
        """Re-read the API key file and have nginx take the new keys (SIGHUP: a graceful reload)."""
        self.write_maps()
        if self.process is not None and self.process.poll() is None:  # else start() reads them
            self.process.send_signal(signal.SIGHUP)

    @property
    def config_path(self) -> Path:
        return self.config.prefix / "nginx.conf"

    def _argv(self, *extra: str) -> list[str]:
        # -e: nginx opens its compiled-in error log before reading the configuration.
        return [
            self.nginx,
            "-p",
            str(self.config.prefix),
            "-c",
            str(self.config_path),
            "-e",
            "stderr",
            *extra,
        ]

    def start(self) -> NginxProxy:
        prefix = self.config.prefix
        prefix.mkdir(mode=0o700, parents=True, exist_ok=True)
        worker = pwd.getpwnam(self.config.worker_user.split()[0]) if self.config.worker_user else None
        if worker is not None:
            prefix.chmod(0o711)  # the workers reach their directories, list nothing
        for temp in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"):
            (prefix / temp).mkdir(mode=0o700, exist_ok=True)
            if worker is not None:
                os.chown(prefix / temp, worker.pw_uid, worker.pw_gid)
        self.config_path.write_text(nginx_config(self.config))
        try:
            self.write_maps()
        except ServerSetupError as error:
            maps = (self.config.admin_token_map_path, self.config.api_keys_map_path)
            if not all(path.exists() for path in maps):
                raise
            # A restart after the key file broke: the keys in force stay in force.
            print(f"warning: keeping the API keys in force: {error}", file=sys.stderr, flush=True)
        test = subprocess.run(self._argv("-t", "-q"), capture_output=True, text=True, timeout=60, check=False)
        if test.returncode != 0:
            raise ServerSetupError(f"nginx refused its configuration:\n{test.stderr.strip()}")
        self.process = subprocess.Popen(
            self._argv(),
            start_new_session=True,  # its workers stop with it (killpg), even if the master is killed
            preexec_fn=die_with_parent,
        )
        return self

    def listening(self) -> bool:
        try:
            with socket.create_connection((self.config.probe_host, self.config.https_port), timeout=2):
                return True
        except OSError:
            return False

    def wait_listening(self, timeout_s: float = 30.0) -> None:
        assert self.process is not None, "start() first"
        deadline = time.monotonic() + timeout_s
        while not self.listening():
            if self.process.poll() is not None:
                raise ServerExitedError(f"nginx exited with code {self.process.returncode}")
            if time.monotonic() > deadline:
                raise ServerTimeoutError(f"nginx is not listening on port {self.config.https_port}")
            time.sleep(0.1)

    def stop(self, timeout_s: float = 30.0) -> int | None:
        """Graceful: stop listening, finish the requests in flight (SIGQUIT), then kill what is left."""
        process, self.process = self.process, None
        if process is None:
            return None
        # The group: the workers of a master that was killed keep their listening sockets open.
        return stop_group(process, signal.SIGQUIT, timeout_s)

    def __enter__(self) -> NginxProxy:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()


@contextlib.contextmanager
def private_prefix():
    """A private directory for nginx's pid and temporary files, removed afterwards."""
    with tempfile.TemporaryDirectory(prefix="densenet-nginx-") as directory:
        yield Path(directory)
