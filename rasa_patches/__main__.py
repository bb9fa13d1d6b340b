"""Run a Rasa command with the project's changes installed: `python -m rasa_patches run|shell|test|train ...`."""

from __future__ import annotations

import sys

import rasa_patches


def main() -> None:
    """Install the changes (after the version check), then hand the arguments to Rasa's command line."""
    names = rasa_patches.install()
    print(f"rasa_patches: rasa {rasa_patches.RASA_VERSION} with {', '.join(names)}", file=sys.stderr)
    from rasa.__main__ import main as rasa_main

    sys.argv = ["rasa", *sys.argv[1:]]
    rasa_main()


if __name__ == "__main__":
    main()
