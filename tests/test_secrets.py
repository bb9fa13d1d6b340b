"""No secrets in the repository: every file git tracks or would add is scanned.

Looks for private keys, AWS keys, Slack and Twilio tokens and webhooks, GitHub,
Google and OpenAI keys, passwords written into URLs, and .env files. Settings
come from the environment instead (README "Configuration"; docs/security.md).
A placeholder password in a URL (``password``, ``${VAR}``, ``<...>``) is allowed.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from typing import List

import pytest

ROOT = Path(__file__).resolve().parents[1]
MAX_BYTES = 2_000_000

PATTERNS = {
    "private key": re.compile(r"-----BEGIN (?:RSA |EC |DSA |OPENSSH |PGP |ENCRYPTED )?PRIVATE KEY(?: BLOCK)?-----"),
    "AWS access key id": re.compile(r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b"),
    "AWS secret access key": re.compile(r"(?i)aws_?secret_?access_?key\s*[=:]\s*['\"]?[A-Za-z0-9/+=]{40}\b"),
    "Slack token": re.compile(r"\bxox[abposr]-[0-9A-Za-z-]{10,}"),
    "Slack webhook": re.compile(r"hooks\.slack\.com/services/T[A-Z0-9]{6,}/B[A-Z0-9]{6,}/[A-Za-z0-9]{16,}"),
    "Twilio account SID or API key": re.compile(r"\b(?:AC|SK)[0-9a-f]{32}\b"),
    "Twilio auth token": re.compile(r"(?i)twilio_?auth_?token\s*[=:]\s*['\"]?[0-9a-f]{32}\b"),
    "GitHub token": re.compile(r"\bgh[pousr]_[A-Za-z0-9]{36,}\b"),
    "Google API key": re.compile(r"\bAIza[0-9A-Za-z_-]{35}\b"),
    "OpenAI key": re.compile(r"\bsk-(?:proj-)?[A-Za-z0-9]{32,}\b"),
}
# scheme://user:password@host - the password is group 1.
URL_PASSWORD = re.compile(r"\b[a-z][a-z0-9+.-]*://[^/\s:@'\"]+:([^/\s@'\"]+)@[^\s'\"]+")
PLACEHOLDER = re.compile(
    r"^(?:password|passwd|pass|pw|secret|changeme|example|xxx+|\*+|\$\{[^}]+\}|\$[A-Z_]+|<[^>]+>|\{[^}]+\})$", re.I
)
ENV_FILE = re.compile(r"(?:^|/)\.env(?:\.(?!example$|sample$|template$)[^/]+)?$|(?:^|/)[^/]+\.env$")


def repository_files() -> List[str]:
    """Tracked files and untracked files that are not ignored (what a commit could add)."""
    result = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        check=True,
    )
    return sorted({name for name in result.stdout.decode().split("\0") if name})


def findings(name: str, text: str) -> List[str]:
    found = [f"{name}: {label}" for label, pattern in PATTERNS.items() if pattern.search(text)]
    for match in URL_PASSWORD.finditer(text):
        if not PLACEHOLDER.match(match.group(1)):
            found.append(f"{name}: password in a URL ({match.group(0)[:40]}...)")
    return found


def scan(files: List[str], root: Path = ROOT) -> List[str]:
    problems = []
    for name in files:
        if ENV_FILE.search(name):
            problems.append(f"{name}: an environment file")
        path = root / name
        if not path.is_file() or path.stat().st_size > MAX_BYTES:
            continue
        data = path.read_bytes()
        if b"\0" in data[:8192]:
            continue  # binary
        problems += findings(name, data.decode("utf-8", errors="replace"))
    return problems


def test_no_secrets_in_the_repository():
    files = repository_files()
    assert len(files) > 50 and "README.md" in files
    assert scan(files) == []


@pytest.mark.parametrize(
    "planted",
    [
        "-----BEGIN " + "RSA PRIVATE KEY-----\nMIIB...",
        "aws_access_key_id = " + "AKIA" + "ABCDEFGHIJKLMNOP",
        "AWS_SECRET_ACCESS_KEY=" + "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        "SLACK=" + "xoxb-" + "123456789012-abcdefghijkl",
        "https://hooks.slack.com/services/" + "T0123ABCD/B0123ABCD/" + "abcdefghijklmnopqrstuvwx",
        "account_sid: " + "AC" + "0123456789abcdef" * 2,
        "TWILIO_AUTH_TOKEN=" + "0123456789abcdef" * 2,
        "token = " + "ghp_" + "A" * 36,
        "CALLBACK_DB_URL=postgresql://clinic:" + "hunter2" + "@db.example/callbacks",
    ],
)
def test_the_scan_finds_a_planted_secret(tmp_path, planted):
    (tmp_path / "settings.py").write_text(f"# config\n{planted}\n")
    assert scan(["settings.py"], tmp_path)


@pytest.mark.parametrize("name", [".env", "deploy/.env", "deploy/.env.production", "secrets.env"])
def test_the_scan_finds_an_environment_file(tmp_path, name):
    (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
    (tmp_path / name).write_text("X=1\n")
    assert scan([name], tmp_path) == [f"{name}: an environment file"]


@pytest.mark.parametrize(
    "allowed",
    [
        "postgresql://user:password@host/dbname",  # the README's example
        "postgresql://rasa:${POSTGRES_PASSWORD}@postgres/rasa",
        "redis://:<password>@redis:6379",
        "deploy/env.example",
    ],
)
def test_placeholders_are_not_secrets(tmp_path, allowed):
    (tmp_path / "doc.md").write_text(allowed + "\n")
    assert scan(["doc.md"], tmp_path) == []
