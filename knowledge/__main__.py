"""Onboard a clinic from its page: `python -m knowledge draft <clinic_id>`, then `python -m knowledge check`."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import List, Optional

from knowledge.citations import CITATIONS, PAGE_FOLDERS, CitationError, check_file, draft_text, page_of, propose
from shared.clinic import ProfileError, clinic_file, load_profile


def main(argv: Optional[List[str]] = None) -> int:
    """Draft a clinic's citations for review, or check citations files; return the exit status."""
    parser = argparse.ArgumentParser(prog="python -m knowledge", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    draft = sub.add_parser("draft", help="propose each topic's sentences from the clinic's page, for review")
    draft.add_argument("clinic_id")
    draft.add_argument("--out", type=Path, help="the draft file (default: knowledge/citations/<id>.draft.yml)")
    check = sub.add_parser("check", help="refuse quotes not verbatim in the page and topics that do not exist")
    check.add_argument("files", nargs="*", type=Path, help="citations files (default: knowledge/citations/*.yml)")
    for command in (draft, check):
        command.add_argument("--clinics-dir", help="where the profiles are (default: CLINICS_DIR or clinics/)")
        command.add_argument("--pages-dir", type=Path, action="append", help="another folder of clinic pages")
    args = parser.parse_args(argv)
    folders = [*PAGE_FOLDERS, *(args.pages_dir or [])]
    if args.command == "draft":
        try:
            profile = load_profile(clinic_file(args.clinic_id, args.clinics_dir))
            page = page_of(profile, folders)
        except (ProfileError, CitationError) as error:
            print(f"knowledge: {error}", file=sys.stderr)
            return 2
        from components.sentence_encoder import load_encoder

        proposals, missing = propose(page.read_text(encoding="utf-8"), load_encoder())
        out = args.out or CITATIONS / f"{profile.id}.draft.yml"
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(draft_text(profile, page, proposals, missing), encoding="utf-8")
        print(f"wrote {out}: {sum(map(len, proposals.values()))} quotes for {len(proposals)} topics, to review")
        print(f"not covered by {page.name}: {', '.join(missing) or 'none'}")
        return 0
    files = args.files or sorted(CITATIONS.glob("*.yml"))
    problems = [problem for path in files for problem in check_file(path, args.clinics_dir, folders)]
    for problem in problems:
        print(problem, file=sys.stderr)
    print(f"checked {len(files)} file(s): {len(problems)} problem(s)")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
