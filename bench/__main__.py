"""The benchmark: ours against stock Rasa 3.6, through the REST channel (`make bench`).

    .venv/bin/python -m bench                 # the full run, writes docs/benchmark.md
    .venv/bin/python -m bench --quick         # a smoke run: fewer messages, reuses the models
    .venv/bin/python -m bench --skip-stock    # ours only

In one run: full training time (a fresh `rasa train --out <tmp>` with an empty
training cache), model size, server start time, resident memory of the Rasa
server and the action server after the load, per-message latency p50/p95/p99
for 1 conversation alone and for 20 and 50 concurrent conversations,
throughput, errors, and held-out accuracy; the same for stock Rasa (the
`config.yml` that `rasa init` writes, i.e. Rasa's default pipeline and
policies) trained on the project's own data and domain and served as
`rasa init` serves it (Rasa's own REST channel and SQL tracker store, on
SQLite) with the same action server, with every figure as a ratio ours/stock.

Stock Rasa trains for a long time on 2 cores (its DIET has transformer layers
and 100 epochs), so its model and measured training time are kept in
var/bench/stock/ and reused while the data, domain and Rasa version are
unchanged (`--retrain-stock` forces a new training; `--reuse-stock` accepts a
model trained on older data).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

import yaml

from bench import load, machine
from bench.services import Redis
from tests.servers import BIN, MODEL, QUIET, RASA, Server, action_server, project_endpoints, rasa_server, say

ROOT = Path(__file__).resolve().parents[1]
CACHE = ROOT / "var" / "bench"
STOCK_DIR = CACHE / "stock"
REPORT = ROOT / "docs" / "benchmark.md"
MB = 1024 * 1024

# Conversations per simulated patient at each level: (full run, --quick).
LEVELS = {1: (10, 3), 20: (8, 1), 50: (2, 1)}
# The targets (issue 5), checked in the report.
TARGET_P95_20_MS = 150
TARGET_THROUGHPUT_RATIO = 2.0
TARGET_RSS_BYTES = 1.5 * 1024**3
TARGET_TRAIN_SECONDS = 180


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def stock_config_source() -> Path:
    """Return the config.yml that `rasa init` copies into a new project (from the installed Rasa)."""
    import rasa.cli

    return Path(rasa.cli.__file__).parent / "initial_project" / "config.yml"


def domain_path() -> Path:
    return ROOT / "domain.yml" if (ROOT / "domain.yml").exists() else ROOT / "domain"


def fingerprint(config: Path) -> str:
    """Hash what a model is trained from: the config, domain, data and Rasa version."""
    digest = hashlib.sha256(machine.description()["rasa"].encode())
    digest.update(config.read_bytes())
    domain = domain_path()
    files = [domain] if domain.is_file() else sorted(p for p in domain.rglob("*") if p.is_file())
    files += sorted(p for p in (ROOT / "data").rglob("*") if p.is_file() and p.suffix in (".yml", ".yaml"))
    for path in files:
        digest.update(str(path.relative_to(ROOT)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def train(config: Path, out: Path, name: str) -> Tuple[Path, float]:
    """`rasa train` into `out` with an empty training cache; returns the model and seconds."""
    out.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, **QUIET, "RASA_CACHE_DIRECTORY": str(out / "cache")}
    rasa = [str(BIN / "rasa")] if name == "stock" else RASA  # stock: Rasa's own command line
    command = [
        *rasa,
        "train",
        "--config",
        str(config),
        "--domain",
        str(domain_path()),
        "--data",
        str(ROOT / "data"),
        "--out",
        str(out),
        "--fixed-model-name",
        name,
    ]
    log(f"training {name}: {' '.join(command[1:])}")
    start = time.perf_counter()
    with open(out / "train.log", "wb") as output:
        result = subprocess.run(command, cwd=ROOT, env=env, stdout=output, stderr=subprocess.STDOUT)
    seconds = time.perf_counter() - start
    if result.returncode != 0:
        tail = (out / "train.log").read_text(errors="replace")[-3000:]
        raise RuntimeError(f"training {name} failed:\n{tail}")
    log(f"trained {name} in {seconds:.0f} s")
    return out / f"{name}.tar.gz", seconds


def stock_model(tmp: Path, retrain: bool, reuse_any: bool) -> Tuple[Path, Dict[str, Any]]:
    """Return the stock model and its meta: the cached one when it matches, else a new training (cached after)."""
    config = tmp / "stock" / "config.yml"
    config.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(stock_config_source(), config)  # rasa train writes the defaults into it
    wanted = fingerprint(config)
    meta_file, cached = STOCK_DIR / "meta.json", STOCK_DIR / "stock.tar.gz"
    if not retrain and meta_file.exists() and cached.exists():
        meta = json.loads(meta_file.read_text())
        if meta.get("fingerprint") == wanted or reuse_any:
            meta["cached"] = True
            meta["stale"] = meta.get("fingerprint") != wanted
            log(
                f"stock: reusing {cached.relative_to(ROOT)} (trained {meta['trained_at']}"
                f"{', on OLDER data' if meta['stale'] else ''})"
            )
            return cached, meta
        log("stock: the cached model was trained on other data: training again")
    load_before = machine.load_average()
    model, seconds = train(config, tmp / "stock", "stock")
    STOCK_DIR.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(model, cached)
    meta = {
        "fingerprint": wanted,
        "train_seconds": seconds,
        "trained_at": _now(),
        "load_before": load_before,
        "load_after": machine.load_average(),
    }
    meta_file.write_text(json.dumps(meta, indent=2))
    return cached, {**meta, "cached": False, "stale": False}


def _now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")


def endpoints_for(
    action_url: str, tracker_db: Path, redis: Optional[Redis], keep_lock_store: bool, stock: bool = False
) -> str:
    """Return the project's endpoints.yml with this run's action server, a fresh SQLite file, a local Redis.

    Stock Rasa gets Rasa's own SQL tracker store instead of the project's.
    """
    endpoints = project_endpoints(action_url, tracker_db, rasa_store=stock)
    endpoints.pop("lock_store", None)
    if keep_lock_store and redis:
        endpoints["lock_store"] = {
            "type": "stores.redis_lock_store.AtomicRedisLockStore",
            "url": "127.0.0.1",
            "port": redis.port,
            "db": 1,
            "key_prefix": "bench",
        }
    return yaml.safe_dump(endpoints, sort_keys=False)


def credentials_for(name: str, directory: Path) -> Path:
    """Return the credentials file: the project's channels for ours, Rasa's own REST channel for stock.

    Stock is served without the project's channels (the admission gate, the
    input checks) and started by Rasa's own command line, without rasa_patches,
    as `rasa init` would serve it.
    """
    if name != "stock":
        return ROOT / "credentials.yml"
    path = directory / "credentials-stock.yml"
    path.write_text("rest:\n", encoding="utf-8")
    return path


def measure(name: str, model: Path, tmp: Path, quick: bool, workers: int, redis: Optional[Redis]) -> Dict[str, Any]:
    """Serve one model, time its start, load it at every level, read its memory."""
    logs = tmp / f"serve-{name}"
    logs.mkdir(parents=True, exist_ok=True)
    actions = action_server(logs, env={"CALLBACK_DB_URL": f"sqlite:///{logs / 'callbacks.db'}"}).start()
    rasa: Optional[Server] = None
    result: Dict[str, Any] = {"name": name, "model_mb": model.stat().st_size / MB, "workers": workers}
    try:
        endpoints = endpoints_for(
            f"{actions.url}/webhook", logs / "tracker.db", redis, keep_lock_store=workers > 1, stock=name == "stock"
        )
        env = {"SANIC_WORKERS": str(workers)}
        rasa = rasa_server(
            logs,
            actions.url,
            None,
            env=env,
            model=model,
            endpoints_text=endpoints,
            credentials=credentials_for(name, logs),
            stock=name == "stock",
        )
        rasa.health = "/webhooks/rest/"
        start = time.perf_counter()
        rasa.start(timeout=900)
        result["start_s"] = time.perf_counter() - start
        say(rasa, f"{name}-first", "hi", timeout=300)
        result["first_reply_s"] = time.perf_counter() - start
        log(f"{name}: webhook up after {result['start_s']:.1f} s, first reply after {result['first_reply_s']:.1f} s")
        load.run(rasa.url, 2, 1, f"{name}-warmup")
        levels = {}
        for concurrency, (full, short) in LEVELS.items():
            level = load.run(rasa.url, concurrency, short if quick else full, name)
            levels[concurrency] = level.as_dict()
            levels[concurrency]["error_samples"] = level.error_samples
            log(
                f"{name}: {concurrency:>2} concurrent: {level.messages} messages, p50 {level.p(50):.0f} ms, "
                f"p95 {level.p(95):.0f} ms, p99 {level.p(99):.0f} ms, {level.throughput:.1f} msg/s, "
                f"{level.errors} errors, {level.empty} empty"
            )
        result["levels"] = levels
        result["rasa_rss"], result["rasa_peak_rss"] = machine.rss(rasa.process.pid)
        result["rasa_pss"] = machine.pss(rasa.process.pid)
        result["rasa_processes"] = len(machine.process_tree(rasa.process.pid))
        result["actions_rss"], result["actions_peak_rss"] = machine.rss(actions.process.pid)
    finally:
        if rasa:
            rasa.stop()
        actions.stop()
    return result


def heldout(model: Path, stock: bool = False) -> Dict[str, Any]:
    """Return the held-out accuracy, measured in a separate process (it loads the model itself)."""
    output = subprocess.run(
        [str(BIN / "python"), "-m", "bench.accuracy", str(model), *["--stock"] * stock],
        cwd=ROOT,
        env={**os.environ, **QUIET},
        capture_output=True,
        text=True,
    )
    if output.returncode != 0:
        log(f"held-out accuracy failed: {output.stderr[-1500:]}")
        return {}
    return json.loads(output.stdout.strip().splitlines()[-1])


# ---------------------------------------------------------------- the report


def _ratio(ours: Optional[float], stock: Optional[float]) -> str:
    if ours is None or stock is None or not stock or any(map(math.isnan, (ours, stock))):
        return "n/a"
    return f"{ours / stock:.2f}"


def _fmt(value: Optional[float], digits: int = 0) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    return f"{value:,.{digits}f}"


def rows(ours: Dict[str, Any], stock: Optional[Dict[str, Any]]) -> List[Tuple[str, str, str, str]]:
    """(figure, ours, stock, ours/stock) for every figure."""
    stock = stock or {}
    out = []

    def add(label: str, key, digits: int = 0, scale: float = 1.0) -> None:
        a = key(ours) if callable(key) else ours.get(key)
        b = key(stock) if callable(key) else stock.get(key)
        a = a / scale if a is not None else None
        b = b / scale if b is not None else None
        out.append((label, _fmt(a, digits), _fmt(b, digits) if stock else "-", _ratio(a, b) if stock else "-"))

    add("full training time (s)", "train_seconds")
    add("model size (MiB)", "model_mb", 1)
    add("server start: REST webhook answers (s)", "start_s", 1)
    add("server start: first reply (s)", "first_reply_s", 1)
    add("Rasa server RSS after load (MiB)", "rasa_rss", 0, MB)
    add("Rasa server PSS after load (MiB; shared pages split between processes)", "rasa_pss", 0, MB)
    add("Rasa server peak RSS (MiB)", "rasa_peak_rss", 0, MB)
    add("action server RSS after load (MiB)", "actions_rss", 0, MB)
    for c in LEVELS:
        label = "1 conversation alone" if c == 1 else f"{c} concurrent conversations"
        for q in ("p50", "p95", "p99"):
            add(f"{label}: {q} latency (ms)", lambda r, c=c, q=q: r.get("levels", {}).get(c, {}).get(f"{q}_ms"))
        add(f"{label}: throughput (messages/s)", lambda r, c=c: r.get("levels", {}).get(c, {}).get("throughput"), 1)
    add(
        "messages sent (all levels)",
        lambda r: sum(v["messages"] + v["errors"] for v in r["levels"].values()) if r.get("levels") else None,
    )
    add(
        "errors (HTTP errors, timeouts)",
        lambda r: sum(v["errors"] for v in r["levels"].values()) if r.get("levels") else None,
    )
    add("empty replies", lambda r: sum(v["empty"] for v in r["levels"].values()) if r.get("levels") else None)
    add("held-out top-1 accuracy", lambda r: r.get("heldout", {}).get("top1"), 3)
    add("held-out answer accuracy", lambda r: r.get("heldout", {}).get("answer"), 3)
    return out


def targets(ours: Dict[str, Any], stock: Optional[Dict[str, Any]]) -> List[Tuple[str, str, str]]:
    """Return the issue's targets: (target, measured, met?)."""
    level20 = ours.get("levels", {}).get(20, {})
    errors = sum(v["errors"] for v in ours.get("levels", {}).values())
    # One process: its peak RSS. Several (Sanic workers): their PSS, which counts shared pages once.
    several = ours.get("rasa_processes", 1) > 1
    memory = ours.get("rasa_pss" if several else "rasa_peak_rss", math.inf)
    memory_kind = "PSS of all worker processes" if several else "peak RSS"
    out = [
        (
            f"p95 at 20 concurrent conversations <= {TARGET_P95_20_MS} ms",
            f"{_fmt(level20.get('p95_ms'))} ms",
            level20.get("p95_ms", math.inf) <= TARGET_P95_20_MS,
        ),
    ]
    if stock:
        s20 = stock.get("levels", {}).get(20, {})
        ratio = level20.get("throughput", 0) / s20["throughput"] if s20.get("throughput") else math.nan
        out.append(
            (
                f"throughput at 20 concurrent >= {TARGET_THROUGHPUT_RATIO:g}x stock",
                f"{ratio:.2f}x",
                ratio >= TARGET_THROUGHPUT_RATIO,
            )
        )
    out += [
        ("no errors", str(errors), errors == 0),
        (
            "Rasa server resident memory <= 1.5 GiB",
            f"{_fmt(memory / MB)} MiB {memory_kind}",
            memory <= TARGET_RSS_BYTES,
        ),
        (
            f"full training <= {TARGET_TRAIN_SECONDS} s",
            f"{_fmt(ours.get('train_seconds'))} s",
            None if ours.get("train_seconds") is None else ours["train_seconds"] <= TARGET_TRAIN_SECONDS,
        ),
    ]
    if ours.get("heldout"):
        # The issue asks for no loss against before the optimisation; 0.90 is tests/test_heldout.py's bar.
        worst = min(ours["heldout"]["top1"], ours["heldout"]["answer"])
        out.append(
            (
                "held-out top-1 and answer accuracy >= 0.90 (tests/test_heldout.py)",
                f"{ours['heldout']['top1']:.3f} / {ours['heldout']['answer']:.3f}",
                worst >= 0.90,
            )
        )
    return [(t, m, "not measured" if ok is None else "yes" if ok else "**no**") for t, m, ok in out]


