"""Start the action server after checking the clinic profile: `python -m actions`.

The same server also serves the front desk's /frontdesk endpoint (frontdesk/api.py).

Takes the same options as `rasa run actions` (see `python -m actions --help`).
Serves every clinic of the clinics folder; CLINIC_ID is the default one.
Exits with status 2 and a one-line message when the profile chosen by
CLINIC_ID, or any profile of the folder, is missing or malformed, instead of failing on the first message.
`python -m actions --check` only checks the profile (`make run` does first).
"""

import sys
from typing import Optional

from rasa_sdk.__main__ import main_from_args
from rasa_sdk.endpoint import create_argument_parser
from rasa_sdk.plugin import plugin_manager

from actions.access import ActionServerTokenPlugin
from actions.config import all_profiles, current_profile, settings
from frontdesk.api import FrontDeskPlugin
from shared.clinic import ClinicProfile, ProfileError, clinics_folder


def checked_profile() -> Optional[ClinicProfile]:
    """Return the default clinic's profile (CLINIC_ID) after checking every profile, or None after saying why not."""
    try:
        all_profiles()
        return current_profile()
    except ProfileError as error:
        print(f"actions: cannot start: {error}", file=sys.stderr)
        print(
            f"actions: set CLINIC_ID to one of the files in {clinics_folder(settings().clinics_dir)}",
            file=sys.stderr,
        )
        return None


def main() -> int:
    """Validate the clinic profile, then serve the actions (or only validate it, with --check)."""
    if sys.argv[1:] == ["--check"]:
        return 0 if checked_profile() else 2
    args = create_argument_parser().parse_args()
    profile = checked_profile()
    if profile is None:
        return 2
    others = sorted(set(all_profiles()) - {profile.id})
    also = f", and {', '.join(others)}" if others else ""
    print(f"actions: serving clinic '{profile.id}' ({profile.name}) by default{also}", file=sys.stderr)
    args.actions = args.actions or "actions"
    plugin_manager().register(FrontDeskPlugin())
    plugin_manager().register(ActionServerTokenPlugin())
    main_from_args(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
