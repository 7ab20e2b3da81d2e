"""The deterioration index on the console (issue 14): the patient page's chart of her score with
the opening and recovery levels and the days the index was open, shown with the rule off, an
honest empty state without a baseline; the tuning form's index levels, refused beside their
field when they cannot be; and a backtest of a lower opening level flagging more days."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient

from hemkoll.api.console.index_chart import load
from hemkoll.api.console.patient_charts import local_days
from hemkoll.rules.preset import DETERIORATION_DRIFT, DETERIORATION_INDEX
from hemkoll.store.connect import connect
from tests.console.conftest import ORIGIN, TZ, Seeded, sign_in
from tests.console.test_form_errors import assert_no_library_text, error_beside

HTMX = {"Origin": ORIGIN, "HX-Request": "true"}
RULE = DETERIORATION_INDEX.id


def _section(html: str, start: str, end: str) -> str:
    return html[html.index(start) : html.index(end, html.index(start))]


def test_the_page_charts_her_index_with_both_levels_or_says_there_is_none_yet(
    client: TestClient, seeded: Seeded, db_url: str
) -> None:
    a, b = seeded.world.a, seeded.world.b
    sign_in(client, a.tokens["nurse"])
    page = client.get(f"/console/patients/{a.patient_id}?days=30")
    assert page.status_code == 200, page.text
    index = _section(page.text, '<section id="index"', "</section>")
    assert 'id="chart-index"' in index
    # On in the programme (v3): not said to be off.
    assert "Av för patienten: indexet visas men larmar inte." not in index
    # Both levels as lines, named in the legend.
    assert re.search(r'<line class="limit-yellow"[^>]*><title>Öppnar vid 7,0</title>', index)
    assert re.search(r'<line class="limit-recovery"[^>]*><title>Stängs under 3,5</title>', index)
    # A point per day with a score, the days the index was open marked beneath.
    with connect(db_url) as conn:
        now = datetime.now(UTC)
        days = local_days(now.astimezone(TZ).date(), 30)
        (found,) = load(
            conn, a.patient_id, [DETERIORATION_INDEX], first_day=days[0], tz=TZ, now=now
        )
    shown = [d for d in found.days if d.day >= days[0]]
    assert shown
    assert any(d.baseline for d in shown)
    assert index.count('class="dot-0"') == len(shown)
    assert index.count("track-index_open") == sum(d.open for d in shown)
    assert "Inget index än" not in index
    # Each index of the programme has its own section, named by its windows, so the fast and
    # the slow-drift index (and their alerts) can be told apart.
    assert '<h2 id="index-heading">Försämringsindex: 3 d mot egna 21 d</h2>' in index
    drift = _section(page.text, f'<section id="index-{DETERIORATION_DRIFT.id}"', "</section>")
    assert (
        f'<h2 id="index-heading-{DETERIORATION_DRIFT.id}">Försämringsindex: 7 d mot egna 28 d</h2>'
        in drift
    )
    assert f'id="chart-index-{DETERIORATION_DRIFT.id}"' in drift
    assert 'id="chart-index"' not in drift
    # In English too.
    client.post("/console/language", data={"lang": "en"}, headers={"Origin": ORIGIN})
    english = client.get(f"/console/patients/{a.patient_id}?days=30").text
    index_en = _section(english, '<section id="index"', "</section>")
    assert "Off for her: the index is shown but does not alert." not in index_en
    assert "<title>Opens at 7.0</title>" in index_en
    assert "<title>Closes below 3.5</title>" in index_en
    client.post("/console/language", data={"lang": "sv"}, headers={"Origin": ORIGIN})

    # A patient with no readings: no chart, and why.
    sign_in(client, b.tokens["nurse"])
    empty = client.get(f"/console/patients/{b.patient_id}")
    assert empty.status_code == 200
    section = _section(empty.text, '<section id="index"', "</section>")
    assert 'id="chart-index"' not in section
    assert "Inget index än: det behöver minst 7 dagars mätningar" in section


def _preview(client: TestClient, seeded: Seeded, **fields: str) -> tuple[int, str]:
    a = seeded.world.a
    sign_in(client, a.tokens["clinician"])
    answer = client.post(
        f"/console/patients/{a.patient_id}/thresholds/preview",
        data={"rule": RULE, **fields},
        headers=HTMX,
    )
    return answer.status_code, answer.text


@pytest.mark.parametrize(
    ("fields", "field_id", "message"),
    [
        (
            {"opening": "3", "recovery": "3.5"},
            "field-opening",
            "Öppningsnivån måste vara högre än återhämtningsnivån (3,5).",
        ),
        (
            {"opening": "7", "recovery": "8"},
            "field-recovery",
            "Återhämtningsnivån måste vara lägre än öppningsnivån (7).",
        ),
        ({"opening": "0", "recovery": "3.5"}, "field-opening", "Ange ett värde större än 0."),
        ({"opening": "7", "recovery": "-1"}, "field-recovery", "Ange ett värde större än 0."),
        ({"opening": "sju", "recovery": "3.5"}, "field-opening", "Ange ett värde större än 0."),
    ],
)
def test_the_index_levels_are_refused_beside_their_field(
    client: TestClient, seeded: Seeded, fields: dict[str, str], field_id: str, message: str
) -> None:
    status, text = _preview(client, seeded, enabled="on", **fields)
    assert status == 422, text
    assert error_beside(text, field_id) == message
    assert_no_library_text(text)


def test_a_lower_opening_level_flags_more_days_and_once_saved_the_page_marks_them(
    client: TestClient, seeded: Seeded, db_url: str
) -> None:
    a = seeded.world.a
    sign_in(client, a.tokens["clinician"])
    form = client.get(f"/console/patients/{a.patient_id}/thresholds?rule={RULE}")
    assert re.search(r'name="opening"[^>]*value="7"', form.text)
    assert re.search(r'name="recovery"[^>]*value="3.5"', form.text)
    assert "Öppnar vid poäng" in form.text

    def proposed_days(opening: str, recovery: str) -> int:
        status, text = _preview(client, seeded, enabled="on", opening=opening, recovery=recovery)
        assert status == 200, text
        chart = _section(text, 'id="chart-index-backtest"', "</figure>")
        assert f"förslag: Öppnar vid {opening.replace('.', ',')}" in chart
        days = set(re.findall(r'track-proposed" points="([\d.]+),', chart))
        return len(days)

    as_is = proposed_days("7.0", "3.5")
    lower = proposed_days("2.0", "1.0")
    assert lower > as_is

    # Saved, on for her at the lower level: the page draws it and marks the days it was open.
    saved = client.post(
        f"/console/patients/{a.patient_id}/thresholds",
        data={"rule": RULE, "enabled": "on", "opening": "2", "recovery": "1", "reason": "test"},
        headers={"Origin": ORIGIN},
        follow_redirects=False,
    )
    assert saved.status_code == 303, saved.text
    page = client.get(f"/console/patients/{a.patient_id}?days=90")
    index = _section(page.text, '<section id="index"', "</section>")
    assert 'id="index-off"' not in index
    assert re.search(r'<line class="limit-yellow"[^>]*><title>Öppnar vid 2,0</title>', index)
    lowered = DETERIORATION_INDEX.model_copy(
        update={"enabled": True, "yellow": 2.0, "recovery": 1.0}
    )
    with connect(db_url) as conn:
        now = datetime.now(UTC)
        days = local_days(now.astimezone(TZ).date(), 90)
        (found,) = load(conn, a.patient_id, [lowered], first_day=days[0], tz=TZ, now=now)
    open_days = [d for d in found.open_days if d >= days[0]]
    assert len(open_days) >= lower
    assert index.count("track-index_open") == len(open_days)
