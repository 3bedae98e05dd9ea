"""The argument groups several ``densenet-client`` commands share, each parsed into one typed object.

``ConnectionOptions``: which server, how to reach it (``--url``, $DENSENET_URL...); ``BatchOptions``:
how many images at a time and which files (``--concurrency``, ``--timeout``, ``--ext``). A command
adds a group with ``add_arguments(parser)`` and reads it once with ``from_args(args)``.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from densenet_contract.cli import non_negative_int, positive_float, positive_int
from densenet_contract.names import ENSEMBLE

from ..client import DenseNetClient
from ..errors import ConfigurationError, DenseNetClientError, ModelNotReady, ServerUnavailable
from ..predictions import Prediction
from .files import DEFAULT_EXTENSIONS, Found, find_images

URL_VARIABLE = "DENSENET_URL"


class Unusable(Exception):
    """The command cannot run (nothing to work on, an unreadable input): ``error: MESSAGE``, exit 2."""


@dataclass(frozen=True)
class ConnectionOptions:
    """The server a command talks to, and how."""

    url: str | None = None  # None: localhost with the protocol's port
    protocol: str | None = None
    model: str = ENSEMBLE
    connect_timeout_s: float = 5.0
    api_key_file: Path | None = None

    @staticmethod
    def add_arguments(parser: argparse.ArgumentParser) -> None:
        group = parser.add_argument_group("server")
        group.add_argument(
            "--url",
            help="server URL: http://host:8000, https://..., grpc://host:8001, grpcs://... "
            f"(default ${URL_VARIABLE}, else localhost with the protocol's port)",
        )
        group.add_argument(
            "--protocol", choices=("http", "grpc"), help="when the URL has no scheme (default http)"
        )
        group.add_argument("--model", default=ENSEMBLE, help=argparse.SUPPRESS)
        group.add_argument("--connect-timeout", type=positive_float, default=5.0, metavar="SECONDS")
        group.add_argument(
            "--api-key-file",
            type=Path,
            metavar="FILE",
            help="for a server that requires an API key: the file holding it (its first line that is not "
            "a '#' comment); default $DENSENET_API_KEY. The key is never printed",
        )

    @classmethod
    def from_args(
        cls, args: argparse.Namespace, environ: Mapping[str, str] | None = None
    ) -> ConnectionOptions:
        environ = os.environ if environ is None else environ
        return cls(
            url=args.url if args.url is not None else environ.get(URL_VARIABLE),
            protocol=args.protocol,
            model=args.model,
            connect_timeout_s=args.connect_timeout,
            api_key_file=args.api_key_file,
        )

    def client(self, *, request_timeout_s: float = 30.0, top_k: int | None = None) -> DenseNetClient:
        """A client for this server (the API key file is read now).

        Raises
        ------
        ConfigurationError
            For a bad URL or protocol, or an API key file that cannot be read or holds no key.
        """
        return DenseNetClient(
            self.url,
            protocol=self.protocol,
            model=self.model,
            connect_timeout_s=self.connect_timeout_s,
            request_timeout_s=request_timeout_s,
            top_k=top_k,
            api_key=api_key(self.api_key_file),
        )


@dataclass(frozen=True)
class BatchOptions:
    """How a command sends many images: ``concurrency`` in flight, ``timeout_s`` each, found by extension."""

    concurrency: int = 4
    timeout_s: float = 30.0
    extensions: str = ",".join(e.lstrip(".") for e in DEFAULT_EXTENSIONS)

    @staticmethod
    def add_arguments(parser: argparse.ArgumentParser) -> None:
        group = parser.add_argument_group("batch")
        group.add_argument(
            "--concurrency", type=positive_int, default=4, metavar="N", help="requests in flight (default 4)"
        )
        group.add_argument(
            "--timeout", type=positive_float, default=30.0, metavar="SECONDS", help="per image"
        )
        group.add_argument(
            "--ext",
            default=BatchOptions.extensions,
            help="extensions searched for in folders (default %(default)s; named files are always sent)",
        )

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> BatchOptions:
        return cls(concurrency=args.concurrency, timeout_s=args.timeout, extensions=args.ext)

    def find_images(self, paths: Sequence[str]) -> Found:
        """The images named and found under ``paths``; each missing path is reported on stderr.

        Raises
        ------
        Unusable
            When there is no image at all.
        """
        found = find_images(paths, self.extensions.split(","))
        for path in found.missing:
            print(f"error: {path}: no such file or directory", file=sys.stderr)
        if not found.images:
            raise Unusable(f"no images found (looked for {self.extensions} in folders)")
        return found

    def answers(
        self, client: DenseNetClient, images: Sequence[Path]
    ) -> Iterator[tuple[Path, list[Prediction] | DenseNetClientError]]:
        """Each image with its predictions or its error, in order.

        Raises
        ------
        ServerUnavailable, ModelNotReady
            At once: every other image would fail the same way.
        """
        outcomes = client.classify_many(images, concurrency=self.concurrency, return_exceptions=True)
        for image, outcome in zip(images, outcomes, strict=True):
            if isinstance(outcome, (ServerUnavailable, ModelNotReady)):
                raise outcome
            yield image, outcome


def add_classes_listed(parser: argparse.ArgumentParser, flag: str) -> None:
    """``flag`` (``--misses``, ``--top``): how many classes a report lists, 10 unless told."""
    parser.add_argument(
        flag, type=non_negative_int, default=10, metavar="N", help="classes listed (default 10)"
    )


def api_key(path: Path | None) -> str | None:
    """The key in ``path`` (its first line that is not blank or a '#' comment); None: no file given.

    Raises
    ------
    ConfigurationError
        When the file cannot be read or holds no key.
    """
    if path is None:
        return None
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigurationError(f"cannot read the API key file {path}: {type(error).__name__}") from None
    for line in lines:
        if line.strip() and not line.strip().startswith("#"):
            return line.strip()
    raise ConfigurationError(f"the API key file {path} holds no key")
