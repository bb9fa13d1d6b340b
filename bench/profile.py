"""Where the Rasa server's time goes under load: py-spy while 20 patients chat (`make profile`).

    .venv/bin/python -m bench.profile --py-spy /tmp/dn-py-spy/bin/py-spy [--seconds 20] [--skip-stock]

For ours (models/dry-needling.tar.gz) and, when var/bench/stock/ has a model
(`make bench` trains it), stock Rasa: starts the action server and the Rasa
server as the benchmark does, runs the 20-concurrent load, and records the Rasa
server with `py-spy record` for --seconds. Writes to var/profile/:

  <name>.svg       a flame graph (hover a box for its function and share)
  <name>.txt       py-spy's raw collapsed stacks
  <name>-top.txt   the summary: top functions by own time and by total time,
                   and total time per source file of the project, Rasa,
                   spaCy, TensorFlow, SQLAlchemy, Sanic...

Only samples where a thread was running Python are counted (py-spy leaves idle
threads out), so shares are of the server's busy time.
"""

from __future__ import annotations

import argparse
import asyncio
import html
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import zlib
from collections import Counter
from pathlib import Path
from typing import Dict, List, Optional, Tuple

from bench import load
from bench.__main__ import STOCK_DIR, credentials_for, endpoints_for, log
from tests.servers import MODEL, action_server, rasa_server, say

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "var" / "profile"
# The stages of handling one message in Rasa 3.6: a sample counts for a stage
# when any frame of its stack contains one of the patterns.
STAGE_PATTERNS = (
    ("tracker store: fetch the conversation (query + events)", ("TrackerStore.retrieve", "get_tracker (")),
    ("tracker store: save the new events (commit)", ("TrackerStore.save",)),
    ("NLU: SpacyNLP (spaCy pipeline)", ("SpacyNLP.process",)),
    ("NLU: DIETClassifier (intent; stock)", ("DIETClassifier.process",)),
    ("NLU: ResponseSelector(s) (stock)", ("ResponseSelector.process",)),
    ("NLU: LinearIntentClassifier (intent and topic; ours)", ("LinearIntentClassifier.process",)),
    ("NLU: CountVectorsFeaturizer", ("CountVectorsFeaturizer.process",)),
    ("NLU: the project's components (components/)", ("(components/",)),
    ("policies: predict the next action", ("predict_next_with_tracker_if_should", "_predict_next_with_tracker")),
    ("custom actions over HTTP (RemoteAction.run)", ("RemoteAction.run",)),
    ("  of which: jsonschema check of the action server's reply", ("RemoteAction._validate_action_result",)),
)
# Files whose total time tells the stages of handling one message apart.
STAGES = (
    "rasa/nlu/",
    "rasa/core/policies/",
    "rasa/core/tracker_store.py",
    "rasa/core/lock_store.py",
    "rasa/core/actions/",
    "rasa/utils/endpoints.py",
    "rasa/core/processor.py",
    "components/",
    "channels/",
    "spacy/language.py",
    "sqlalchemy/engine/base.py",
    "stores/",
)
FRAME = re.compile(r"^(?P<func>.*?) \((?P<file>[^()]*?)(?::(?P<line>\d+))?\)$")


def parse_collapsed(text: str) -> List[Tuple[List[str], int]]:
    """py-spy's raw output: one `frame;frame;... count` line per distinct stack."""
    stacks = []
    for line in text.splitlines():
        if not line.strip():
            continue
        frames, _, count = line.rpartition(" ")
        stacks.append((frames.split(";"), int(count)))
    return stacks


def short_file(path: str) -> str:
    """site-packages/rasa/nlu/x.py -> rasa/nlu/x.py; the project's files relative to the repo."""
    if "site-packages/" in path:
        return path.split("site-packages/", 1)[1]
    if path.startswith(str(ROOT) + "/"):
        return path[len(str(ROOT)) + 1 :]
    m = re.search(r"lib/python3\.\d+/(.*)", path)
    return f"<stdlib>/{m.group(1)}" if m else path


def function_of(frame: str) -> str:
    m = FRAME.match(frame)
    if not m:
        return frame
    return f"{m.group('func')} ({short_file(m.group('file'))})"


