"""What the servers expose: the Rasa HTTP API, CORS, the action server, and the logs.

See docs/security.md.
"""

from __future__ import annotations

import os
import subprocess
import time
import uuid
from pathlib import Path

import jwt
import pytest
import requests

from tests.live import ALLOWED_ORIGIN
from tests.servers import RASA, ROOT, Server, action_server, free_port

pytestmark = pytest.mark.model

NAME, PHONE, EMAIL = "Wilhelmina Okonkwo-Tran", "(587) 555-0142", "w.okonkwo.tran@example.net"
QUESTION = "can I use my Sun Life benefits for dry needling"
SLASH_PHONE = "403 555 0166"


def make_dry_run(target: str, **env: str) -> str:
    """What `make <target>` would run, with only these settings in the environment."""
    clean = {k: v for k, v in os.environ.items() if k not in ("RASA_API_TOKEN", "RASA_JWT_SECRET", "ACTION_HOST")}
    result = subprocess.run(
        ["make", "-n", target], cwd=ROOT, env={**clean, **env}, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


# --- Rasa's HTTP API -----------------------------------------------------------


def test_make_run_enables_the_http_api_only_with_a_token_or_jwt_secret():
    # The API is always behind a token: RASA_API_TOKEN, or one made up for each run (live hand-off).
    default = make_dry_run("run")
    assert "rasa_patches run" in default and '--enable-api --auth-token "$RASA_API_TOKEN"' in default
    assert 'RASA_API_TOKEN="${RASA_API_TOKEN:-$(' in default and "secrets.token_urlsafe(32)" in default
    with_token = make_dry_run("run", RASA_API_TOKEN="not-a-real-token")
    assert '--enable-api --auth-token "$RASA_API_TOKEN"' in with_token
    assert "not-a-real-token" not in with_token  # the token stays in the environment
    with_jwt = make_dry_run("run", RASA_JWT_SECRET="not-a-real-secret")
    assert "--enable-api" in with_jwt and '--jwt-secret "$RASA_JWT_SECRET"' in with_jwt


def test_http_api_is_off_on_the_default_server(live):
    sender = f"api-{uuid.uuid4().hex[:8]}"
    live.say(sender, "does it hurt?")
    for method, path in [
        ("GET", f"/conversations/{sender}/tracker"),
        ("POST", f"/conversations/{sender}/messages"),
        ("POST", "/model/parse"),
        ("GET", "/status"),
        ("PUT", "/model"),
    ]:
        response = requests.request(method, live.rasa.url + path, json={"text": "hi"}, timeout=30)
        assert response.status_code in (401, 403, 404, 405), (method, path, response.status_code)


@pytest.fixture(scope="module")
def api_server(tmp_path_factory):
    """`rasa run` with make run's API flags and no model: enough to test who is let in."""
    folder = tmp_path_factory.mktemp("api")
    (folder / "no-model").mkdir()
    (folder / "endpoints.yml").write_text('version: "3.1"\n')  # in-memory tracker store, no actions
    port = free_port()
    token, secret = uuid.uuid4().hex, uuid.uuid4().hex
    server = Server(
        "rasa-api",
        [
            *RASA,
            "run",
            "--port",
            str(port),
            "-i",
            "127.0.0.1",
            "--model",
            str(folder / "no-model"),
            "--endpoints",
            str(folder / "endpoints.yml"),
            "--enable-api",
            "--auth-token",
            token,
            "--jwt-secret",
            secret,
        ],
        port,
        folder,
    ).start()
    server.token, server.secret = token, secret
    yield server
    server.stop()


def test_http_api_refuses_requests_without_the_token(api_server):
    url = f"{api_server.url}/conversations/someone/tracker"
    assert requests.get(url, timeout=10).status_code == 401
    assert requests.get(url, params={"token": "wrong"}, timeout=10).status_code == 401
    forged = jwt.encode({"user": {"username": "x", "role": "admin"}}, "wrong-secret", algorithm="HS256")
    assert requests.get(url, headers={"Authorization": f"Bearer {forged}"}, timeout=10).status_code == 401
    # With the token or a JWT signed with the secret it is let in (409: this server has no model).
    assert requests.get(url, params={"token": api_server.token}, timeout=10).status_code == 409
    signed = jwt.encode({"user": {"username": "x", "role": "admin"}}, api_server.secret, algorithm="HS256")
    assert requests.get(url, headers={"Authorization": f"Bearer {signed}"}, timeout=10).status_code == 409


# --- CORS -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "origin, allowed",
    [(ALLOWED_ORIGIN, True), ("https://evil.example", False), ("http://localhost:8081", False), ("null", False)],
)
def test_rest_cors_preflight_allows_only_the_configured_origins(live, origin, allowed):
    preflight = requests.options(
        live.webhook,
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type",
        },
        timeout=10,
    )
    post = requests.post(
        live.webhook,
        json={"sender": f"cors-{uuid.uuid4().hex[:6]}", "message": "hi"},
        headers={"Origin": origin},
        timeout=60,
    )
    for response in (preflight, post):
        assert response.headers.get("Access-Control-Allow-Origin") == (origin if allowed else None)


