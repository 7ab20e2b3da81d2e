"""The access decision (hemkoll/access/decision.py), over every combination of the facts.

Each fact takes every state that matters (absent, in force, ended before now, starting after
now, in force for someone else), for each kind of caller; the product (4 callers x 5 x 5 x 5
x 5 = 2500 cases) is checked against the law's rules stated as properties, and the named
cases below pin the basis each rule gives.
"""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from uuid import UUID, uuid4

import pytest

from hemkoll.access.decision import (
    Block,
    Consent,
    Decision,
    Emergency,
    PatientSharing,
    Relationship,
    Viewer,
    decide,
)

NOW = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)
REGION, MUNICIPALITY, OTHER_MUNICIPALITY = uuid4(), uuid4(), uuid4()
HOME_UNIT, REGION_OTHER_UNIT, HOME_CARE, OTHER_HOME_CARE = uuid4(), uuid4(), uuid4(), uuid4()
PATIENT = uuid4()

CALLERS = {
    "region_admin": Viewer(uuid4(), "admin", None, None),
    "own_unit": Viewer(uuid4(), "nurse", HOME_UNIT, REGION),
    "region_other_unit": Viewer(uuid4(), "nurse", REGION_OTHER_UNIT, REGION),
    "home_care": Viewer(uuid4(), "nurse", HOME_CARE, MUNICIPALITY),
}
# Each fact's states: absent, in force, ended before now, not yet begun, in force for others.
STATES = ("none", "active", "ended", "future", "others")


def _span(state: str) -> tuple[datetime, datetime | None]:
    return {
        "active": (NOW - HOUR, None),
        "others": (NOW - HOUR, None),
        "ended": (NOW - 2 * HOUR, NOW - HOUR),
        "future": (NOW + HOUR, None),
    }[state]


def _relationships(state: str, viewer: Viewer) -> list[Relationship]:
    home = Relationship(HOME_UNIT, NOW - 100 * HOUR, None)
    if state == "none" or viewer.unit_id in (None, HOME_UNIT):
        return [home]
    start, end = _span(state)
    unit = OTHER_HOME_CARE if state == "others" else viewer.unit_id
    return [home, Relationship(unit, start, end)]


def _provider(state: str, viewer: Viewer) -> UUID:
    if state == "others" or viewer.provider_id is None:
        return OTHER_MUNICIPALITY
    return viewer.provider_id


def _world(viewer: Viewer, rel: str, consent: str, block: str, emergency: str) -> PatientSharing:
    consents, blocks, emergencies = [], [], []
    if consent != "none":
        start, end = _span(consent)
        consents.append(Consent(_provider(consent, viewer), start, end))
    if block != "none":
        start, end = _span(block)
        blocks.append(Block(_provider(block, viewer), start, end))
    if emergency != "none":
        start, end = _span(emergency)
        staff = uuid4() if emergency == "others" else viewer.staff_id
        emergencies.append(Emergency(staff, start, end or NOW + 4 * HOUR))
    return PatientSharing(
        PATIENT,
        HOME_UNIT,
        REGION,
        _relationships(rel, viewer),
        consents,
        blocks,
        emergencies,
    )


@pytest.mark.parametrize("caller", list(CALLERS))
def test_every_combination_follows_the_rules(caller: str) -> None:
    viewer = CALLERS[caller]
    for rel, consent, block, emergency in itertools.product(STATES, repeat=4):
        facts = _world(viewer, rel, consent, block, emergency)
        d = decide(viewer, facts, NOW)
        case = (caller, rel, consent, block, emergency, d)
        related = caller == "own_unit" or (caller != "region_admin" and rel == "active")
        consented = consent == "active" or caller in ("own_unit", "region_other_unit")
        blocked = block == "active" and caller == "home_care"
        urgent = emergency == "active"
        if caller == "region_admin":
            assert d == Decision(basis="administration"), case
        elif blocked:
            assert d == Decision(refusal="blocked"), case
        elif related and consented:
            expected = "care_relationship" if caller != "home_care" else "consent"
            assert d == Decision(basis=expected), case  # type: ignore[arg-type]
        elif urgent:
            assert d == Decision(basis="emergency"), case
        else:
            assert not d.allowed, case
            assert d.refusal == ("no_consent" if related else "no_care_relationship"), case


def test_a_block_outweighs_consent_and_emergency() -> None:
    viewer = CALLERS["home_care"]
    facts = _world(viewer, "active", "active", "active", "active")
    assert decide(viewer, facts, NOW) == Decision(refusal="blocked")
    lifted = _world(viewer, "active", "active", "ended", "none")
    assert decide(viewer, lifted, NOW) == Decision(basis="consent")


def test_a_block_on_the_patients_own_provider_changes_nothing() -> None:
    """Her own provider documents her data: a block is against others seeing it."""
    viewer = CALLERS["own_unit"]
    facts = _world(viewer, "none", "none", "active", "none")
    assert decide(viewer, facts, NOW) == Decision(basis="care_relationship")


def test_the_home_units_relationship_ending_ends_its_access() -> None:
    viewer = CALLERS["own_unit"]
    facts = PatientSharing(PATIENT, HOME_UNIT, REGION, [Relationship(HOME_UNIT, NOW - HOUR, NOW)])
    assert decide(viewer, facts, NOW) == Decision(refusal="no_care_relationship")
    assert decide(viewer, facts, NOW - timedelta(minutes=1)).basis == "care_relationship"


def test_consent_without_a_care_relationship_is_not_enough() -> None:
    viewer = CALLERS["home_care"]
    facts = _world(viewer, "none", "active", "none", "none")
    assert decide(viewer, facts, NOW) == Decision(refusal="no_care_relationship")


def test_emergency_access_ends_when_it_expires() -> None:
    viewer = CALLERS["home_care"]
    facts = PatientSharing(
        PATIENT, HOME_UNIT, REGION, emergencies=[Emergency(viewer.staff_id, NOW - HOUR, NOW)]
    )
    assert decide(viewer, facts, NOW - timedelta(seconds=1)).basis == "emergency"
    assert decide(viewer, facts, NOW) == Decision(refusal="no_care_relationship")


def test_a_unit_administrator_is_scoped_like_the_units_staff() -> None:
    unit_admin = Viewer(uuid4(), "admin", HOME_CARE, MUNICIPALITY)
    facts = _world(unit_admin, "active", "none", "none", "none")
    assert decide(unit_admin, facts, NOW) == Decision(refusal="no_consent")


def test_naive_times_and_contradictory_decisions_are_refused() -> None:
    with pytest.raises(ValueError, match="aware"):
        decide(
            CALLERS["own_unit"],
            _world(CALLERS["own_unit"], *["none"] * 4),
            NOW.replace(tzinfo=None),
        )
    with pytest.raises(ValueError, match="either"):
        Decision(basis="consent", refusal="blocked")
    with pytest.raises(ValueError, match="either"):
        Decision()
