"""Start the action server after checking the clinic profile: `python -m actions`.

The same server also serves the front desk's /frontdesk endpoint (frontdesk/api.py).

Takes the same options as `rasa run actions` (see `python -m actions --help`).
Exits with status 2 and a one-line message when the profile chosen by
CLINIC_ID is missing or malformed, instead of failing on the first message.
"""

import sys

from rasa_sdk.__main__ import main_from_args
from rasa_sdk.endpoint import create_argument_parser
from rasa_sdk.plugin import plugin_manager

from actions.access import ActionServerTokenPlugin
from actions.config import current_profile, settings
from frontdesk.api import FrontDeskPlugin
from shared.clinic import ProfileError, clinics_folder


def main() -> int:
    """Validate the clinic profile, then serve the actions."""
    args = create_argument_parser().parse_args()
    try:
        profile = current_profile()
    except ProfileError as error:
        print(f"actions: cannot start: {error}", file=sys.stderr)
        print(
            f"actions: set CLINIC_ID to one of the files in {clinics_folder(settings().clinics_dir)}",
            file=sys.stderr,
        )
        return 2
    print(f"actions: serving clinic '{profile.id}' ({profile.name})", file=sys.stderr)
    args.actions = args.actions or "actions"
    plugin_manager().register(FrontDeskPlugin())
    plugin_manager().register(ActionServerTokenPlugin())
    main_from_args(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