# --- the action server ------------------------------------------------------------


def test_make_run_starts_the_action_server_on_loopback_unless_told_otherwise():
    assert "SANIC_HOST=127.0.0.1 .venv/bin/python -m actions" in make_dry_run("run")
    assert "SANIC_HOST=127.0.0.1 .venv/bin/python -m actions" in make_dry_run("run-actions")
    assert "SANIC_HOST=0.0.0.0 .venv/bin/python -m actions" in make_dry_run("run-actions", ACTION_HOST="0.0.0.0")


def listening_addresses(port: int) -> set:
    """The local addresses with a listening TCP socket on this port (/proc/net/tcp, tcp6)."""
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            local, state = line.split()[1], line.split()[3]
            address, hex_port = local.split(":")
            if state == "0A" and int(hex_port, 16) == port:
                found.add(address)
    return found


def test_the_action_server_listens_on_loopback_only(live):
    assert listening_addresses(live.actions.port) == {"0100007F"}  # 127.0.0.1, nothing on 0.0.0.0 or ::


def test_the_action_server_needs_the_token_when_one_is_set(live):
    url, token = live.actions.url, live.action_token
    call = {
        "next_action": "action_clinic_contact",
        "sender_id": "x",
        "version": "3.6.21",
        "tracker": {"sender_id": "x", "slots": {}, "latest_message": {}, "events": []},
        "domain": {},
    }
    assert requests.get(f"{url}/health", timeout=10).status_code == 200
    assert requests.post(f"{url}/webhook", json=call, timeout=10).status_code == 401
    assert requests.get(f"{url}/actions", timeout=10).status_code == 401
    assert requests.get(f"{url}/actions", headers={"Authorization": "Bearer wrong"}, timeout=10).status_code == 401
    assert requests.get(f"{url}/actions", params={"token": "wrong"}, timeout=10).status_code == 401
    assert requests.get(f"{url}/actions", headers={"Authorization": f"Bearer {token}"}, timeout=10).status_code == 200
    assert (
        requests.get(f"{url}/actions", params={"token": token}, timeout=10).status_code == 200
    )  # endpoints.yml `token:`
    # /frontdesk keeps its own token (FRONTDESK_TOKEN, unset here: 503).
    assert requests.get(f"{url}/frontdesk/requests", timeout=10).status_code == 503
    # The Rasa server sends the token: a hand-off gets the contact details and the callback offer.
    replies = [r["text"] for r in live.say(f"token-{uuid.uuid4().hex[:6]}", "how much does it cost?")]
    assert replies[-1] == "Would you like the clinic to contact you?"


def test_the_action_server_without_a_token_is_open_to_loopback(tmp_path):
    """No ACTION_SERVER_TOKEN (make run's default): no token needed, but loopback only."""
    server = action_server(tmp_path).start()
    try:
        assert requests.get(f"{server.url}/actions", timeout=10).status_code == 200
        assert listening_addresses(server.port) == {"0100007F"}
    finally:
        server.stop()


# --- the logs -----------------------------------------------------------------------


def test_info_logs_hold_no_message_text_or_contact_details(live):
    """A whole callback request with a name, an email and a phone number: none of it is logged."""
    sender = f"+1587555{uuid.uuid4().int % 10000:04d}"  # an SMS sender id is a phone number
    assert live.texts(sender, QUESTION)[-1] == "Would you like the clinic to contact you?"
    for answer in ("/affirm", NAME, EMAIL, "evenings after 6", f"please call me at {PHONE} instead"):
        live.texts(sender, answer)
    assert live.texts(sender, "yes")[0].startswith(f"Thank you, {NAME}. Your request #")
    # Text that looks like a button payload: Rasa logs a payload it cannot parse, with its text.
    assert live.texts(sender, f"/call me on {SLASH_PHONE}")  # a Python warning quoting it
    live.say(sender, f"/@ {SLASH_PHONE}")  # a WARNING log line quoting it
    time.sleep(1)  # let both servers flush their logs
    logs = live.logs()
    assert " INFO " in logs  # the servers do log at INFO
    assert " DEBUG " not in logs
    for detail in (
        NAME,
        "Wilhelmina",
        "Okonkwo",
        PHONE,
        "555-0142",
        "5550142",
        EMAIL,
        "okonkwo",
        sender,
        sender[1:],
        QUESTION,
        "Sun Life",
        "evenings after 6",
        "please call me",
        SLASH_PHONE,
        "call me on",
    ):
        assert detail not in logs, f"{detail!r} is in a server log"
