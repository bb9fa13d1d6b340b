"""Scale-out on this machine: two Rasa servers sharing PostgreSQL and Redis.

The topology of deploy/docker-compose.yml without containers: real PostgreSQL
and Redis servers from Debian's packages (installed with apt-get when missing
and started on free loopback ports by bench/services.py), two `rasa run`
processes on different ports with deploy/endpoints.yml itself (SQL tracker
store on PostgreSQL, Redis lock store), one action server storing callback
requests in the same PostgreSQL.

They run only with DN_SCALEOUT_TESTS=1 (`make test-scaleout` sets it): they
install packages and take a few minutes.
"""

from __future__ import annotations

import os
import random
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import SimpleNamespace
from typing import Dict, List

import pytest
import yaml

from bench.load import CONVERSATION
from bench.services import DEPLOY_ENDPOINTS, Nginx, Postgres, Redis, deploy_env
from tests.replies import clinic_said
from tests.servers import action_server, rasa_server, say

pytestmark = pytest.mark.skipif(
    os.environ.get("DN_SCALEOUT_TESTS") != "1",
    reason="scale-out tests run only with DN_SCALEOUT_TESTS=1 (`make test-scaleout`): they install and start "
    "PostgreSQL and Redis",
)

ROOT = Path(__file__).resolve().parents[1]
DOMAIN = yaml.safe_load((ROOT / "domain.yml").read_text(encoding="utf-8"))
CONCURRENT_CONVERSATIONS = 20


def texts(replies: List[dict]) -> List[str]:
    return [r.get("text", "") for r in replies]


class Topology:
    """PostgreSQL, Redis, an action server and two Rasa servers, started and stopped together."""

    def __init__(self, logs: Path) -> None:
        self.logs = logs
        self.postgres, self.redis = Postgres(), Redis()
        self.actions = self.nginx = None
        self.servers: list = []

    def start(self) -> "Topology":
        self.postgres.start()
        self.redis.start()
        self.tracker_url = self.postgres.create_database("rasa")
        self.callbacks_url = self.postgres.create_database("callbacks")
        self.actions = action_server(self.logs, env={"CALLBACK_DB_URL": self.callbacks_url}).start()
        env = deploy_env(f"{self.actions.url}/webhook", self.postgres, self.redis, db="rasa")
        endpoints = DEPLOY_ENDPOINTS.read_text(encoding="utf-8")
        self.servers = [
            rasa_server(self.logs, self.actions.url, None, env=env, endpoints_text=endpoints) for _ in range(2)
        ]
        # The first server creates the tracker store's tables; the second starts
        # once they exist (two processes creating the same table at once would race).
        failed: list = []

        def start_first() -> None:
            try:
                self.servers[0].start(timeout=600)
            except Exception as error:  # noqa: BLE001 - reported below
                failed.append(error)

        first = threading.Thread(target=start_first)
        first.start()
        deadline = time.monotonic() + 600
        while first.is_alive() and time.monotonic() < deadline:
            if self.postgres.psql("SELECT to_regclass('public.events')", db="rasa").strip():
                break
            time.sleep(0.5)
        self.servers[1].start(timeout=600)
        first.join()
        if failed:
            raise failed[0]
        # nginx in front, with deploy/nginx.conf (the compose service names pointed here).
        self.nginx = Nginx(
            {
                "rasa-1:5005": f"127.0.0.1:{self.servers[0].port}",
                "rasa-2:5005": f"127.0.0.1:{self.servers[1].port}",
                "actions:5055": f"127.0.0.1:{self.actions.port}",
            }
        ).start()
        return self

    def stop(self) -> None:
        if self.nginx:
            self.nginx.stop()
        for server in self.servers:
            server.stop()
        if self.actions:
            self.actions.stop()
        self.redis.stop()
        self.postgres.stop()

    def events(self, sender: str) -> List[Dict]:
        """The sender's events as stored in PostgreSQL, in order."""
        import json

        from sqlalchemy import create_engine, text

        engine = create_engine(self.tracker_url)
        try:
            with engine.connect() as connection:
                rows = connection.execute(
                    text("SELECT data FROM events WHERE sender_id = :s ORDER BY id"), {"s": sender}
                ).fetchall()
        finally:
            engine.dispose()
        return [json.loads(row[0]) for row in rows]