def render(run: Dict[str, Any]) -> str:
    ours, stock = run["ours"], run.get("stock")
    m = run["machine"]
    table = rows(ours, stock)
    lines = [
        "# Benchmark: ours against stock Rasa 3.6",
        "",
        "Generated by `bench/` — do not edit by hand; run the command below again. The figures "
        "before and after the optimisations, and what is left, are in docs/performance.md.",
        "",
        f"- **Command:** `{run['command']}`" + (" (**quick smoke run**: fewer messages)" if run["quick"] else ""),
        f"- **Date:** {run['date']}; revision {run['revision']}; whole run {run['total_s'] / 60:.1f} min",
        f"- **Machine:** {m['cores']} cores, {m['memory']} RAM, {m['cpu']}; {m['os']}",
        f"- **Software:** Python {m['python']}, {m['rasa']}",
        f"- **Load average** (other work on the machine skews every figure): {run['load_start']} at the start, "
        f"{run['load_end']} at the end",
        f"- **Ours:** `config.yml`, Sanic workers: {ours.get('workers', 1)}"
        + (" (Redis lock store)" if ours.get("workers", 1) > 1 else ""),
    ]
    if stock:
        sm = run.get("stock_meta", {})
        lines.append(
            "- **Stock:** the `config.yml` that `rasa init` writes (Rasa's default pipeline and policies), trained on "
            "the same data and domain, served with Rasa's own REST channel and SQL tracker store (SQLite) and one "
            "Sanic worker, with the same action server"
            + (
                f"; its model and training time are from {sm.get('trained_at')} (cached in var/bench/stock/)"
                if sm.get("cached")
                else ""
            )
            + (" — **trained on older data**" if sm.get("stale") else "")
            + (f" ({sm['note']})" if sm.get("note") else "")
        )
    lines += [
        "",
        "| figure | ours | stock | ours/stock |",
        "|---|---:|---:|---:|",
        *(f"| {a} | {b} | {c} | {d} |" for a, b, c, d in table),
        "",
        "Ratios are ours divided by stock: below 1 is better for times, sizes and memory; above 1 is better for "
        "throughput and accuracy.",
        "",
        "## Targets (issue 5)",
        "",
        "| target | measured | met |",
        "|---|---|---|",
        *(f"| {t} | {mm} | {ok} |" for t, mm, ok in targets(ours, stock)),
        "",
        "## How it is measured",
        "",
        "- **Training:** `rasa train --config <config> --domain domain.yml --data data --out <tmp>` with an empty "
        "training cache (`RASA_CACHE_DIRECTORY` in the temporary directory), wall-clock time of the whole command.",
        "- **Serving:** `rasa run --model <model> --credentials <credentials> --endpoints <tmp endpoints>` on a free "
        "loopback port; the endpoints are the project's `endpoints.yml` with a fresh SQLite tracker store file and a "
        "fresh action server (`python -m actions`, SQLite callback database) for each of ours and stock. Ours runs "
        "with the project's `credentials.yml` (its channels, with the admission gate and the graph runner); stock "
        "with `rest:` alone (Rasa's own REST channel) and Rasa's `type: SQL` tracker store. Start time "
        "runs from launching the process until `GET /webhooks/rest/` answers; first reply until the first message "
        "is answered.",
        f"- **Load:** closed loop through `POST /webhooks/rest/webhook`: each simulated patient has conversations one "
        f"after another, each conversation a new sender sending the {len(load.CONVERSATION)} messages below, the "
        "next as soon as the reply arrives (no think time). Per level: "
        + ", ".join(
            f"{c} patient{'s' if c > 1 else ''} x {(s if run['quick'] else f)} conversation(s)"
            for c, (f, s) in LEVELS.items()
        )
        + ". Two warm-up conversations first, not counted. Latency is per message, from sending to the end of the "
        "reply; throughput is answered messages over the level's wall time. The load generator runs on the same "
        "machine (one Python process, aiohttp).",
        "- **Memory:** VmRSS (after the 50-conversation level), PSS (smaps_rollup) and VmHWM (peak) of the Rasa "
        "server process and its children (Sanic workers), summed, from /proc. With several workers the RSS sum "
        "counts shared pages once per process; PSS splits them.",
        "- **Held-out accuracy:** `tests/heldout/questions.yml` parsed by the model (`bench/accuracy.py`, the same "
        "figures as `tests/test_heldout.py`).",
        "- **Where the time goes:** `make profile` records the Rasa server with py-spy under the 20-conversation "
        "load, for ours and stock: flame graphs and a summary per stage in `var/profile/`.",
        "",
        "The conversation: " + " / ".join(f'"{t}"' for t in load.CONVERSATION),
    ]
    errors = [
        (name, c, s)
        for name in ("ours", "stock")
        if run.get(name)
        for c, v in run[name].get("levels", {}).items()
        for s in v.get("error_samples", [])
    ]
    if errors:
        lines += ["", "## Error samples", ""] + [f"- {n}, {c} concurrent: `{s}`" for n, c, s in errors]
    return "\n".join(lines) + "\n"


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--quick",
        action="store_true",
        help="smoke run: fewer messages; reuses models/dry-needling.tar.gz (no training) " "and the cached stock model",
    )
    parser.add_argument("--skip-stock", action="store_true", help="measure ours only")
    parser.add_argument(
        "--skip-train", action="store_true", help="serve models/dry-needling.tar.gz instead of training ours anew"
    )
    parser.add_argument("--retrain-stock", action="store_true", help="train stock again even if cached")
    parser.add_argument(
        "--reuse-stock", action="store_true", help="use the cached stock model even if it was trained on older data"
    )
    parser.add_argument("--skip-accuracy", action="store_true", help="do not measure held-out accuracy")
    parser.add_argument("--config", type=Path, default=ROOT / "config.yml", help="our config (default: config.yml)")
    parser.add_argument(
        "--workers",
        type=int,
        default=int(os.environ.get("SANIC_WORKERS") or 1),
        help="Sanic workers for ours (default: $SANIC_WORKERS or 1); more than 1 starts a local "
        "Redis for the lock store",
    )
    parser.add_argument("--out", type=Path, default=REPORT, help="the report (default: docs/benchmark.md)")
    parser.add_argument(
        "--render",
        action="store_true",
        help="only write the report again from the last run's figures (var/bench/last.json)",
    )
    args = parser.parse_args(argv)
    if args.render:
        run = json.loads((CACHE / "last.json").read_text())
        for name in ("ours", "stock"):
            if run.get(name):
                run[name]["levels"] = {int(c): v for c, v in run[name].get("levels", {}).items()}
        args.out.write_text(render(run), encoding="utf-8")
        log(f"wrote {args.out} from var/bench/last.json")
        return 0
    if args.quick:
        args.skip_train = True
        args.reuse_stock = True

    command = "make bench" + (
        f" BENCH_ARGS=\"{' '.join(argv if argv is not None else sys.argv[1:])}\""
        if (argv if argv is not None else sys.argv[1:])
        else ""
    )
    started = time.perf_counter()
    run: Dict[str, Any] = {
        "command": command,
        "quick": args.quick,
        "date": _now(),
        "revision": machine.git_revision(ROOT),
        "machine": machine.description(),
        "load_start": machine.load_average(),
    }
    log(f"machine: {run['machine']}")
    tmp = Path(tempfile.mkdtemp(prefix="dn-bench-"))
    redis: Optional[Redis] = None
    try:
        if args.skip_train:
            ours_model, ours_train = MODEL, None
            if not MODEL.exists():
                raise SystemExit(f"{MODEL} is missing: run `make train` or drop --skip-train/--quick")
        else:
            ours_model, ours_train = train(args.config.resolve(), tmp / "ours", "ours")
        stock_model_path, stock_meta = (None, {})
        if not args.skip_stock:
            if args.quick and not (STOCK_DIR / "stock.tar.gz").exists():
                log("stock: no cached model yet, so --quick trains it once (slow on 2 cores)")
            stock_model_path, stock_meta = stock_model(tmp, args.retrain_stock, args.reuse_stock)
            run["stock_meta"] = stock_meta
        if args.workers > 1:
            redis = Redis().start()
        ours = measure("ours", ours_model, tmp, args.quick, args.workers, redis)
        ours["train_seconds"] = ours_train
        run["ours"] = ours
        if stock_model_path:
            stock = measure("stock", stock_model_path, tmp, args.quick, 1, None)
            stock["train_seconds"] = stock_meta.get("train_seconds")
            run["stock"] = stock
        if not args.skip_accuracy:
            log("held-out accuracy")
            ours["heldout"] = heldout(ours_model)
            if stock_model_path:
                run["stock"]["heldout"] = heldout(stock_model_path, stock=True)
    finally:
        if redis:
            redis.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    run["load_end"] = machine.load_average()
    run["total_s"] = time.perf_counter() - started
    report = render(run)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(report, encoding="utf-8")
    CACHE.mkdir(parents=True, exist_ok=True)
    (CACHE / "last.json").write_text(json.dumps(run, indent=2, default=str))
    print(report)
    log(f"wrote {args.out} (and var/bench/last.json) in {run['total_s'] / 60:.1f} min")
    return 0


if __name__ == "__main__":
    sys.exit(main())
