"""The README's "Add a clinic", followed as written in a copy of the project: data only, then `make run`.

The copy has the project's tracked files, this model and the installed
environment (a link to .venv); the README's commands run in it in order, then
`make run` starts the servers on free ports, and the README's `curl` asks
Riverbend (the new clinic) a question. No Python file and no `domain.yml` is
changed, and `make run` does not retrain: the answers are read when Rasa starts.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import textwrap
import time
from pathlib import Path

import pytest
import requests
import yaml

from tests.servers import MODEL, QUIET, ROOT, free_port

pytestmark = pytest.mark.model

SECTION = re.compile(r"^### Add a clinic\n(.*?)(?=^##)", re.MULTILINE | re.DOTALL)
BLOCK = re.compile(r"^( *)```bash\n(.*?)^\1```", re.MULTILINE | re.DOTALL)
README_RASA_PORT = "5005"


def readme_steps():
    """Return the shell blocks of the README's "Add a clinic" section, in order."""
    section = SECTION.search((ROOT / "README.md").read_text(encoding="utf-8")).group(1)
    return [textwrap.dedent(block) for _, block in BLOCK.findall(section)]


def copy_project(target: Path) -> None:
    """Copy the tracked files, the model and the widget's socket.io client; link the environment."""
    tracked = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    for name in tracked.splitlines():
        source = ROOT / name
        if source.is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)
    (target / ".venv").symlink_to(ROOT / ".venv")
    vendor = ROOT / "web" / "widget" / "vendor"  # `make web` (a prerequisite of `make test`) made it
    assert vendor.is_dir(), "run `make web` first"
    shutil.copytree(vendor, target / "web" / "widget" / "vendor")
    (target / "models").mkdir(exist_ok=True)
    shutil.copy(MODEL, target / "models" / MODEL.name)  # newest: nothing to retrain


def test_readme_steps_add_a_clinic_that_answers_from_its_own_page(tmp_path):
    project = tmp_path / "project"
    project.mkdir()
    copy_project(project)
    steps = readme_steps()
    assert len(steps) == 4 and "curl" in steps[-1]
    python_and_domain = {p: p.read_bytes() for p in [*project.glob("**/*.py"), project / "domain.yml"]}

    env = {**os.environ, **QUIET}
    for step in steps[:-1]:
        result = subprocess.run(["bash", "-e", "-c", step], cwd=project, env=env, capture_output=True, text=True)
        assert result.returncode == 0, f"{step}\n{result.stdout}\n{result.stderr}"
    draft = yaml.safe_load((project / "knowledge" / "citations" / "riverbend_physio.draft.yml").read_text())
    assert draft["reviewed"] is False and "session_length" in draft["topics"]
    assert {p: p.read_bytes() for p in python_and_domain} == python_and_domain  # data only

    ports = {"RASA_PORT": str(free_port()), "ACTION_PORT": str(free_port()), "WEB_PORT": str(free_port())}
    log = (tmp_path / "make-run.log").open("w")
    run = subprocess.Popen(
        ["make", "--no-print-directory", "-o", ".venv/.installed", "-o", "web", "run"],
        cwd=project,
        env={**env, **ports, "CORS_ORIGINS": f"http://localhost:{ports['WEB_PORT']}"},
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # make run's `kill 0` stops its own process group, not pytest
    )
    try:
        rasa = f"http://localhost:{ports['RASA_PORT']}"
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline and run.poll() is None:
            try:
                if requests.get(f"{rasa}/webhooks/rest/", timeout=2).ok:
                    break
            except requests.RequestException:
                time.sleep(1)
        assert run.poll() is None, (tmp_path / "make-run.log").read_text()[-3000:]

        curl = steps[-1].replace(f"localhost:{README_RASA_PORT}", f"localhost:{ports['RASA_PORT']}")
        result = subprocess.run(["bash", "-e", "-c", curl], capture_output=True, text=True, timeout=120)
        said = [m.get("text", "") for m in yaml.safe_load(result.stdout)]
        assert "Riverbend Physiotherapy (fictional)" in said[0]  # the notice names the new clinic
        assert said[1].startswith("A visit at Riverbend takes about 30 minutes.")  # its own page's answer

        page = requests.get(f"http://localhost:{ports['WEB_PORT']}/clinics/riverbend_physio/", timeout=10)
        assert page.ok and 'data-clinic-id="riverbend_physio"' in page.text
    finally:
        os.killpg(run.pid, signal.SIGTERM)
        run.wait(timeout=60)
        log.close()
    output = (tmp_path / "make-run.log").read_text()
    assert "rasa_patches train" not in output  # no retrain for a new clinic
