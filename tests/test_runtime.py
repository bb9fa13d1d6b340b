"""One runtime for every entry point: rasa_patches, its version guard, and what the Rasa server imports."""

from __future__ import annotations

import json
import os
import pty
import re
import select
import subprocess
import sys
import time

import pytest
import yaml

import rasa_patches
from tests.servers import MODEL, QUIET, RASA, ROOT, free_port

ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
# What the Rasa server loads: the modules named in config.yml, credentials.yml
# and endpoints.yml, and the changes every entry point installs.
RASA_SERVER_IMPORTS = """
import json, sys
import rasa_patches
rasa_patches.install()
import channels.rest, channels.sms, channels.socketio_cors
import stores.sql_tracker_store, stores.redis_lock_store
import policies.rule_policy
import components.questions, components.spacy_lean, components.sentence_encoder
import components.sentence_count_vectors, components.linear_classifier, components.faq_gate
import components.personal_health, components.language_gate, components.red_flags
root = sys.argv[1]
print(json.dumps(sorted({name.split(".")[0] for name, module in sys.modules.items()
                         if (getattr(module, "__file__", None) or "").startswith(root + "/")
                         and "/.venv/" not in (module.__file__ or "")})))
"""


ACTION_SERVER_IMPORTS = """
import json, sys
import actions.actions, actions.callback, actions.access, actions.__main__, frontdesk.api, frontdesk.cli
root = sys.argv[1]
print(json.dumps(sorted({name.split(".")[0] for name, module in sys.modules.items()
                         if (getattr(module, "__file__", None) or "").startswith(root + "/")
                         and "/.venv/" not in (module.__file__ or "")})))
"""


def _project_packages(code: str) -> set:
    """Return the project's top-level packages that `code` imports, run in a new process."""
    result = subprocess.run(
        [sys.executable, "-c", code, str(ROOT)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**os.environ, **QUIET},
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return set(json.loads(result.stdout.strip().splitlines()[-1]))


def test_another_rasa_version_is_refused_with_one_line():
    with pytest.raises(rasa_patches.WrongRasaVersion) as refused:
        rasa_patches.check_version("3.6.20")
    message = str(refused.value)
    assert "\n" not in message and "3.6.21" in message and "3.6.20" in message


def test_the_command_line_refuses_another_rasa_version_before_doing_anything():
    # The installed Rasa pretends to be 3.7.0; `python -m rasa_patches run` must stop at once.
    code = (
        "import rasa, runpy, sys; rasa.__version__ = '3.7.0'; sys.argv = ['rasa_patches', 'run']; "
        "runpy.run_module('rasa_patches', run_name='__main__')"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, env={**os.environ, **QUIET}, timeout=120
    )
    assert result.returncode != 0
    assert result.stderr.strip().splitlines()[-1] == (
        "rasa_patches: written for rasa 3.6.21, found rasa 3.7.0; "
        "install the versions in requirements.lock (`make install`)"
    )


def test_an_unknown_change_cannot_be_skipped():
    with pytest.raises(ValueError, match="no change called nothing_like_this"):
        rasa_patches.install(skip=["nothing_like_this"])


def test_the_tests_run_with_every_change_installed():
    # tests/conftest.py installs them, as `python -m rasa_patches` does for the servers.
    assert set(rasa_patches.installed()) == set(rasa_patches.CHANGES)


@pytest.fixture(scope="module")
def server_packages():
    """The project's top-level packages a Rasa server process imports."""
    return _project_packages(RASA_SERVER_IMPORTS)


def test_the_rasa_server_never_imports_the_action_server_code(server_packages):
    assert "actions" not in server_packages and "frontdesk" not in server_packages
    assert {"rasa_patches", "channels", "stores", "policies", "components", "server", "shared"} <= server_packages


def test_the_action_server_imports_only_its_own_code_and_the_shared_module():
    assert _project_packages(ACTION_SERVER_IMPORTS) <= {"actions", "frontdesk", "shared"}


def test_the_rasa_image_has_what_the_rasa_server_imports_and_no_action_code(server_packages):
    dockerfile = (ROOT / "deploy" / "Dockerfile.rasa").read_text(encoding="utf-8")
    copied = set(re.findall(r"^COPY\s+(?:--\S+\s+)*([\w.-]+)(?:/\S*)?\s", dockerfile, re.M))
    assert server_packages - {"tools"} <= copied
    assert not {"actions", "frontdesk"} & copied
    assert 'ENTRYPOINT ["python", "-m", "rasa_patches"]' in dockerfile


def test_every_rasa_command_of_the_makefile_goes_through_rasa_patches():
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    assert re.search(r"^RASA\s*:=\s*\$\(BIN\)/python -m rasa_patches$", makefile, re.M)
    assert "$(BIN)/rasa " not in makefile and "bin/rasa " not in makefile
    for command in ("train", "run", "shell", "test core", "data validate"):
        assert f"$(RASA) {command}" in makefile or command == "data validate", command


def _read_until(fd: int, wanted: str, seconds: float) -> str:
    """Read a terminal until `wanted` appears in its text (without colours), or the time is up."""
    output, deadline = "", time.monotonic() + seconds
    while time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 1.0)
        if ready:
            try:
                chunk = os.read(fd, 65536)
            except OSError:
                break
            if not chunk:
                break
            output += chunk.decode("utf-8", "replace")
            if wanted in ANSI.sub("", output):
                break
    return ANSI.sub("", output)


