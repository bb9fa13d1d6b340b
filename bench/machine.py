"""The machine's description and processes' resident memory, read from /proc."""

from __future__ import annotations

import os
import platform
import subprocess
import sys
from pathlib import Path
from typing import Dict, List, Tuple


def _proc_children() -> Dict[int, List[int]]:
    children: Dict[int, List[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # pid (comm) state ppid ...: comm may contain spaces and parentheses.
        ppid = int(stat[stat.rindex(")") + 2 :].split()[1])
        children.setdefault(ppid, []).append(int(entry.name))
    return children


def process_tree(pid: int) -> List[int]:
    """Return the pid and all its descendants (Sanic workers are forked children)."""
    children, tree, todo = _proc_children(), [], [pid]
    while todo:
        current = todo.pop()
        tree.append(current)
        todo.extend(children.get(current, []))
    return tree


def _status_kb(pid: int, key: str) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def rss(pid: int) -> Tuple[int, int]:
    """Return (current RSS, peak RSS) in bytes of the process and its descendants, summed."""
    tree = process_tree(pid)
    return (sum(_status_kb(p, "VmRSS") for p in tree) * 1024, sum(_status_kb(p, "VmHWM") for p in tree) * 1024)


def pss(pid: int) -> int:
    """Return the proportional set size in bytes of the process and its descendants.

    Pages shared between forked workers are split between them instead of counted once per process.
    """
    total = 0
    for p in process_tree(pid):
        try:
            for line in Path(f"/proc/{p}/smaps_rollup").read_text().splitlines():
                if line.startswith("Pss:"):
                    total += int(line.split()[1])
                    break
        except OSError:
            pass
    return total * 1024


def description() -> Dict[str, str]:
    """Cores, memory, CPU model, OS, Python and Rasa versions, load at the time."""
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem_kb = _meminfo("MemTotal")
    try:
        from importlib.metadata import version

        rasa_version, sdk_version = version("rasa"), version("rasa-sdk")
    except Exception:  # noqa: BLE001 - only a description
        rasa_version = sdk_version = "unknown"
    os_name = platform.platform()
    try:
        for line in Path("/etc/os-release").read_text().splitlines():
            if line.startswith("PRETTY_NAME="):
                os_name = line.split("=", 1)[1].strip('"')
    except OSError:
        pass
    return {
        "cores": str(os.cpu_count()),
        "memory": f"{mem_kb / 1024 / 1024:.1f} GiB",
        "cpu": cpu,
        "os": f"{os_name}, kernel {platform.release()}",
        "python": platform.python_version(),
        "rasa": f"rasa {rasa_version}, rasa-sdk {sdk_version}",
        "load": load_average(),
    }


def load_average() -> str:
    """Return the 1, 5 and 15 minute load averages (other work on the machine skews figures)."""
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "unknown"


def _meminfo(key: str) -> int:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1])
    return 0


def git_revision(root: Path) -> str:
    """Return the checked-out commit, with " + uncommitted changes" when tracked files differ from it."""
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=root, capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"], cwd=root, capture_output=True, text=True
        ).stdout.strip()
        return head + (" + uncommitted changes" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


if __name__ == "__main__":
    for k, v in description().items():
        print(f"{k}: {v}")
    print(f"rss of this process: {rss(os.getpid())}", file=sys.stderr)
