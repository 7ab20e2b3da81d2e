"""The tuning preview over a chosen period: optional from/to dates, each error beside its date."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient

from tests.console.conftest import ORIGIN, Seeded, sign_in

HTMX = {"Origin": ORIGIN, "HX-Request": "true"}
PROPOSAL = {
    "rule": "systolic_bp",
    "enabled": "on",
    "yellow_low": "105",
    "yellow_high": "150",
    "red_low": "80",
    "red_high": "170",
}


def _preview(client: TestClient, seeded: Seeded, **period: str) -> tuple[int, str]:
    a = seeded.world.a
    sign_in(client, a.tokens["clinician"])
    answer = client.post(
        f"/console/patients/{a.patient_id}/thresholds/preview",
        data={**PROPOSAL, **period},
        headers=HTMX,
    )
    return answer.status_code, answer.text


def test_the_preview_covers_the_dates_chosen(client: TestClient, seeded: Seeded) -> None:
    today = seeded.today
    status, text = _preview(
        client,
        seeded,
        backtest_from=(today - timedelta(days=20)).isoformat(),
        backtest_until=(today - timedelta(days=10)).isoformat(),
    )
    assert status == 200, text
    first, last = today - timedelta(days=20), today - timedelta(days=10)
    months = ("jan", "feb", "mar", "apr", "maj", "jun", "jul", "aug", "sep", "okt", "nov", "dec")
    shown = f"{first.day} {months[first.month - 1]} \u2013 {last.day} {months[last.month - 1]}"
    assert shown in text
    # Carried to the save form, so that a save refused shows the same period again.
    assert f'name="backtest_from" value="{first.isoformat()}"' in text
    # Empty fields: the last 90 days, as before.
    status, text = _preview(client, seeded)
    assert status == 200
    assert "Senaste 90 dagarna" in text


def test_a_period_refused_says_why_beside_the_date(client: TestClient, seeded: Seeded) -> None:
    today = seeded.today
    cases = {
        "Ange ett datum, till exempel": {"backtest_from": "1 november"},
        "Välj dagens datum eller ett tidigare.": {
            "backtest_until": (today + timedelta(days=2)).isoformat()
        },
        "Perioden måste börja samma dag som den slutar eller tidigare.": {
            "backtest_from": today.isoformat(),
            "backtest_until": (today - timedelta(days=3)).isoformat(),
        },
        "En period är högst 730 dagar.": {
            "backtest_from": (today - timedelta(days=800)).isoformat()
        },
    }
    for message, period in cases.items():
        status, text = _preview(client, seeded, **period)
        assert status == 422, period
        field = next(iter(period)) if len(period) == 1 else "backtest_from"
        assert f'id="field-{field}-error" class="field-error">{message}' in text, period
        assert f'id="field-{field}"' in text