@pytest.mark.model
def test_rasa_shell_gets_the_action_server_fallback_with_the_action_server_down(tmp_path):
    # `make shell`'s command with an action server that is not there: the Rasa
    # server itself says the notice and the clinic's contact details, as `rasa run` does.
    profile = yaml.safe_load((ROOT / "clinics" / "apollo_calgary.yml").read_text(encoding="utf-8"))
    endpoints = tmp_path / "endpoints.yml"
    endpoints.write_text(yaml.safe_dump({"action_endpoint": {"url": f"http://127.0.0.1:{free_port()}/webhook"}}))
    leader, follower = pty.openpty()
    env = {**os.environ, **QUIET, "CLINIC_ID": "apollo_calgary", "TERM": "dumb", "COLUMNS": "200"}
    shell = subprocess.Popen(
        [*RASA, "shell", "--model", str(MODEL), "--endpoints", str(endpoints)],
        cwd=ROOT,
        env=env,
        stdin=follower,
        stdout=follower,
        stderr=follower,
        close_fds=True,
    )
    os.close(follower)
    try:
        started = _read_until(leader, "Bot loaded", 300)
        assert "rasa_patches: rasa 3.6.21 with action_fallback" in started
        os.write(leader, b"how much does it cost?\r")
        said = _read_until(leader, f"The team at {profile['name']}", 120)
        assert "automated assistant for" in said  # the notice, from domain.yml, said by the Rasa server
        assert f"The team at {profile['name']}" in said  # the contact details, from the clinic profile
        os.write(leader, b"/stop\r")
    finally:
        shell.terminate()
        shell.wait(timeout=30)
        os.close(leader)


@pytest.mark.model
def test_rasa_test_core_runs_with_the_changes_installed(tmp_path):
    stories = tmp_path / "stories.yml"
    stories.write_text(
        'version: "3.1"\nstories:\n- story: a red flag\n  steps:\n  - user: "I can\'t breathe"\n'
        "    intent: emergency\n  - action: utter_emergency\n"
    )
    result = subprocess.run(
        [
            *RASA,
            "test",
            "core",
            "--model",
            str(MODEL),
            "--stories",
            str(stories),
            "--out",
            str(tmp_path / "results"),
            "--fail-on-prediction-errors",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**os.environ, **QUIET},
        timeout=600,
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    assert "rasa_patches: rasa 3.6.21 with action_fallback, graph_runner" in result.stderr


def test_make_run_starts_nothing_when_the_action_server_cannot_start():
    # A CLINIC_ID that is a path: the action server's check refuses it with one
    # line, and `make run` starts neither Rasa nor the demo page without actions.
    ports = [f"RASA_PORT={free_port()}", f"ACTION_PORT={free_port()}"]
    result = subprocess.run(
        [
            "make",
            "--no-print-directory",
            "-o",
            "web",
            "-o",
            str(MODEL.relative_to(ROOT)),
            "run",
            "CLINIC_ID=../../somewhere/x",
            *ports,
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**os.environ, **QUIET},
        timeout=120,
        start_new_session=True,  # make run's `kill 0` stops its own process group, not pytest
    )
    assert result.returncode != 0
    assert "actions: cannot start: clinic id '../../somewhere/x' is not valid" in result.stderr
    assert not subprocess.run(["pgrep", "-f", f"rasa_patches run .*--port {ports[0].split('=')[1]}"]).returncode == 0
