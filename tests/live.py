"""One pair of real servers shared by the reliability and security tests.

`live` (a session fixture, imported by tests/conftest.py) starts the action
server and the Rasa server once, as `make run` does (REST and socket.io, CORS
limited to one origin, the SQLite tracker store), each with its own files in a
temporary folder, and with ACTION_SERVER_TOKEN set for both (the action server
refuses requests without it; the Rasa server sends it). Tests that stop or restart a server start it again before
they end, so the next test finds both running.
"""

from __future__ import annotations

import secrets
import sqlite3
from contextlib import closing
from pathlib import Path
from typing import Dict, List, Optional

import pytest
import requests

from tests.servers import Server, action_server, rasa_server

ALLOWED_ORIGIN = "http://localhost:8080"  # make run's default CORS_ORIGINS
DOMAIN_FILE = Path(__file__).resolve().parents[1] / "domain.yml"


def rss_kib(pid: int) -> int:
    """Resident memory of a process, from /proc/<pid>/status (KiB)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for process {pid}")


class Live:
    """The action server and the Rasa server, with their databases and logs."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        (folder / "callbacks").mkdir()
        self.callback_db = folder / "callbacks" / "callbacks.db"
        self.tracker_db = folder / "tracker.db"
        self.action_token = secrets.token_hex(16)
        self.actions = action_server(
            folder, env={"CALLBACK_DB_URL": f"sqlite:///{self.callback_db}", "ACTION_SERVER_TOKEN": self.action_token}
        )
        self.rasa: Optional[Server] = None

    def new_rasa(self, extra: Optional[List[str]] = None, env: Optional[Dict[str, str]] = None) -> Server:
        """A Rasa server configured like `make run`, on this pair's action server and tracker db."""
        return rasa_server(
            self.folder,
            self.actions.url,
            self.tracker_db,
            extra=["--cors", ALLOWED_ORIGIN, *(extra or [])],
            env={
                "CORS_ORIGINS": ALLOWED_ORIGIN,
                "ACTION_SERVER_TIMEOUT": "10",
                "ACTION_SERVER_TOKEN": self.action_token,
                **(env or {}),
            },
        )

    def start(self) -> "Live":
        self.actions.start()
        self.rasa = self.new_rasa().start()
        return self

    def stop(self) -> None:
        if self.rasa:
            self.rasa.stop()
        self.actions.stop()

    @property
    def webhook(self) -> str:
        return f"{self.rasa.url}/webhooks/rest/webhook"

    def say(self, sender: str, message: str, timeout: float = 60) -> List[dict]:
        """One message through the REST channel; the bot's replies (fails on a non-200)."""
        response = requests.post(self.webhook, json={"sender": sender, "message": message}, timeout=timeout)
        assert response.status_code == 200, (response.status_code, response.text[:500])
        replies = response.json()
        assert isinstance(replies, list)
        return replies

    def texts(self, sender: str, message: str) -> List[str]:
        return [r.get("text", "") for r in self.say(sender, message)]

    def logs(self) -> str:
        """Everything both servers have written so far."""
        return "\n".join(log.read_text(errors="replace") for log in sorted(self.folder.glob("*.log")))

    def user_events(self, sender: str) -> int:
        """How many user messages the tracker store holds for a sender."""
        with closing(sqlite3.connect(self.tracker_db, timeout=30)) as db:
            return db.execute(
                "SELECT COUNT(*) FROM events WHERE sender_id = ? AND type_name = 'user'", (sender,)
            ).fetchone()[0]


@pytest.fixture(scope="session")
def live(tmp_path_factory) -> Live:
    """The shared servers (started on first use, stopped at the end of the session)."""
    servers = Live(tmp_path_factory.mktemp("live"))
    try:
        servers.start()
    except Exception:
        servers.stop()
        raise
    yield servers
    servers.stop()
