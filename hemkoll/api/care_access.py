"""The access decision asked for a request: which patients the caller may see, and on what
basis (hemkoll/access/decision.py decides; this module loads its facts and keeps each decision
in the session, whose audit rows then carry its basis).

Every route that shows or changes a patient's data asks here, for the one patient
(``require_patient``) or for a list (``visible_patients``). A refusal answers 404 with the
same text as an object that does not exist (``missing``), and is recorded in the audit log
with the refusal's reason as its access basis.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from uuid import UUID

from hemkoll.access.decision import Decision, Viewer, decide
from hemkoll.api.access import Caller, Session
from hemkoll.api.problems import Problem, conflict, forbidden, invalid, not_found
from hemkoll.store import care_team, patients
from hemkoll.store.care_team import EmergencyAccess
from hemkoll.store.patients import PatientRecord

# How long an emergency access lasts: an on-call situation (a home visit for an escalated
# alert, its phone calls and its notes) fits in four hours; a longer need is a care
# relationship with consent, or a new emergency access with its own reason, each reviewed.
EMERGENCY_ACCESS_DURATION = timedelta(hours=4)
REASON_MIN_CHARS = 10  # as the table's CHECK: a reason, not a word
REASON_MAX_CHARS = 500
# What decide() answers for a patient of the caller's own care provider with whom the caller's
# unit has a care relationship (care_team.unit_related finds those in SQL).
RELATED = Decision(basis="care_relationship")


def viewer(caller: Caller, s: Session) -> Viewer:
    """The caller as the decision sees them (their unit's care provider looked up once)."""
    if s.viewer is None:
        p = caller.principal
        unit = p.health_centre_id
        provider = None if unit is None else care_team.unit_provider(s.conn, unit)
        s.viewer = Viewer(p.staff_id, p.role, unit, provider)
    return s.viewer


def decisions(caller: Caller, s: Session, patient_ids: Sequence[UUID]) -> dict[UUID, Decision]:
    """The decision on each patient that exists (one that does not is left out), kept in the
    session for its audit rows."""
    wanted = [pid for pid in dict.fromkeys(patient_ids) if pid not in s.decisions]
    if wanted:
        me = viewer(caller, s)
        now = caller.now()
        facts = care_team.sharing(s.conn, wanted, staff_id=me.staff_id)
        for pid, sharing in facts.items():
            s.decisions[pid] = decide(me, sharing, now)
    return {pid: s.decisions[pid] for pid in patient_ids if pid in s.decisions}


def require_patient(
    caller: Caller, s: Session, patient_id: UUID, *, missing: Problem | None = None
) -> Decision:
    """The caller may see this patient; otherwise ``missing`` (default: no patient ...) is
    raised, the refusal recorded with its reason. The row names her only where the caller's
    unit is in her care team without her consent: a unit outside it, or one she blocked,
    learns nothing of her from its own log."""
    problem = missing or not_found("patient", patient_id)
    decision = decisions(caller, s, [patient_id]).get(patient_id)
    if decision is None:
        raise problem
    if not decision.allowed:
        if decision.refusal == "no_consent":
            s.record("patient", patient_id, patient_id=patient_id)
        else:
            s.refusal = decision.refusal
        raise problem
    return decision


def visible_patients(caller: Caller, s: Session) -> list[UUID] | None:
    """The patients the caller may see now (None: every patient, a region administrator's
    reach); a list route filters by it. Her unit's related patients of her own provider (a
    health centre's whole list) are decided in SQL (``care_team.unit_related``); only the
    others (another provider's patients, emergency accesses) are loaded and asked."""
    me = viewer(caller, s)
    if me.unit_id is None and me.role == "admin":
        return None
    if me.unit_id is None:
        return []
    now = caller.now()
    related = (
        []
        if me.provider_id is None
        else care_team.unit_related(s.conn, unit_id=me.unit_id, provider_id=me.provider_id, now=now)
    )
    for pid in related:
        s.decisions.setdefault(pid, RELATED)
    shown = dict.fromkeys(related)
    facts = care_team.unit_sharing(
        s.conn, unit_id=me.unit_id, provider_id=me.provider_id, staff_id=me.staff_id, now=now
    )
    for pid, sharing in facts.items():
        if pid in shown:
            continue
        decision = s.decisions.setdefault(pid, decide(me, sharing, now))
        if decision.allowed:
            shown[pid] = None
    return list(shown)


def patient_or_404(
    caller: Caller, s: Session, patient_id: UUID, *, own: bool = False
) -> PatientRecord:
    """The patient, if she exists and the caller may see her; 404 (the same) otherwise.

    ``own``: what only her own health centre (or the region's administrators) does, since its
    provider runs her monitoring: her devices, rules, monitoring pause, discharge and app
    access. Another unit that sees her (consent, emergency) is refused with 403."""
    found = patients.patient_in_scope(s.conn, patient_id, health_centre_id=None)
    if found is None:
        raise not_found("patient", patient_id)
    require_patient(caller, s, patient_id)
    if own and caller.scope not in (None, found.health_centre_id):
        raise forbidden("only her own health centre does this; your unit shares her care")
    return found


def start_emergency(caller: Caller, s: Session, patient_id: UUID, reason: str) -> EmergencyAccess:
    """The caller's emergency access to a patient she does not see, for
    ``EMERGENCY_ACCESS_DURATION``, with its reason (API and console alike). Refused: a reason
    too short (422), no such patient (404), her block against the caller's provider (403: an
    emergency does not lift a block), a patient the caller sees already (409)."""
    reason = reason.strip()
    if not REASON_MIN_CHARS <= len(reason) <= REASON_MAX_CHARS:
        raise invalid(f"reason: say why, in {REASON_MIN_CHARS} to {REASON_MAX_CHARS} characters")
    if patients.patient_in_scope(s.conn, patient_id, health_centre_id=None) is None:
        raise not_found("patient", patient_id)
    decision = decisions(caller, s, [patient_id])[patient_id]
    if decision.refusal == "blocked":
        s.record("emergency_access", patient_id, patient_id=patient_id)
        raise forbidden(
            "she has blocked sharing with your care provider: an emergency does not lift a "
            "block, only she can"
        )
    if decision.allowed:
        raise conflict(f"you have access already ({decision.basis})")
    now = caller.now()
    access = care_team.start_emergency(
        s.conn,
        staff_id=caller.principal.staff_id,
        patient_id=patient_id,
        reason=reason,
        now=now,
        expires_at=now + EMERGENCY_ACCESS_DURATION,
    )
    s.decisions[patient_id] = Decision(basis="emergency")
    s.record("emergency_access", access.id, patient_id=patient_id)
    return access
