"""Browser tests of the chat widget: real Rasa, action server, static server, Chromium.

They run only with DN_BROWSER_TESTS=1 (`make test-browser` sets it); a plain
`pytest` reports them as skipped and says why. Every test here carries the
`browser` marker (`pytest -m browser`).

One set of servers is shared by all tests (session scope), each on a free port,
so a `make run` on 5005/5055/8080 is left alone: the action server, Rasa with
the trained model in models/ (never trained here: the test fails if it is
missing) and the credentials in credentials.yml, and web/serve.py. Conversations
go to a temporary SQLite tracker store. Only the outage test stops and restarts
Rasa. Screenshots go to var/screenshots/, the servers' logs to var/browser-tests/.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path
from typing import Any, Dict, List, Optional

import pytest
import yaml

from frontdesk.auth import hash_password
from tests.browser.helpers import PageInfo, new_page
from tests.servers import project_endpoints

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
MODEL = ROOT / "models" / "dry-needling.tar.gz"
VENV_BIN = ROOT / ".venv" / "bin"
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
SCREENSHOTS = ROOT / "var" / "screenshots"
INBOX_PASSWORD = "correct horse battery staple"  # Apollo's inbox password in these tests
DYNAMIC_TOKEN = "dynamic-front-desk-token"  # Dynamic's front desk signs in with its token
LOGS = ROOT / "var" / "browser-tests"

# What works on these machines (env skill, machines/python.md): Debian's
# Chromium, headless, without the sandbox (root) and without background traffic.
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

ENABLED = os.environ.get("DN_BROWSER_TESTS") == "1"
SKIP_REASON = (
    "browser tests run only with DN_BROWSER_TESTS=1 (`make test-browser`): they start "
    "Rasa, the action server and Debian's Chromium (about two minutes)"
)

# The environment as it was before tests/conftest.py's fixtures change it.
BASE_ENV = dict(os.environ)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "browser: widget test in headless Chromium against real servers")


def pytest_collection_modifyitems(config: pytest.Config, items: List[pytest.Item]) -> None:
    skip = pytest.mark.skip(reason=SKIP_REASON)
    for item in items:
        if HERE in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.browser)
            if not ENABLED:
                item.add_marker(skip)


# ----------------------------------------------------------------- servers


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def http_get(url: str, timeout: float = 2.0) -> Optional[int]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status
    except (urllib.error.URLError, ConnectionError, OSError):
        return None


def tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


class Process:
    """A server we started, in its own process group, with its log in var/."""

    def __init__(self, name: str, args: List[str], env: Dict[str, str], health_url: str):
        self.name = name
        self.args = args
        self.env = env
        self.health_url = health_url
        self.log = LOGS / f"{name}.log"
        self.proc: Optional[subprocess.Popen] = None

    def start(self) -> None:
        LOGS.mkdir(parents=True, exist_ok=True)
        with open(self.log, "ab") as log:
            log.write(f"\n--- {time.strftime('%H:%M:%S')} {' '.join(self.args)}\n".encode())
            self.proc = subprocess.Popen(
                self.args,
                cwd=ROOT,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )

    def wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc is None or self.proc.poll() is not None:
                pytest.fail(
                    f"{self.name} exited while starting (status {self.proc and self.proc.returncode}); "
                    f"log {self.log}:\n{tail(self.log)}"
                )
            if http_get(self.health_url) == 200:
                return
            time.sleep(0.5)
        pytest.fail(f"{self.name} not ready after {timeout:.0f} s; log {self.log}:\n{tail(self.log)}")

    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stop(self, grace: float = 20.0) -> None:
        """SIGTERM, then SIGKILL after `grace` seconds."""
        if not self.running():
            return
        assert self.proc is not None
        try:
            os.killpg(self.proc.pid, signal.SIGTERM)
        except ProcessLookupError:
            return
        try:
            self.proc.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)


class Servers:
    """The action server, Rasa and the demo page's static server, on free ports."""

    def __init__(self, workdir: Path):
        self.action_port = free_port()
        self.rasa_port = free_port()
        self.web_port = free_port()
        self.page_origin = f"http://localhost:{self.web_port}"
        self.page_url = f"{self.page_origin}/"
        # The same page from an origin that is not allowed: 127.0.0.1 is not localhost.
        self.other_origin_url = f"http://127.0.0.1:{self.web_port}/"
        self.rasa_url = f"http://localhost:{self.rasa_port}"
        self.tracker_db = workdir / "tracker.db"
        self.api_token = uuid.uuid4().hex

        endpoints = project_endpoints(f"http://localhost:{self.action_port}/webhook", self.tracker_db)
        self.endpoints = workdir / "endpoints.yml"
        self.endpoints.write_text(yaml.safe_dump(endpoints), encoding="utf-8")

        env = dict(BASE_ENV)
        env.update(
            RASA_TELEMETRY_ENABLED="false",
            TF_CPP_MIN_LOG_LEVEL="2",
            SQLALCHEMY_SILENCE_UBER_WARNING="1",
            PYTHONWARNINGS="ignore::DeprecationWarning",
            CORS_ORIGINS=self.page_origin,
            PYTHONUNBUFFERED="1",
            # The inbox (on the action server) and the live hand-off through Rasa's HTTP API.
            FRONTDESK_PASSWORD_HASH_APOLLO_CALGARY=hash_password(INBOX_PASSWORD, iterations=10_000),
            FRONTDESK_TOKEN_DYNAMIC_OKOTOKS=DYNAMIC_TOKEN,
            RASA_URL=self.rasa_url,
            RASA_API_TOKEN=self.api_token,
            CALLBACK_DB_URL=f"sqlite:///{workdir / 'callbacks.db'}",
            TRACKER_DB=str(self.tracker_db),
        )
        self.inbox_url = f"http://localhost:{self.action_port}/frontdesk/inbox/"
        self.actions = Process(
            "actions",
            [str(VENV_BIN / "python"), "-m", "actions", "--port", str(self.action_port)],
            env,
            f"http://localhost:{self.action_port}/health",
        )
        self.rasa = Process(
            "rasa",
            [
                str(VENV_BIN / "python"),
                "-m",
                "rasa_patches",
                "run",
                "--model",
                str(MODEL),
                "--port",
                str(self.rasa_port),
                "--credentials",
                "credentials.yml",
                "--endpoints",
                str(self.endpoints),
                "--cors",
                self.page_origin,
                "--enable-api",
                "--auth-token",
                self.api_token,
            ],
            env,
            f"{self.rasa_url}/",
        )
        self.web = Process(
            "web",
            [
                sys.executable,
                "-m",
                "web.serve",
                "--port",
                str(self.web_port),
                "--rasa-url",
                self.rasa_url,
                "--quiet",
            ],
            env,
            self.page_url,
        )

    def start(self) -> None:
        for process in (self.actions, self.rasa, self.web):
            process.start()
        self.web.wait_ready(20)
        self.actions.wait_ready(60)
        self.rasa.wait_ready(240)

    def stop_rasa(self) -> None:
        # Sanic would wait up to 15 s for the widget's open long-poll request
        # before exiting; an outage is an outage, so don't wait that long.
        self.rasa.stop(grace=2.0)

    def start_rasa(self) -> None:
        self.rasa.start()

    def ensure_rasa(self) -> None:
        if not self.rasa.running():
            self.rasa.start()
            self.rasa.wait_ready(240)

    def stop(self) -> None:
        for process in (self.web, self.rasa, self.actions):
            process.stop()

    # REST, to learn what the bot says (the tests then expect the same in the page)
    def rest(self, message: str, sender: Optional[str] = None, clinic_id: Optional[str] = None) -> List[Dict[str, Any]]:
        data: Dict[str, Any] = {"sender": sender or f"rest-{uuid.uuid4().hex}", "message": message}
        if clinic_id:
            data["metadata"] = {"clinic_id": clinic_id}
        body = json.dumps(data)
        request = urllib.request.Request(
            f"{self.rasa_url}/webhooks/rest/webhook",
            data=body.encode(),
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=60) as response:
            return json.loads(response.read())

    def reply_to(self, message: str, clinic_id: Optional[str] = None) -> List[Dict[str, Any]]:
        """The bot's reply to `message` in a conversation (of this clinic) that was opened with /greet."""
        sender = f"rest-{uuid.uuid4().hex}"
        self.rest("/greet", sender, clinic_id)
        return self.rest(message, sender, clinic_id)