def file_of(frame: str) -> Optional[str]:
    m = FRAME.match(frame)
    return short_file(m.group("file")) if m else None


def summary(stacks: List[Tuple[List[str], int]], title: str, top: int = 30) -> str:
    """Top functions by own and total time, and total time per file and per package."""
    total = sum(c for _, c in stacks) or 1
    own: Counter = Counter()
    inclusive: Counter = Counter()
    per_file: Counter = Counter()
    per_package: Counter = Counter()
    for frames, count in stacks:
        frames = [f for f in frames if not f.startswith("process ")]  # --subprocesses' root frame
        if not frames:
            continue
        functions = [function_of(f) for f in frames]
        own[functions[-1]] += count
        for name in set(functions):
            inclusive[name] += count
        files = {file_of(f) for f in frames} - {None}
        for name in files:
            per_file[name] += count
        for name in {f.split("/", 1)[0] for f in files}:
            per_package[name] += count

    def table(counter: Counter, n: int, keep=lambda k: True) -> List[str]:
        return [f"  {c / total:6.1%}  {k}" for k, c in counter.most_common() if keep(k)][:n]

    lines = [f"# {title}: {total} samples of busy Python threads", ""]
    lines += ["## Stages (share of busy samples whose stack includes the stage)"]
    for label, patterns in STAGE_PATTERNS:
        n = sum(c for frames, c in stacks if any(p in f for f in frames for p in patterns))
        lines.append(f"  {n / total:6.1%}  {label}")
    lines.append("")
    lines += ["## Where the time goes: total time per NLU component, policy, tracker/lock store, action call"]
    lines += table(per_file, top, keep=lambda k: k.startswith(STAGES)) + [""]
    lines += ["## Top functions by own time (the leaf of the stack)"] + table(own, top) + [""]
    lines += [
        "## Top project, Rasa and library functions by total time (including what they call;",
        "## the server's entry frames, in nearly every sample, left out)",
    ]
    lines += table(
        inclusive, top, keep=lambda k: "<stdlib>" not in k and "(<" not in k and inclusive[k] < 0.95 * total
    ) + [""]
    lines += ["## Total time per package (top-level folder of site-packages, or the project's)"]
    lines += table(per_package, 25) + [""]
    lines += ["## Total time per file (project, Rasa, libraries)"]
    lines += table(per_file, top, keep=lambda k: not k.startswith("<stdlib>")) + [""]
    return "\n".join(lines)


def flamegraph_svg(stacks: List[Tuple[List[str], int]], title: str, width: int = 1600) -> str:
    """Return a self-contained SVG flame graph (root at the bottom); <title> tooltips give name and share."""
    tree: Dict = {"n": 0, "c": {}}
    for frames, count in stacks:
        frames = [f for f in frames if not f.startswith("process ")]
        node = tree
        node["n"] += count
        for frame in frames:
            node = node["c"].setdefault(frame, {"n": 0, "c": {}})
            node["n"] += count
    total = tree["n"] or 1
    row, pad = 16, 30

    def depth(node: Dict) -> int:
        return 1 + max((depth(c) for c in node["c"].values()), default=0)

    height = depth(tree) * row + pad + 10
    scale = (width - 20) / total
    boxes: List[str] = []

    def draw(node: Dict, x: float, level: int) -> None:
        for name, child in sorted(node["c"].items()):
            w = child["n"] * scale
            if w >= 0.5:
                y = height - 10 - (level + 1) * row
                hue = zlib.crc32((file_of(name) or name).encode()) % 60
                label = function_of(name)
                share = f"{child['n'] / total:.1%}"
                text = html.escape(label[: int(w / 7)]) if w > 30 else ""
                boxes.append(
                    f'<g><title>{html.escape(label)} — {share} ({child["n"]} samples)</title>'
                    f'<rect x="{x + 10:.1f}" y="{y}" width="{max(w - 0.5, 0.5):.1f}" height="{row - 1}" '
                    f'fill="hsl({hue + 10},85%,{55 + hue % 15}%)"/>'
                    + (f'<text x="{x + 13:.1f}" y="{y + 12}">{text}</text>' if text else "")
                    + "</g>"
                )
                draw(child, x, level + 1)
            x += w

    draw(tree, 0.0, 0)
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'font-family="monospace" font-size="11">'
        f'<rect width="100%" height="100%" fill="#fff"/>'
        f'<text x="10" y="20" font-size="14">{html.escape(title)} ({total} samples)</text>'
        + "".join(boxes)
        + "</svg>\n"
    )