@pytest.fixture(scope="module")
def topology(tmp_path_factory):
    running = Topology(tmp_path_factory.mktemp("scaleout"))
    try:
        yield running.start()
    finally:
        running.stop()


def test_both_servers_use_the_shared_lock_store_and_tracker_store(topology):
    one, two = topology.servers
    assert one.port != two.port
    before = topology.redis.commands_processed()
    say(one, "shared-check", "hi")
    middle = topology.redis.commands_processed()
    say(two, "shared-check", "hi")
    assert before < middle < topology.redis.commands_processed()  # each server took the lock in Redis
    users = [e["text"] for e in topology.events("shared-check") if e["event"] == "user"]
    assert users == ["hi", "hi"]  # and both stored the conversation in PostgreSQL


def test_the_inbox_reads_transcripts_and_the_report_from_postgresql(topology):
    """The front desk's transcript and unanswered-questions report read the shared PostgreSQL tracker store."""
    from frontdesk.conversations import transcript
    from frontdesk.report import report

    patient = "inbox-on-postgres"
    say(topology.servers[0], patient, "how much does it cost? my number is 403-555-0100")
    lines = transcript(topology.tracker_url, patient, "apollo_calgary")
    said = [line.text for line in lines if line.who == "Patient"]
    assert said == ["how much does it cost? my number is 403-555-0100"]
    assert transcript(topology.tracker_url, patient, "dynamic_okotoks") is None  # another clinic's: not shown
    rows = report(topology.tracker_url, "apollo_calgary", "America/Edmonton")
    assert any(r.outcome == "hand-off: price" and "[phone]" in r.example for r in rows)


def test_one_conversation_alternating_between_the_servers_continues(topology):
    """Slots, the active form and history live in PostgreSQL: each message goes to the other server."""
    servers = topology.servers
    patient = "alternating-patient"
    turn = iter(range(100))

    def send(message: str) -> List[str]:
        return texts(say(servers[next(turn) % 2], patient, message))

    notice, greeting = send("hi")  # server 1: a new session opens with the notice
    assert "not medical advice" in notice and "What would you like to know?" in greeting
    assert send("hi") == [
        DOMAIN["responses"]["utter_greet"][0]["text"].format(clinic_name="Apollo Physiotherapy Massage and Chiro")
    ]  # server 2: same session, no second notice
    replies = send("do you direct bill to Blue Cross?")  # server 1: a hand-off, with the callback offer
    assert replies[-1] == "Would you like the clinic to contact you?"
    assert "What name" in send("/affirm")[0]  # server 2 starts the form
    assert "phone number or email" in send("Jane Doe")[0]  # server 1 continues it: the name was kept
    assert "good time" in send("403 555 0123")[0]  # server 2
    question = send("weekday mornings")[0]  # server 1: the question prefilled from the history
    assert "do you direct bill to Blue Cross?" in question
    assert "Do you agree?" in send("yes")[0]  # server 2
    [confirmation] = send("yes")  # server 1 stores the request
    assert confirmation.startswith("Thank you, Jane Doe. Your request #")
    request_id = int(confirmation.split("#", 1)[1].split()[0])

    from frontdesk.store import CallbackStore

    row = CallbackStore(topology.callbacks_url).get(request_id)
    assert (row.name, row.contact, row.preferred_time, row.question) == (
        "Jane Doe",
        "+1 403-555-0123",
        "weekday mornings",
        "do you direct bill to Blue Cross?",
    )
    # The form is over (server 2): an ordinary question again.
    assert send("does it hurt?") == [clinic_said("utter_faq/does_it_hurt")]

    users = [e["text"] for e in topology.events(patient) if e["event"] == "user"]
    assert users == [
        "hi",
        "hi",
        "do you direct bill to Blue Cross?",
        "/affirm",
        "Jane Doe",
        "403 555 0123",
        "weekday mornings",
        "yes",
        "yes",
        "does it hurt?",
    ]


