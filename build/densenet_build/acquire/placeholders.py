"""What a server sends instead of the file, recognised from the first bytes of a 200 answer.

A model file never starts like text: ONNX is protobuf (first byte 0x08), a torch checkpoint is a
zip archive (``PK``) or a pickle (0x80). A Git LFS pointer, an HTML page (a login, quota or
"moved" page) or a JSON error does, so those are named at once instead of being downloaded again
and again and refused for their size or digest.
"""

from __future__ import annotations

import html
import json
import re

from ..errors import NotTheFileError

SNIFF_BYTES = 512  # enough for an LFS pointer (about 130 bytes) and an HTML page's title
LFS_SPEC = b"version https://git-lfs.github.com/spec/"
_TITLE = re.compile(rb"<title[^>]*>(.*?)</title", re.IGNORECASE | re.DOTALL)
_HTML_STARTS = (b"<!doctype html", b"<html", b"<head", b"<body", b"<?xml")


def check_first_bytes(first: bytes, content_type: str | None, note: str = "") -> None:
    """Raise :class:`NotTheFileError` when ``first`` (the answer's first bytes) is no model file.

    ``note`` says what it means for this source (e.g. that its LFS downloads ended); it follows
    the description of what was received.
    """
    what = describe_placeholder(first, content_type)
    if what is not None:
        raise NotTheFileError(f"the server sent {what}, not the model" + (f": {note}" if note else ""))


def describe_placeholder(first: bytes, content_type: str | None = None) -> str | None:
    """What ``first`` is when it is a known stand-in for a file (None: it may be the file)."""
    text = first.lstrip(b"\xef\xbb\xbf \t\r\n")
    if text.startswith(LFS_SPEC):
        return f"a Git LFS pointer ({_lfs_fields(text)})"
    kind = (content_type or "").split(";")[0].strip().lower()
    if text[:16].lower().startswith(_HTML_STARTS) or (kind == "text/html" and text.startswith(b"<")):
        title = _TITLE.search(text)
        if title is None:
            return "an HTML page"
        return f"an HTML page titled '{_one_line(html.unescape(title.group(1).decode('utf-8', 'replace')))}'"
    if text[:1] in (b"{", b"[") and (kind.endswith("json") or _looks_like_json(text)):
        return f"a JSON message ({_one_line(text.decode('utf-8', 'replace'))})"
    return None


def _lfs_fields(text: bytes) -> str:
    """``oid sha256:…, size N`` from a pointer (https://github.com/git-lfs/git-lfs/blob/main/docs/spec.md)."""
    fields = dict(line.split(" ", 1) for line in text.decode("utf-8", "replace").splitlines() if " " in line)
    return ", ".join(f"{key} {fields[key]}" for key in ("oid", "size") if key in fields) or "no oid"


def _looks_like_json(text: bytes) -> bool:
    try:
        json.loads(text)
    except ValueError:
        # Cut off at SNIFF_BYTES: a JSON object still shows a quoted key right after the brace.
        return re.match(rb'[\[{]\s*(["{\[\]}]|$)', text) is not None
    return True


def _one_line(text: str, limit: int = 160) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"
