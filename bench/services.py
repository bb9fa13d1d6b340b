"""Throwaway PostgreSQL and Redis servers on loopback, from Debian's packages.

Used by tests/test_scaleout.py and `python -m bench --workers N` (Redis), and by
hand (docs/deployment.md):

    .venv/bin/python -m bench.services      # start both, print the settings, Ctrl-C stops

Each server gets a fresh temporary directory and a free port on 127.0.0.1 and
is removed again by stop(). A missing package is installed with apt-get (as
root only; otherwise the error says what to install). PostgreSQL refuses to
run as root, so as root it runs as Debian's `postgres` user.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Dict, Iterable, Optional

from tests.servers import free_port, stop_process

HOST = "127.0.0.1"
_apt_updated = False


def apt_install(packages: Iterable[str]) -> None:
    """Install Debian packages (runs `apt-get update` once per process first)."""
    global _apt_updated
    packages = list(packages)
    if os.geteuid() != 0:
        raise RuntimeError(f"missing {', '.join(packages)}: run `sudo apt-get install -y {' '.join(packages)}`")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    lock = ["-o", "DPkg::Lock::Timeout=600"]
    if not _apt_updated:
        subprocess.run(["apt-get", *lock, "update", "-qq"], check=True, env=env)
        _apt_updated = True
    print(f"services: apt-get install {' '.join(packages)}", file=sys.stderr)
    subprocess.run(
        ["apt-get", *lock, "install", "-y", "-qq", *packages], check=True, env=env, stdout=subprocess.DEVNULL
    )


def postgres_bin() -> Path:
    """Return the newest installed PostgreSQL server's bin directory (installs `postgresql` if none)."""

    def find() -> Optional[Path]:
        found = sorted(
            glob.glob("/usr/lib/postgresql/*/bin/postgres"),
            key=lambda p: int(Path(p).parts[-3]) if Path(p).parts[-3].isdigit() else 0,
        )
        return Path(found[-1]).parent if found else None

    if find() is None:
        apt_install(["postgresql"])
    path = find()
    if path is None:
        raise RuntimeError("PostgreSQL is still missing after installing `postgresql`")
    return path


def redis_bin() -> str:
    """Return the redis-server binary (installs `redis-server` if missing)."""
    if not shutil.which("redis-server"):
        apt_install(["redis-server"])
    return shutil.which("redis-server") or "/usr/bin/redis-server"