def test_concurrent_conversations_on_both_servers_lose_nothing_and_answer_once(topology):
    """20 patients at once, each message to a random server: every reply as expected, stored once."""
    servers = topology.servers
    # What one patient alone, on one server, gets: the reference replies.
    reference = [texts(say(servers[0], "reference-patient", message)) for message in CONVERSATION]

    def converse(index: int) -> List[List[str]]:
        chooser = random.Random(index)
        sender = f"concurrent-{index}"
        return [texts(say(chooser.choice(servers), sender, message, timeout=120)) for message in CONVERSATION]

    with ThreadPoolExecutor(CONCURRENT_CONVERSATIONS) as pool:
        results = list(pool.map(converse, range(CONCURRENT_CONVERSATIONS)))

    for index, replies in enumerate(results):
        assert replies == reference, f"conversation {index} was answered differently"
        events = topology.events(f"concurrent-{index}")
        users = [e["text"] for e in events if e["event"] == "user"]
        assert users == list(CONVERSATION), f"conversation {index}: user messages lost or stored twice"
        bots = [e.get("text") or "" for e in events if e["event"] == "bot"]
        assert bots == [t for turn in reference for t in turn], f"conversation {index}: replies lost or doubled"


def test_simultaneous_messages_of_one_conversation_are_handled_one_after_the_other(topology):
    """Two messages of one conversation reach both servers at the same moment: Redis's lock serialises them."""
    servers = topology.servers
    first, second = "does it hurt?", "is it the same as acupuncture?"
    expected = {
        first: texts(say(servers[0], "lock-reference-1", first))[-1:],
        second: texts(say(servers[0], "lock-reference-2", second))[-1:],
    }
    senders = [f"simultaneous-{i}" for i in range(10)]
    for sender in senders:
        say(servers[0], sender, "hi")  # open the session first: both messages then get a plain answer

    def both(sender: str) -> Dict[str, List[str]]:
        barrier = threading.Barrier(2)
        out: Dict[str, List[str]] = {}

        def send(server, message):
            barrier.wait()
            out[message] = texts(say(server, sender, message, timeout=120))

        threads = [
            threading.Thread(target=send, args=(servers[0], first)),
            threading.Thread(target=send, args=(servers[1], second)),
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        return out

    with ThreadPoolExecutor(len(senders)) as pool:
        answers = list(pool.map(both, senders))

    for sender, answer in zip(senders, answers):
        assert {m: a[-1:] for m, a in answer.items()} == expected, sender
        events = topology.events(sender)
        sequence = [(e["event"], e.get("text") or "") for e in events if e["event"] in ("user", "bot")]
        users = [t for kind, t in sequence if kind == "user"]
        assert sorted(users[1:]) == sorted([first, second]), f"{sender}: {users}"
        # Each message's answer follows it before the other message is taken in.
        after_hi = sequence[[t for _, t in sequence].index(users[1]) :]
        assert after_hi == [
            ("user", users[1]),
            ("bot", expected[users[1]][0]),
            ("user", users[2]),
            ("bot", expected[users[2]][0]),
        ], f"{sender}: {after_hi}"


def test_nginx_spreads_conversations_over_both_servers(topology):
    """deploy/nginx.conf in front: REST messages go to both servers, each conversation goes on."""
    nginx = topology.nginx
    balancer = SimpleNamespace(url=nginx.url)
    reference = [texts(say(topology.servers[1], "nginx-reference", message)) for message in CONVERSATION]

    def converse(index: int) -> List[List[str]]:
        return [texts(say(balancer, f"via-nginx-{index}", message, timeout=120)) for message in CONVERSATION]

    with ThreadPoolExecutor(4) as pool:
        assert list(pool.map(converse, range(4))) == [reference] * 4
    used = {upstream for uri, status, upstream in nginx.upstream_log() if uri == "/webhooks/rest/webhook"}
    assert used == {f"127.0.0.1:{server.port}" for server in topology.servers}
    import requests

    assert requests.get(f"{nginx.url}/health", timeout=10).status_code == 200
    assert requests.get(f"{nginx.url}/model/parse", timeout=10).status_code == 404  # nothing else is exposed