def profile_one(name: str, model: Path, py_spy: str, seconds: float, concurrency: int, tmp: Path) -> Path:
    """Serve the model, load it, record it; returns the -top.txt file."""
    logs = tmp / name
    logs.mkdir(parents=True)
    actions = action_server(logs, env={"CALLBACK_DB_URL": f"sqlite:///{logs / 'callbacks.db'}"}).start()
    rasa = None
    try:
        rasa = rasa_server(
            logs,
            actions.url,
            None,
            model=model,
            credentials=credentials_for(name, logs),
            stock=name == "stock",
            endpoints_text=endpoints_for(
                f"{actions.url}/webhook", logs / "tracker.db", None, False, stock=name == "stock"
            ),
        )
        rasa.start(timeout=900)
        say(rasa, f"{name}-first", "hi", timeout=300)
        load.run(rasa.url, 2, 1, f"{name}-warmup")
        stop = asyncio.Event()
        loop = asyncio.new_event_loop()
        done: Dict[str, load.LevelResult] = {}

        def drive() -> None:
            done["result"] = loop.run_until_complete(
                load.run_level(rasa.url, concurrency, 1000, f"{name}-profile", max_seconds=seconds + 60, stop=stop)
            )

        thread = threading.Thread(target=drive, daemon=True)
        thread.start()
        time.sleep(2)  # let the load settle
        raw = OUT / f"{name}.txt"
        log(f"{name}: py-spy record for {seconds:.0f} s under {concurrency} concurrent conversations")
        subprocess.run(
            [
                py_spy,
                "record",
                "--pid",
                str(rasa.process.pid),
                "--duration",
                str(int(seconds)),
                "--rate",
                "100",
                "--subprocesses",
                "--format",
                "raw",
                "--output",
                str(raw),
            ],
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        loop.call_soon_threadsafe(stop.set)
        thread.join(timeout=120)
        level = done.get("result")
        stacks = parse_collapsed(raw.read_text())
        title = f"{name}: Rasa server under {concurrency} concurrent conversations"
        (OUT / f"{name}.svg").write_text(flamegraph_svg(stacks, title))
        if level:
            title += (
                f" ({level.messages} messages, p50 {level.p(50):.0f} ms, p95 {level.p(95):.0f} ms,"
                f" {level.errors} errors; the profiler slows the server down)"
            )
        top = OUT / f"{name}-top.txt"
        top.write_text(summary(stacks, title))
        return top
    finally:
        if rasa:
            rasa.stop()
        actions.stop()


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.profile", description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--py-spy",
        default=shutil.which("py-spy") or "/tmp/dn-py-spy/bin/py-spy",
        help="the py-spy binary (`make profile` installs one into /tmp/dn-py-spy)",
    )
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--concurrency", type=int, default=20)
    parser.add_argument("--skip-stock", action="store_true")
    parser.add_argument("--model", type=Path, default=MODEL, help="our model (default: models/dry-needling.tar.gz)")
    args = parser.parse_args()
    if not Path(args.py_spy).exists():
        raise SystemExit(f"py-spy not found at {args.py_spy}: run `make profile`")
    OUT.mkdir(parents=True, exist_ok=True)
    variants = [("ours", args.model)]
    stock = STOCK_DIR / "stock.tar.gz"
    if not args.skip_stock:
        if stock.exists():
            variants.append(("stock", stock))
        else:
            log("no stock model in var/bench/stock/ (make bench trains it): profiling ours only")
    tmp = Path(tempfile.mkdtemp(prefix="dn-profile-"))
    try:
        for name, model in variants:
            top = profile_one(name, model, args.py_spy, args.seconds, args.concurrency, tmp)
            print(top.read_text().split("## Total time per package")[0])
            log(f"wrote {OUT.relative_to(ROOT)}/{name}.svg, {name}.txt, {top.name}")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
