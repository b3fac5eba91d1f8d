"""Which organizations the engine offers as help for a question."""

from __future__ import annotations

import shutil
from pathlib import Path

from bot.engine.referrals import Referrals
from ingest.metadata import load_organizations
from tests.conftest import ORGS_YAML, REPO

UNVERIFIED = """\
  - id: old-campaign
    name: Old Campaign (OC)
    url: https://old.example.org
    status: unverified
    topics: [red-notices]
    offers: ["Advice on notices, offered years ago"]
    eligibility: not stated
    contact: {notes: "no contact details; whether it still advises anyone is unverified"}
    languages: []
    regions: [global]
"""


def _referrals(tmp_path: Path) -> Referrals:
    (tmp_path / "organizations.yaml").write_text(ORGS_YAML + UNVERIFIED, encoding="utf-8")
    shutil.copy(REPO / "knowledge" / "topics.yaml", tmp_path / "topics.yaml")
    return Referrals(load_organizations(tmp_path / "organizations.yaml"))


def test_an_unverified_organization_is_offered_only_when_the_person_names_it(tmp_path):
    referrals = _referrals(tmp_path)
    topics = [("red-notices", 0.9)]
    asked = referrals.rank("how do I get a red notice deleted", "en", topics, [])
    assert [r.id for r in asked] == ["interpol-ccf"]
    named = referrals.rank("can Old Campaign help with my red notice?", "en", topics, [])
    assert "old-campaign" in [r.id for r in named]
    assert next(r for r in named if r.id == "old-campaign").check_note  # shown with its caveat
