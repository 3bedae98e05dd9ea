"""The edge's secrets as nginx maps: the admin token, the client API keys (read, checked, written)."""

from __future__ import annotations

import re
from pathlib import Path

from densenet_contract.files import write_atomically

from ..core import check_admin_token, check_secret
from ..errors import ServerSetupError


def _exact(value: str) -> str:
    """A case-sensitive nginx map regex matching exactly ``value`` (map strings ignore case)."""
    return '"~^' + re.sub(r"([.+])", r"\\\1", value) + '$"'


def admin_token_map(token: str) -> str:
    """The map entries (nginx syntax) that let the admin APIs pass with exactly ``token``."""
    return f"{_exact(check_admin_token(token))} 1;\n"


def check_api_key(key: str) -> str:
    """The same rules as the admin token: nothing that could end a quoted nginx string."""
    return check_secret(key, "an API key")


def api_keys_map(keys: list[str] | None) -> str:
    """The map entries (nginx syntax) naming the client of each "Bearer KEY"; None: keys are off.

    A client is named by its key's position in the file (never the key: it goes into no log).
    """
    if keys is None:
        return 'default "-";\n'
    lines = ['default "";']
    lines += [
        f'{_exact("Bearer " + check_api_key(key))} "key{number}";' for number, key in enumerate(keys, 1)
    ]
    return "\n".join(lines) + "\n"


def read_api_keys(path: Path) -> list[str]:
    """The keys in ``path``: one a line; blank lines and lines starting with '#' are skipped."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise ServerSetupError(f"cannot read the API key file {path}: {error.__class__.__name__}") from None
    keys = []
    for number, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        try:
            keys.append(check_api_key(line))
        except ServerSetupError as error:
            raise ServerSetupError(f"{path}, line {number}: {error}") from None
    if not keys:
        raise ServerSetupError(f"{path} holds no API key (one a line; '#' starts a comment)")
    return keys


MAP_FILES = ("admin-token.map", "api-keys.map")


def write_map_files(directory: Path, admin_token: str, api_key_file: Path | None) -> list[Path]:
    """The two map files of a deployment's edge (its secrets), from the token and the key file."""
    keys = read_api_keys(api_key_file) if api_key_file is not None else None
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    written = []
    for name, text in zip(MAP_FILES, (admin_token_map(admin_token), api_keys_map(keys)), strict=True):
        write_atomically(directory / name, text, mode=0o600)
        written.append(directory / name)
    return written
