"""What each change to Rasa's internals buys: Rasa's CPU per message with it and without it, side by side.

    .venv/bin/python -m bench.paired                      # every change, 3 rounds each
    .venv/bin/python -m bench.paired graph_runner --rounds 5

The machine's speed drifts too much to compare runs one after the other, so
each round runs two copies of an in-process harness **at the same time, one
per core**: one with every change, one without the change measured. Each copy
loads the trained model (``Agent.load``, the project's SQLite tracker store,
the real action server), holds the benchmark's 10-message conversation
(``bench/load.py``) ``--conversations`` times after two for warming up, and
reports the process CPU time per message. The action server is shared and
not counted. A change is switched off by not installing it
(``rasa_patches.install(skip=...)``) or by giving its class Rasa's method back
(the policy, the featurizer, the store's kept copies).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Callable, Dict, List

import rasa_patches

ROOT = Path(__file__).resolve().parents[1]


def _stock_rule_policy() -> None:
    from rasa.core.policies.rule_policy import RulePolicy as RasaRulePolicy

    from policies.rule_policy import RulePolicy

    RulePolicy._predict = RasaRulePolicy._predict
    RulePolicy._get_possible_keys = RasaRulePolicy._get_possible_keys
    RulePolicy.format_tracker_states = staticmethod(RasaRulePolicy.format_tracker_states)


def _stock_count_vectors() -> None:
    from rasa.nlu.featurizers.sparse_featurizer.count_vectors_featurizer import CountVectorsFeaturizer

    from components.sentence_count_vectors import SentenceCountVectorsFeaturizer

    SentenceCountVectorsFeaturizer._create_features = CountVectorsFeaturizer._create_features


def _no_kept_conversations() -> None:
    import stores.sql_tracker_store

    stores.sql_tracker_store.CACHE_SIZE = 0


# Changes that are not rasa_patches' installable ones: how to switch each off.
SWITCH_OFF: Dict[str, Callable[[], None]] = {
    "rule_policy": _stock_rule_policy,
    "sentence_count_vectors": _stock_count_vectors,
    "store_kept_copies": _no_kept_conversations,
}
PATCHES = rasa_patches.CHANGES
CHANGES = (*PATCHES, *SWITCH_OFF)


def worker(without: str, action_url: str, conversations: int, folder: Path) -> Dict[str, float]:
    """Hold the conversations in this process; return its CPU ms per message."""
    rasa_patches.install(skip=[without] if without in PATCHES else [])
    if without in SWITCH_OFF:
        SWITCH_OFF[without]()
    from rasa.core.agent import Agent
    from rasa.core.channels.channel import CollectingOutputChannel, UserMessage
    from rasa.utils.endpoints import EndpointConfig

    from bench.load import CONVERSATION
    from stores.sql_tracker_store import SQLTrackerStore
    from tests.servers import MODEL

    # A new database per run: conversations of an earlier round would make this one's longer.
    store = SQLTrackerStore(dialect="sqlite", db=str(folder / f"tracker-{without or 'all'}-{uuid.uuid4().hex}.db"))
    agent = Agent.load(str(MODEL), action_endpoint=EndpointConfig(url=action_url), tracker_store=store)

    async def hold(count: int, prefix: str) -> int:
        sent = 0
        for index in range(count):
            for text in CONVERSATION:
                await agent.handle_message(UserMessage(text, CollectingOutputChannel(), f"{prefix}-{index}"))
                sent += 1
        return sent

    loop = asyncio.new_event_loop()
    loop.run_until_complete(hold(2, "warm-up"))
    start = time.process_time()
    sent = loop.run_until_complete(hold(conversations, "measured"))
    return {"cpu_ms_per_message": (time.process_time() - start) * 1000 / sent, "messages": sent}


def run_pair(without: str, action_url: str, conversations: int, folder: Path) -> Dict[str, float]:
    """Run the two copies at once; return each one's CPU ms per message."""

    def start(name: str) -> subprocess.Popen:
        return subprocess.Popen(
            [
                sys.executable,
                "-m",
                "bench.paired",
                "--worker",
                name,
                "--action-url",
                action_url,
                "--conversations",
                str(conversations),
                "--folder",
                str(folder),
            ],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            env={
                **os.environ,
                "RASA_TELEMETRY_ENABLED": "false",
                "TF_CPP_MIN_LOG_LEVEL": "3",
                "PYTHONWARNINGS": "ignore",
            },
        )

    processes = {"all": start(""), "without": start(without)}
    result = {}
    for name, process in processes.items():
        out, _ = process.communicate(timeout=1800)
        if process.returncode != 0:
            raise RuntimeError(f"the harness without {without or 'nothing'} failed")
        result[name] = json.loads(out.strip().splitlines()[-1])["cpu_ms_per_message"]
    return result


def main(argv: List[str] = None) -> int:
    """Measure the changes named (all by default); print a Markdown table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("changes", nargs="*", help=f"any of {', '.join(CHANGES)} (default: all)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--conversations", type=int, default=30)
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--action-url", help=argparse.SUPPRESS)
    parser.add_argument("--folder", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    unknown = set(args.changes) - set(CHANGES)
    if unknown:
        parser.error(f"no change called {', '.join(sorted(unknown))}; there are {', '.join(CHANGES)}")
    args.changes = args.changes or list(CHANGES)
    if args.worker is not None:
        print(json.dumps(worker(args.worker, args.action_url, args.conversations, args.folder)))
        return 0
    from tests.servers import action_server

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        actions = action_server(folder, env={"CALLBACK_DB_URL": f"sqlite:///{folder / 'callbacks.db'}"}).start()
        try:
            print("| change | with it, ms CPU/message | without it | what it buys | rounds |")
            print("|---|---:|---:|---:|---|")
            for change in args.changes:
                pairs = [
                    run_pair(change, f"{actions.url}/webhook", args.conversations, folder) for _ in range(args.rounds)
                ]
                shares = [(p["without"] - p["all"]) / p["without"] for p in pairs]
                print(
                    f"| {change} | {statistics.median(p['all'] for p in pairs):.2f} "
                    f"| {statistics.median(p['without'] for p in pairs):.2f} "
                    f"| {statistics.median(shares):+.1%} "
                    f"| {', '.join(f'{s:+.1%}' for s in shares)} |",
                    flush=True,
                )
        finally:
            actions.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
