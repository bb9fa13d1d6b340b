"""Clinic profiles: every shipped profile is valid; bad ones fail clearly, at start-up."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from shared.clinic import ClinicProfile, ProfileError, clinic_file, load_profile

ROOT = Path(__file__).resolve().parents[1]
SEEDS = ROOT / "knowledge" / "seeds"
PROFILES = sorted((ROOT / "clinics").glob("*.yml"))


def test_there_is_a_profile_for_each_seed_clinic():
    assert {p.stem for p in PROFILES} >= {"apollo_calgary", "dynamic_okotoks"}


@pytest.mark.parametrize("path", PROFILES, ids=lambda p: p.stem)
def test_shipped_profile_is_valid_and_its_facts_are_in_its_seed(path):
    profile = load_profile(path)
    seed = (SEEDS / profile.source).read_text(encoding="utf-8")
    # Names, people, emails and phone numbers must come from the clinic's own page.
    for fact in (profile.name, profile.contact_person, profile.email, profile.phone):
        if fact:
            assert fact in seed, f"{path.name}: '{fact}' is not in {profile.source}"
    # The town (first part of the location) must be in the page too.
    assert profile.location.split(",")[0] in seed


def test_missing_optional_fields_are_left_out(tmp_path):
    path = tmp_path / "minimal.yml"
    path.write_text("version: 1\nid: minimal\nname: Minimal Physio\nlocation: Airdrie, Alberta\n")
    profile = load_profile(path)
    assert profile == ClinicProfile(id="minimal", name="Minimal Physio", location="Airdrie, Alberta")
    text = profile.contact_text()
    assert "Minimal Physio (Airdrie, Alberta)" in text
    assert "None" not in text and "call" not in text and "@" not in text


@pytest.mark.parametrize(
    "content, message",
    [
        # not YAML at all
        ("version: 1\nname: [unclosed\n", "not valid YAML"),
        # a list instead of a mapping
        ("- a\n- b\n", "malformed"),
        # required field missing
        ("version: 1\nid: bad\nlocation: Calgary\n", "'name' is a required property"),
        # an invented-looking phone number format
        ("version: 1\nid: bad\nname: Bad Clinic\nlocation: Calgary\nphone: call us!\n", "phone"),
        # an email without a domain
        ("version: 1\nid: bad\nname: Bad Clinic\nlocation: Calgary\nemail: info@\n", "email"),
        # a misspelt field is refused rather than silently ignored
        ("version: 1\nid: bad\nname: Bad Clinic\nlocation: Calgary\nemial: a@b.ca\n", "emial"),
        # an unknown schema version
        ("version: 2\nid: bad\nname: Bad Clinic\nlocation: Calgary\n", "version"),
        # the id must match the file name
        ("version: 1\nid: other\nname: Bad Clinic\nlocation: Calgary\n", "expected 'bad'"),
        # an empty file
        ("", "malformed"),
        # a time zone that does not exist
        ("version: 1\nid: bad\nname: Bad Clinic\nlocation: Calgary\ntimezone: America/Calgari\n", "timezone"),
        # an SMS number not in international form
        ("version: 1\nid: bad\nname: Bad Clinic\nlocation: Calgary\nsms_numbers: ['403-555-0177']\n", "sms_numbers"),
    ],
)
def test_malformed_profile_is_refused_with_a_clear_message(tmp_path, content, message):
    path = tmp_path / "bad.yml"
    path.write_text(content)
    with pytest.raises(ProfileError, match="bad.yml") as error:
        load_profile(path)
    assert message in str(error.value)


def test_missing_profile_is_refused(tmp_path):
    with pytest.raises(ProfileError, match="does not exist"):
        load_profile(tmp_path / "nowhere.yml")


@pytest.mark.parametrize(
    "clinic_id, content, expected",
    [
        # CLINIC_ID names a clinic that has no file
        ("no_such_clinic", None, "no_such_clinic.yml does not exist"),
        # the file exists but is malformed
        ("broken", "version: 1\nid: broken\n", "'name' is a required property"),
        # a path, not a clinic's name: nothing outside the clinics folder is read
        ("../../etc/passwd", None, "clinic id '../../etc/passwd' is not valid"),
        ("Apollo_Calgary", None, "is not valid: use lower-case letters, digits and underscores"),  # upper case
    ],
)
def test_action_server_refuses_to_start_on_a_bad_profile(tmp_path, clinic_id, content, expected):
    if content is not None:
        (tmp_path / f"{clinic_id}.yml").write_text(content)
    env = {**os.environ, "CLINIC_ID": clinic_id, "CLINICS_DIR": str(tmp_path)}
    result = subprocess.run(
        [sys.executable, "-m", "actions", "--port", "0"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2
    assert expected in result.stderr
    assert "cannot start" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    "clinic_id",
    [
        "../clinics/apollo_calgary",  # a path that would reach a real profile
        "/etc/hostname",  # an absolute path
        "apollo_calgary.yml",  # a file name, not an id
        "",  # empty: the default clinic instead
    ],
)
def test_only_a_plain_clinic_id_names_a_profile(clinic_id):
    if not clinic_id:
        assert clinic_file(clinic_id, None).name == "apollo_calgary.yml"
        return
    with pytest.raises(ProfileError, match="is not valid"):
        clinic_file(clinic_id, None)


# Every combination of the optional contact fields a profile may have or lack.
FIELDS = {
    "email": "front@example.org",
    "phone": "403-555-0199",
    "hours": "Mon-Fri 8-6",
    "booking_url": "https://example.org/book",
    "contact_person": "Sam Lee",
}
COMBINATIONS = [
    {field: value for i, (field, value) in enumerate(FIELDS.items()) if mask >> i & 1}
    for mask in range(2 ** len(FIELDS))
]


def _lead(domain, topic, profile):
    """Return the hand-off's lead line as Rasa says it, with the slots the session started with."""
    from rasa.core.nlg.response import TemplatedNaturalLanguageGenerator

    nlg = TemplatedNaturalLanguageGenerator(domain["responses"])
    return nlg.generate_from_slots(f"utter_handoff/{topic}", profile.session_slots(), "collector")["text"]


@pytest.mark.parametrize("fields", COMBINATIONS, ids=lambda f: "+".join(f) or "none")
def test_a_hand_off_lead_never_contradicts_the_contact_details(domain, fields):
    profile = ClinicProfile(id="example", name="Example Clinic", location="Red Deer, Alberta", **fields)
    details = profile.contact_text()
    reachable = any(f in fields for f in ("email", "phone", "booking_url"))
    # Opening hours: the lead says they are missing exactly when the details give none.
    hours_lead = _lead(domain, "hours", profile)
    assert ("Opening hours: Mon-Fri 8-6." in details) == ("hours" in fields)
    assert ("don't have" in hours_lead) == ("hours" not in fields), hours_lead
    # How to reach the clinic: promised exactly when the details give a phone, an email or a link.
    contact_lead = _lead(domain, "contact", profile)
    assert ("Here is how to reach" in contact_lead) == reachable, contact_lead
    assert ("I don't have a phone number or email" in details) == (not reachable), details
    for field in ("email", "phone", "booking_url", "contact_person"):
        assert (FIELDS[field] in details) == (field in fields), field
    # The other leads claim nothing about the profile's fields.
    for topic in ("price", "insurance", "booking", "human", "sessions_needed"):
        lead = _lead(domain, topic, profile)
        assert not any(word in lead for word in ("phone", "email", "opening hours", "Here is how")), (topic, lead)
