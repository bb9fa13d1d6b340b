"""Start the real action server and Rasa server for end-to-end tests.

Each server runs as a subprocess on a free loopback port, with its own
endpoints file (so tests never touch var/tracker.db or the default ports).
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Dict, List, Optional

import requests
import yaml

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
MODEL = ROOT / "models" / "dry-needling.tar.gz"
# Rasa's command line with the project's changes installed (rasa_patches), as `make run` uses it.
RASA = [str(BIN / "python"), "-m", "rasa_patches"]
QUIET = {"RASA_TELEMETRY_ENABLED": "false", "TF_CPP_MIN_LOG_LEVEL": "2", "PYTHONWARNINGS": "ignore"}


def stop_process(
    process: Optional[subprocess.Popen], sig: int = signal.SIGTERM, timeout: float = 30, group: bool = True
) -> None:
    """Send `sig` (to the process group when `group`), wait, then SIGKILL what is left."""
    if process is None or process.poll() is not None:
        return

    def send(signal_number: int) -> None:
        if group:
            os.killpg(process.pid, signal_number)
        else:
            process.send_signal(signal_number)

    send(sig)
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        send(signal.SIGKILL)
        process.wait()


def free_port() -> int:
    """Return a free TCP port on the loopback interface."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """One subprocess that serves HTTP on a port; its output goes to a log file."""

    def __init__(
        self,
        name: str,
        command: List[str],
        port: int,
        log_dir: Path,
        env: Optional[Dict[str, str]] = None,
        health: str = "/",
    ) -> None:
        self.name, self.command, self.port, self.health = name, command, port, health
        self.env = {**os.environ, **QUIET, **(env or {})}
        self.log = log_dir / f"{name}.log"
        self.process: Optional[subprocess.Popen] = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 180) -> "Server":
        """Start and wait until it answers, or fail with the end of its log."""
        log = open(self.log, "ab")
        self.process = subprocess.Popen(
            self.command,
            cwd=ROOT,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                break
            try:
                requests.get(self.url + self.health, timeout=2)
                return self
            except requests.RequestException:
                time.sleep(0.5)
        tail = self.log.read_text(errors="replace")[-3000:]
        self.stop()
        raise RuntimeError(f"{self.name} did not start on port {self.port}:\n{tail}")

    def stop(self) -> None:
        """Stop the process group and wait for it."""
        stop_process(self.process)
        self.process = None


def action_server(log_dir: Path, env: Optional[Dict[str, str]] = None) -> Server:
    port = free_port()
    # Loopback only, as `make run` does (SANIC_HOST is rasa-sdk's listen address).
    return Server(
        "actions",
        [str(BIN / "python"), "-m", "actions", "--port", str(port)],
        port,
        log_dir,
        {"SANIC_HOST": "127.0.0.1", **(env or {})},
        health="/health",
    )


def project_endpoints(action_url: str, tracker_db: Path, rasa_store: bool = False) -> dict:
    """The project's endpoints.yml with this action server and this SQLite tracker file.

    `rasa_store` swaps the project's tracker store class for Rasa's own
    `type: SQL` (the benchmark's stock Rasa).
    """
    endpoints = yaml.safe_load((ROOT / "endpoints.yml").read_text(encoding="utf-8")) or {}
    endpoints["action_endpoint"] = {**(endpoints.get("action_endpoint") or {}), "url": action_url}
    endpoints["tracker_store"] = {**(endpoints.get("tracker_store") or {}), "db": str(tracker_db)}
    if rasa_store:
        endpoints["tracker_store"]["type"] = "SQL"
    return endpoints


def rasa_server(
    log_dir: Path,
    action_url: str,
    tracker_db: Optional[Path],
    extra: Optional[List[str]] = None,
    env: Optional[Dict[str, str]] = None,
    model: Path = MODEL,
    endpoints_text: Optional[str] = None,
    credentials: Path = ROOT / "credentials.yml",
    stock: bool = False,
    port: Optional[int] = None,
) -> Server:
    """A Rasa server with the project's model and credentials and its own endpoints file.

    `endpoints_text` replaces the default endpoints (SQLite tracker store at
    `tracker_db`), e.g. for PostgreSQL and Redis (bench/services.py); `model`
    serves another model and `credentials` other channels (the benchmark's
    stock Rasa: Rasa's own REST channel). The server starts through
    `python -m rasa_patches`, as `make run` starts it; `stock` starts Rasa's own
    command line instead (the benchmark's stock Rasa, without the changes).
    """
    if not model.exists():
        raise RuntimeError(f"{model} is missing: run `make train` first")
    port = port or free_port()
    endpoints = log_dir / f"endpoints-{port}.yml"
    endpoints.write_text(endpoints_text or yaml.safe_dump(project_endpoints(f"{action_url}/webhook", tracker_db)))
    rasa = [str(BIN / "rasa")] if stock else RASA
    command = [
        *rasa,
        "run",
        "--model",
        str(model),
        "--port",
        str(port),
        "-i",
        "127.0.0.1",
        "--credentials",
        str(credentials),
        "--endpoints",
        str(endpoints),
        *(extra or []),
    ]
    return Server(f"rasa-{port}", command, port, log_dir, env)


def say(server: Server, sender: str, message: str, timeout: float = 30) -> List[dict]:
    """Send one message through the REST channel and return the bot's replies."""
    response = requests.post(
        f"{server.url}/webhooks/rest/webhook",
        json={"sender": sender, "message": message},
        timeout=timeout,
    )
    response.raise_for_status()
    return response.json()


FIXTURES = ROOT / "tests" / "fixtures"


def three_clinics(folder: Path, **riverbend: object) -> Dict[str, str]:
    """Copy the clinics and their citations with the fictional Riverbend added (its profile changed by `riverbend`).

    Return the environment that points both servers at them (CLINICS_DIR, CITATIONS_DIR), as a provider adds a clinic.
    """
    (folder / "clinics").mkdir()
    (folder / "citations").mkdir()
    for path in ROOT.glob("clinics/*.yml"):
        shutil.copy(path, folder / "clinics" / path.name)
    profile = yaml.safe_load((FIXTURES / "clinics" / "riverbend_physio.yml").read_text(encoding="utf-8"))
    (folder / "clinics" / "riverbend_physio.yml").write_text(yaml.safe_dump({**profile, **riverbend}))
    for path in [*ROOT.glob("knowledge/citations/*.yml"), FIXTURES / "citations" / "riverbend_physio.yml"]:
        shutil.copy(path, folder / "citations" / path.name)
    return {"CLINICS_DIR": str(folder / "clinics"), "CITATIONS_DIR": str(folder / "citations")}