def _wait_for(check, what: str, process: subprocess.Popen, log: Path, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            break
        if check():
            return
        time.sleep(0.2)
    tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
    raise RuntimeError(f"{what} did not start:\n{tail}")


class Postgres:
    """A PostgreSQL server in a temporary directory, on a free loopback port.

    Password authentication (scram-sha-256) over TCP, as in production; the
    superuser is `user`. fsync stays on: figures measured against it are honest.
    """

    def __init__(self, user: str = "rasa", password: str = "rasa-local-only", port: Optional[int] = None) -> None:
        self.user, self.password = user, password
        self.port = port or free_port()
        self.dir: Optional[Path] = None
        self.process: Optional[subprocess.Popen] = None

    def _as_owner(self) -> Dict[str, object]:
        """Run as `postgres` when we are root (PostgreSQL refuses root)."""
        if os.geteuid() != 0:
            return {}
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            subprocess.run(["useradd", "--system", "--no-create-home", "postgres"], check=True)
        return {"user": "postgres", "group": "postgres", "extra_groups": []}

    def start(self, timeout: float = 60) -> "Postgres":
        """initdb, start the server and wait until it accepts connections."""
        bin_dir = postgres_bin()
        owner = self._as_owner()
        self.dir = Path(tempfile.mkdtemp(prefix="dn-postgres-"))
        data, sockets, log = self.dir / "data", self.dir / "sockets", self.dir / "postgres.log"
        sockets.mkdir()
        pwfile = self.dir / "pwfile"
        pwfile.write_text(self.password + "\n")
        if owner:
            shutil.chown(self.dir, "postgres", "postgres")
            for path in (sockets, pwfile):
                shutil.chown(path, "postgres", "postgres")
        os.chmod(pwfile, 0o600)
        subprocess.run(
            [
                str(bin_dir / "initdb"),
                "-D",
                str(data),
                "-U",
                self.user,
                f"--pwfile={pwfile}",
                "--auth-local=trust",
                "--auth-host=scram-sha-256",
                "-E",
                "UTF8",
                "--no-locale",
                "--no-sync",
            ],
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            cwd=self.dir,
            **owner,
        )
        logfile = open(log, "ab")
        self.process = subprocess.Popen(
            [
                str(bin_dir / "postgres"),
                "-D",
                str(data),
                "-p",
                str(self.port),
                "-k",
                str(sockets),
                "-c",
                f"listen_addresses={HOST}",
                "-c",
                "max_connections=200",
            ],
            stdout=logfile,
            stderr=subprocess.STDOUT,
            cwd=self.dir,
            start_new_session=True,
            **owner,
        )
        env = {**os.environ, "PGPASSWORD": self.password}
        ready = [str(bin_dir / "pg_isready"), "-q", "-h", HOST, "-p", str(self.port), "-U", self.user]
        _wait_for(lambda: subprocess.run(ready, env=env).returncode == 0, "PostgreSQL", self.process, log, timeout)
        return self

    def psql(self, sql: str, db: str = "postgres") -> str:
        """Run SQL with psql and return its unaligned output."""
        result = subprocess.run(
            [
                str(postgres_bin() / "psql"),
                "-h",
                HOST,
                "-p",
                str(self.port),
                "-U",
                self.user,
                "-d",
                db,
                "-v",
                "ON_ERROR_STOP=1",
                "-At",
                "-c",
                sql,
            ],
            env={**os.environ, "PGPASSWORD": self.password},
            check=True,
            capture_output=True,
            text=True,
        )
        return result.stdout

    def create_database(self, name: str) -> str:
        """Create a database (if missing) and return its SQLAlchemy URL."""
        if not self.psql(f"SELECT 1 FROM pg_database WHERE datname = '{name}'").strip():
            self.psql(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def url(self, db: str) -> str:
        """Return the SQLAlchemy URL of one database."""
        return f"postgresql://{self.user}:{self.password}@{HOST}:{self.port}/{db}"

    def stop(self) -> None:
        """Fast shutdown (SIGINT), then remove the directory."""
        stop_process(self.process, signal.SIGINT, timeout=30, group=False)
        self.process = None
        if self.dir:
            shutil.rmtree(self.dir, ignore_errors=True)
            self.dir = None


class Redis:
    """A Redis server with no persistence, in a temporary directory, on a free loopback port."""

    def __init__(self, port: Optional[int] = None) -> None:
        self.port = port or free_port()
        self.dir: Optional[Path] = None
        self.process: Optional[subprocess.Popen] = None

    def ping(self) -> bool:
        """Tell whether the server answers PING."""
        try:
            with socket.create_connection((HOST, self.port), timeout=1) as s:
                s.sendall(b"PING\r\n")
                return s.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def commands_processed(self) -> int:
        """Redis's count of commands it has run (INFO stats: total_commands_processed)."""
        with socket.create_connection((HOST, self.port), timeout=5) as s:
            s.sendall(b"INFO stats\r\n")
            data = b""
            while b"total_commands_processed:" not in data or not data.endswith(b"\r\n"):
                chunk = s.recv(65536)
                if not chunk:
                    break
                data += chunk
        for line in data.decode(errors="replace").splitlines():
            if line.startswith("total_commands_processed:"):
                return int(line.split(":", 1)[1])
        raise RuntimeError("Redis INFO stats has no total_commands_processed")

    def start(self, timeout: float = 30) -> "Redis":
        """Start and wait until it answers PING."""
        binary = redis_bin()
        self.dir = Path(tempfile.mkdtemp(prefix="dn-redis-"))
        log = self.dir / "redis.log"
        self.process = subprocess.Popen(
            [
                binary,
                "--port",
                str(self.port),
                "--bind",
                HOST,
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.dir),
                "--logfile",
                str(log),
                "--daemonize",
                "no",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        _wait_for(self.ping, "Redis", self.process, log, timeout)
        return self

    def stop(self) -> None:
        """Stop (SIGTERM) and remove the directory."""
        stop_process(self.process, signal.SIGTERM, timeout=15, group=False)
        self.process = None
        if self.dir:
            shutil.rmtree(self.dir, ignore_errors=True)
            self.dir = None


DEPLOY = Path(__file__).resolve().parents[1] / "deploy"
DEPLOY_ENDPOINTS = DEPLOY / "endpoints.yml"


def nginx_bin() -> str:
    """Return the nginx binary (installs Debian's `nginx-light` if missing)."""
    if not shutil.which("nginx") and not Path("/usr/sbin/nginx").exists():
        apt_install(["nginx-light"])
    return shutil.which("nginx") or "/usr/sbin/nginx"


class Nginx:
    """deploy/nginx.conf on a free loopback port, its upstreams pointed at local servers.

    `upstreams` maps the compose service addresses in the file ("rasa-1:5005",
    "actions:5055") to local ones ("127.0.0.1:41234"). The access log records
    which upstream answered each request (`upstream_log()`).
    """

    def __init__(self, upstreams: Dict[str, str], port: Optional[int] = None) -> None:
        self.upstreams, self.port = upstreams, port or free_port()
        self.dir: Optional[Path] = None
        self.process: Optional[subprocess.Popen] = None

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def config(self) -> str:
        """deploy/nginx.conf with local addresses, port, log and pid file."""
        text = (DEPLOY / "nginx.conf").read_text(encoding="utf-8")
        for name, address in self.upstreams.items():
            text = text.replace(f"server {name}", f"server {address}")
        text = text.replace("listen 80;", f"listen {HOST}:{self.port};")
        text = text.replace(
            "access_log off;",
            "log_format upstreams '$request_uri $status $upstream_addr';\n"
            f"    access_log {self.dir}/access.log upstreams;",
        )
        text = text.replace("worker_processes auto;", f"worker_processes 1;\npid {self.dir}/nginx.pid;")
        return text

    def start(self, timeout: float = 30) -> "Nginx":
        binary = nginx_bin()
        self.dir = Path(tempfile.mkdtemp(prefix="dn-nginx-"))
        conf = self.dir / "nginx.conf"
        conf.write_text(self.config())
        base = [binary, "-p", str(self.dir), "-c", str(conf), "-e", str(self.dir / "error.log")]
        subprocess.run([*base, "-t", "-q"], check=True, capture_output=True)
        self.process = subprocess.Popen(
            [*base, "-g", "daemon off;"], stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT, start_new_session=True
        )

        def answers() -> bool:
            try:
                with socket.create_connection((HOST, self.port), timeout=1):
                    return True
            except OSError:
                return False

        _wait_for(answers, "nginx", self.process, self.dir / "error.log", timeout)
        return self

    def upstream_log(self) -> list:
        """(request URI, status, upstream address) of every request so far."""
        log = self.dir / "access.log" if self.dir else None
        if not log or not log.exists():
            return []
        return [tuple(line.split(" ", 2)) for line in log.read_text().splitlines() if line.strip()]

    def stop(self) -> None:
        """Quit (SIGQUIT: graceful) and remove the directory."""
        stop_process(self.process, signal.SIGQUIT, timeout=15)
        self.process = None
        if self.dir:
            shutil.rmtree(self.dir, ignore_errors=True)
            self.dir = None


def deploy_env(
    action_url: str, postgres: Postgres, redis: Redis, db: str = "rasa", redis_db: int = 1
) -> Dict[str, str]:
    """Return the environment that deploy/endpoints.yml reads, for these local servers."""
    return {
        "ACTION_SERVER_URL": action_url,
        "DB_HOST": HOST,
        "DB_PORT": str(postgres.port),
        "DB_NAME": db,
        "DB_USER": postgres.user,
        "DB_PASSWORD": postgres.password,
        "DB_LOGIN_DB": "postgres",
        "REDIS_HOST": HOST,
        "REDIS_PORT": str(redis.port),
        "REDIS_PASSWORD": "",
        "REDIS_DB": str(redis_db),
    }


def main() -> int:
    """Start PostgreSQL and Redis, print how to use them, and wait for Ctrl-C."""
    postgres, redis = Postgres(), Redis()
    try:
        postgres.start()
        redis.start()
        print(f"PostgreSQL: {postgres.create_database('rasa')}")
        print(f"Redis:      redis://{HOST}:{redis.port}/1")
        print("Serve Rasa with `--endpoints deploy/endpoints.yml` and these variables:\n")
        for name, value in deploy_env("http://127.0.0.1:5055/webhook", postgres, redis).items():
            print(f"export {name}='{value}'")
        print(f"export CALLBACK_DB_URL='{postgres.create_database('callbacks')}'   # for the action server\n")
        print("Ctrl-C stops both and deletes their data.", flush=True)
        signal.signal(signal.SIGTERM, signal.default_int_handler)
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        redis.stop()
        postgres.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
