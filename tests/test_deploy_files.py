"""The scale-out recipe's files (deploy/) hang together.

No Docker engine runs on the development machine, so the recipe itself is not
started here (tests/test_scaleout.py runs the same topology without
containers). These checks read the files: the compose file's structure, the
images, that every Rasa replica gets every variable deploy/endpoints.yml needs,
that Rasa reads deploy/endpoints.yml as a PostgreSQL tracker store and a Redis
lock store, that nginx balances over exactly the Rasa replicas, and, where the
tools are installed, `docker-compose config` and `nginx -t`.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
DEPLOY = ROOT / "deploy"
COMPOSE = yaml.safe_load((DEPLOY / "docker-compose.yml").read_text(encoding="utf-8"))
SERVICES = COMPOSE["services"]
# Without comments (they mention ${VARIABLES} too).
ENDPOINTS_TEXT = re.sub(r"(^|\s)#.*", "", (DEPLOY / "endpoints.yml").read_text(encoding="utf-8"))
NGINX = (DEPLOY / "nginx.conf").read_text(encoding="utf-8")


def dockerfile_base(name: str) -> str:
    [line] = [text for text in (DEPLOY / name).read_text().splitlines() if text.startswith("FROM ")]
    return line.split()[1]


def rasa_replicas() -> dict:
    return {
        name: s
        for name, s in SERVICES.items()
        if s.get("build", {}).get("dockerfile") == "deploy/Dockerfile.rasa" and "tools" not in s.get("profiles", [])
    }


def test_the_official_images():
    assert dockerfile_base("Dockerfile.rasa") == "rasa/rasa:3.6.21-full"
    assert dockerfile_base("Dockerfile.actions") == "rasa/rasa-sdk:3.6.2"
    assert SERVICES["postgres"]["image"].startswith("postgres:")
    assert SERVICES["redis"]["image"].startswith("redis:")
    assert SERVICES["nginx"]["image"].startswith("nginx:")


def test_two_or_more_rasa_servers_with_the_shared_endpoints():
    replicas = rasa_replicas()
    assert len(replicas) >= 2
    needed = set(re.findall(r"\$\{([A-Z_]+)\}", ENDPOINTS_TEXT))
    assert {"DB_HOST", "DB_PASSWORD", "REDIS_HOST", "ACTION_SERVER_URL"} <= needed
    for name, service in replicas.items():
        command = service["command"]
        assert command[0] == "run" and command[command.index("--endpoints") + 1] == "/app/deploy/endpoints.yml"
        assert needed <= set(service["environment"]), f"{name} lacks {needed - set(service['environment'])}"
        assert service["environment"]["DB_HOST"] == "postgres" and service["environment"]["REDIS_HOST"] == "redis"
        assert service["environment"]["ACTION_SERVER_URL"] == "http://actions:5055/webhook"
        assert {"postgres", "redis", "actions"} <= set(service["depends_on"])


def test_the_action_server_stores_callbacks_in_postgresql():
    actions = SERVICES["actions"]
    assert dockerfile_base("Dockerfile.actions").startswith("rasa/rasa-sdk:")
    assert actions["environment"]["CALLBACK_DB_URL"].startswith("postgresql://")
    assert "@postgres:5432/callbacks" in actions["environment"]["CALLBACK_DB_URL"]
    assert "CREATE DATABASE callbacks" in (DEPLOY / "postgres-init.sql").read_text()


def test_every_mounted_project_path_exists():
    for name, service in SERVICES.items():
        for volume in service.get("volumes", []):
            source = volume.split(":", 1)[0]
            if source.startswith("."):
                if source == "../models":
                    continue  # made by `make train`
                assert (DEPLOY / source).exists(), f"{name} mounts missing {source}"


def test_rasa_reads_the_endpoints_as_postgresql_and_redis(monkeypatch):
    values = {
        "ACTION_SERVER_URL": "http://actions:5055/webhook",
        "DB_HOST": "postgres",
        "DB_PORT": "5432",
        "DB_NAME": "rasa",
        "DB_USER": "rasa",
        "DB_PASSWORD": "s3cret: #with$ymbols",
        "DB_LOGIN_DB": "postgres",
        "REDIS_HOST": "redis",
        "REDIS_PORT": "6379",
        "REDIS_PASSWORD": "",
        "REDIS_DB": "1",
    }
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    from rasa.utils.endpoints import read_endpoint_config

    path = str(DEPLOY / "endpoints.yml")
    tracker = read_endpoint_config(path, "tracker_store")
    assert (tracker.type, tracker.url, tracker.kwargs["dialect"]) == (
        "stores.sql_tracker_store.SQLTrackerStore",
        "postgres",
        "postgresql",
    )
    assert (tracker.kwargs["port"], tracker.kwargs["password"]) == ("5432", "s3cret: #with$ymbols")
    lock = read_endpoint_config(path, "lock_store")
    assert (lock.type, lock.url, lock.kwargs["port"], lock.kwargs["key_prefix"]) == (
        "stores.redis_lock_store.AtomicRedisLockStore",
        "redis",
        "6379",
        "dryneedling",
    )
    assert lock.kwargs["key_prefix"].isalnum()  # Rasa ignores a prefix with any other character
    assert read_endpoint_config(path, "action_endpoint").url == "http://actions:5055/webhook"


def test_no_quoted_variables_in_the_endpoints():
    # Rasa 3.6 expands ${VAR} only in plain YAML scalars: "${VAR}" stays literal.
    assert not re.search(r"""["']\$\{""", ENDPOINTS_TEXT)


def test_nginx_balances_over_exactly_the_rasa_servers():
    upstreams = dict(re.findall(r"upstream (\w+) \{(.*?)\}", NGINX, re.S))
    wanted = {f"{name}:5005" for name in rasa_replicas()}
    for name in ("rasa_rest", "rasa_socketio"):
        assert set(re.findall(r"server ([\w.-]+:\d+)", upstreams[name])) == wanted
    assert "least_conn" in upstreams["rasa_rest"] and "ip_hash" in upstreams["rasa_socketio"]
    assert "./nginx.conf:/etc/nginx/nginx.conf:ro" in SERVICES["nginx"]["volumes"]
    assert "location /webhooks/" in NGINX and "location /socket.io/" in NGINX


@pytest.mark.skipif(not shutil.which("docker-compose"), reason="docker-compose (Debian's) is not installed")
def test_docker_compose_accepts_the_file():
    result = subprocess.run(
        [
            "docker-compose",
            "--env-file",
            str(DEPLOY / "env.example"),
            "-f",
            str(DEPLOY / "docker-compose.yml"),
            "--profile",
            "tools",
            "config",
            "-q",
        ],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr


@pytest.mark.skipif(not (shutil.which("nginx") or Path("/usr/sbin/nginx").exists()), reason="nginx is not installed")
def test_nginx_accepts_the_configuration():
    from bench.services import Nginx

    nginx = Nginx({"rasa-1:5005": "127.0.0.1:9", "rasa-2:5005": "127.0.0.1:19", "actions:5055": "127.0.0.1:29"})
    try:
        nginx.start()  # runs `nginx -t` first, then serves on a free loopback port
    finally:
        nginx.stop()
