"""Process-tree checks from /proc (Linux), so tests need no extra dependency."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path


def _parent_and_cmdline(pid: int) -> tuple[int, str] | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return None
    # The command name may hold spaces or parentheses: the fields after the last ')' are fixed.
    state_and_rest = stat.rsplit(")", 1)[1].split()
    if state_and_rest[0] == "Z":
        return None
    return int(state_and_rest[1]), cmdline


def descendants(root: int) -> dict[int, str]:
    """All live descendants of ``root``: {pid: command line}."""
    table = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (info := _parent_and_cmdline(int(entry.name))) is not None:
            table[int(entry.name)] = info
    found, frontier = {}, [root]
    while frontier:
        parent = frontier.pop()
        for pid, (ppid, cmdline) in table.items():
            if ppid == parent and pid not in found:
                found[pid] = cmdline
                frontier.append(pid)
    return found


def alive(processes: dict[int, str]) -> list[str]:
    """Those of ``processes`` still running (same pid and command line)."""
    return [cmd for pid, cmd in processes.items() if (info := _parent_and_cmdline(pid)) and info[1] == cmd]


def wait_for(predicate: Callable[[], bool], timeout_s: float, what: str) -> None:
    """Poll ``predicate`` every 0.2 s; fail the test after ``timeout_s`` naming ``what``."""
    deadline = time.monotonic() + timeout_s
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.2)


def listening_addresses(port: int) -> set[str]:
    """Local addresses with a LISTEN socket on ``port`` (from /proc/net/tcp and tcp6)."""
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            local, state = line.split()[1], line.split()[3]
            address, hex_port = local.rsplit(":", 1)
            if state == "0A" and int(hex_port, 16) == port:
                found.add(address)
    return found


def tree_rss(root: int) -> int:
    """Resident bytes of ``root`` and every live process under it."""
    total_kb = 0
    for pid in [root, *descendants(root)]:
        try:
            status = Path(f"/proc/{pid}/status").read_text()
        except OSError:
            continue
        total_kb += next(
            (int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS:")), 0
        )
    return total_kb * 1024
