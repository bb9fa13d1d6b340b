"""Every change this project makes to Rasa 3.6.21's own behaviour, installed in one place.

``install()`` checks the Rasa version first and refuses any other (the changes
reach into Rasa's private parts), then installs each change. Every entry point
calls it: ``python -m rasa_patches <rasa command>`` (what the Makefile, the
images, the tests' servers and the benchmark start), the tests' in-process
agents (``tests/conftest.py``) and the scripts that load the model. Importing
this package, a channel or a store installs nothing.

The changes (``docs/performance.md`` says what each buys):

- ``action_fallback``: the Rasa server answers from the clinic profile when
  the action server cannot be reached; kept-alive action calls; the action
  server's reply checked against the one event schema its name picks;
- ``graph_runner``: the model's graph runs in plain Python, not through dask;
- ``domain_check``: Rasa's "is the domain empty?" check against one empty domain;
- ``log_privacy``: no patient text in the two Rasa log lines that repeat it.

``tracker_copy`` is not installed: the project's tracker store and policy
copy their kept conversations with its ``copy_of``. Two changes were removed
after measuring what they bought (docs/performance.md): the event-class cache
and Rasa's own tracker copies made without replay.
"""

from __future__ import annotations

import importlib
from typing import Iterable, List

import rasa

RASA_VERSION = "3.6.21"
# The changes install() installs, in order: each a module of this package with an install().
CHANGES = ("action_fallback", "graph_runner", "domain_check", "log_privacy")
_installed: List[str] = []


class WrongRasaVersion(SystemExit):
    """Rasa is not the version these changes were written for."""


def check_version(version: str = "") -> None:
    """Refuse to go on, with a one-line message, unless Rasa is the version the changes were written for."""
    version = version or rasa.__version__
    if version != RASA_VERSION:
        raise WrongRasaVersion(
            f"rasa_patches: written for rasa {RASA_VERSION}, found rasa {version}; "
            "install the versions in requirements.lock (`make install`)"
        )


def install(skip: Iterable[str] = ()) -> List[str]:
    """Check the Rasa version, then install every change but those in `skip`; return the names installed."""
    check_version()
    unknown = set(skip) - set(CHANGES)
    if unknown:
        raise ValueError(f"rasa_patches: no change called {', '.join(sorted(unknown))}; there are {', '.join(CHANGES)}")
    for name in CHANGES:
        if name not in skip and name not in _installed:
            importlib.import_module(f"rasa_patches.{name}").install()
            _installed.append(name)
    return list(_installed)


def installed() -> List[str]:
    """Return the names of the changes installed in this process."""
    return list(_installed)