@pytest.fixture(scope="session")
def servers(tmp_path_factory: pytest.TempPathFactory):
    if not MODEL.exists():
        pytest.fail(f"{MODEL.relative_to(ROOT)} is missing: run `make train` first (make test-browser does)")
    vendor = ROOT / "web" / "widget" / "vendor" / "socket.io.min.js"
    if not vendor.exists():
        pytest.fail(f"{vendor.relative_to(ROOT)} is missing: run `make web` first")
    if not (VENV_BIN / "rasa").exists():
        pytest.fail(".venv/bin/rasa is missing: run `make install` first")
    if LOGS.exists():
        shutil.rmtree(LOGS)
    set_ = Servers(tmp_path_factory.mktemp("dn-browser"))
    try:
        set_.start()
        set_.rest("/greet")  # the first message loads the rest of the pipeline
        yield set_
    finally:
        set_.stop()


# ----------------------------------------------------------------- browser


@pytest.fixture(scope="session")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: run `make browser` (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    playwright = sync_playwright().start()
    try:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_FLAGS)
        yield chromium
        chromium.close()
    finally:
        playwright.stop()


@pytest.fixture
def page_info() -> PageInfo:
    return PageInfo()


@pytest.fixture
def page(browser, servers, page_info):
    """A fresh browser context (empty storage), desktop size."""
    context, page = new_page(browser, page_info, viewport={"width": 1280, "height": 800})
    yield page
    context.close()
    assert not page_info.errors, f"JavaScript errors in the page: {page_info.errors}"


@pytest.fixture
def screenshot():
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    def take(page, name: str) -> Path:
        path = SCREENSHOTS / f"{name}.png"
        page.screenshot(path=str(path))
        return path

    return take
