"""Errors where the eye is: a console form refused comes back as typed, each message right
after the field it is about (the field aria-invalid and described by it), in the console's
language, saying the allowed range or the rule broken, and never in a library's words. With
and without htmx, against the real database (the console's world, conftest.py)."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest
from fastapi.testclient import TestClient

from hemkoll.store.connect import connect
from tests.console.conftest import ORIGIN, Seeded, sign_in

HTMX = {"Origin": ORIGIN, "HX-Request": "true"}
PLAIN = {"Origin": ORIGIN}
# What pydantic, Python or the rule models would say: none of it may reach a page.
LIBRARY_TEXT = (
    "Value error",
    "validation error",
    "input_value",
    "input_type",
    "[type=",
    "errors.pydantic.dev",
    "tagged-union",
    "function-after",
    "ThresholdRule",
    "threshold rule",
    "must not exceed",
    "is outside what",
    "Input should be",
    "Traceback",
)
# Python field paths (rules.0.red.high, red.low, yellow_sd ...) in the text a person reads.
FIELD_PATH = re.compile(r"\b(?:rules\.\d+|(?:yellow|red)(?:\.|_)(?:low|high|sd|score))\b")
HEART_RATE = {  # the programme's heart-rate rule, as its form shows it
    "rule": "heart_rate",
    "enabled": "on",
    "yellow_low": "50",
    "yellow_high": "100",
    "red_low": "40",
    "red_high": "110",
}


class _Page(HTMLParser):
    """Elements in document order with their attributes, and the text a person reads."""

    VOID = frozenset({"input", "br", "img", "meta", "link", "hr"})

    def __init__(self, html: str) -> None:
        super().__init__()
        self.elements: list[tuple[str, dict[str, str]]] = []
        self.text: dict[int, list[str]] = {}
        self.visible: list[str] = []
        # Where each element's next sibling (or the next element after it) starts.
        self.after: dict[int, int] = {}
        self._open: list[int] = []
        self._skip = 0
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.elements.append((tag, {k: v or "" for k, v in attrs}))
        if tag in {"script", "style", "title"}:
            self._skip += 1
        if tag in self.VOID:
            self.after[len(self.elements) - 1] = len(self.elements)
        else:
            self._open.append(len(self.elements) - 1)

    def handle_endtag(self, tag: str) -> None:
        if tag in {"script", "style", "title"}:
            self._skip -= 1
        if self._open and self.elements[self._open[-1]][0] == tag:
            self.after[self._open.pop()] = len(self.elements)

    def handle_data(self, data: str) -> None:
        for index in self._open:
            self.text.setdefault(index, []).append(data)
        if not self._skip:
            self.visible.append(data)

    def find(self, element_id: str) -> int:
        found = [i for i, (_, attrs) in enumerate(self.elements) if attrs.get("id") == element_id]
        assert len(found) == 1, f"{element_id}: {len(found)} elements"
        return found[0]

    def attrs(self, element_id: str) -> dict[str, str]:
        return self.elements[self.find(element_id)][1]

    def text_of(self, element_id: str) -> str:
        return " ".join("".join(self.text.get(self.find(element_id), [])).split())

    def next_after(self, element_id: str) -> tuple[str, dict[str, str]]:
        return self.elements[self.after[self.find(element_id)]]


def error_beside(html: str, field_id: str) -> str:
    """The message right after a field, which says it is invalid and is described by it."""
    page = _Page(html)
    field = page.attrs(field_id)
    tag, message = page.next_after(field_id)
    assert tag == "p", (field_id, tag, message)
    assert message.get("class") == "field-error", message
    assert field.get("aria-invalid") == "true", field
    assert message["id"] in field.get("aria-describedby", "").split(), field
    return page.text_of(message["id"])


def assert_no_library_text(html: str) -> None:
    page = _Page(html)
    text = " ".join(page.visible)
    for words in LIBRARY_TEXT:
        assert words not in html, words
    assert not FIELD_PATH.search(text), FIELD_PATH.search(text)


@pytest.fixture
def thresholds(client: TestClient, seeded: Seeded) -> str:
    sign_in(client, seeded.world.a.tokens["clinician"])
    return f"/console/patients/{seeded.world.a.patient_id}/thresholds"


def test_an_out_of_range_threshold_is_shown_beside_its_field_with_the_range(
    client: TestClient, thresholds: str, db_url: str
) -> None:
    typed = {**HEART_RATE, "yellow_low": "45", "yellow_high": "400"}
    answer = client.post(f"{thresholds}/preview", data=typed, headers=PLAIN)
    assert answer.status_code == 422
    html = answer.text
    assert '<html lang="sv">' in html  # the whole page again, without JavaScript
    assert error_beside(html, "field-yellow_high") == "Ange ett värde mellan 20 och 300 slag/min."
    # The range is the metric's plausible range, the one ThresholdRule validates with.
    page = _Page(html)
    assert page.attrs("field-yellow_high")["value"] == "400"  # as typed, not the saved 100
    assert page.attrs("field-yellow_low")["value"] == "45"
    assert "aria-invalid" not in page.attrs("field-yellow_low")
    assert "checked" in page.attrs("field-enabled")
    assert "Något behöver rättas" in page.text_of("messages")
    assert 'id="preview-heading"' not in html
    assert_no_library_text(html)
    with connect(db_url) as conn:
        assert conn.execute("SELECT count(*) FROM rule_overrides").fetchone() == (0,)
        audit = conn.execute(
            "SELECT status, patient_id IS NOT NULL FROM audit_log WHERE action = %s",
            ("POST /console/patients/{patient_id}/thresholds/preview",),
        ).fetchall()
    assert audit == [(422, True)]


def test_the_range_in_english_and_every_field_at_once(client: TestClient, thresholds: str) -> None:
    client.post("/console/language", data={"lang": "en"}, headers=PLAIN)
    typed = {**HEART_RATE, "yellow_low": "abc", "red_high": "301", "red_low": "1,5"}
    html = client.post(f"{thresholds}/preview", data=typed, headers=PLAIN).text
    assert '<html lang="en">' in html
    expected = "Enter a value between 20 and 300 beats/min."
    for field in ("field-yellow_low", "field-red_high", "field-red_low"):
        assert error_beside(html, field) == expected
    assert _Page(html).attrs("field-red_low")["value"] == "1,5"
    assert_no_library_text(html)


def test_a_red_limit_inside_the_yellow_band_is_shown_beside_the_red_limit(
    client: TestClient, thresholds: str
) -> None:
    answer = client.post(
        f"{thresholds}/preview", data={**HEART_RATE, "red_low": "55"}, headers=HTMX
    )
    assert answer.status_code == 422
    # htmx: the edit form alone, swapped in place of the one posted; the stale preview cleared.
    assert answer.headers["hx-retarget"] == "#edit"
    assert answer.headers["hx-reswap"] == "outerHTML"
    html = answer.text
    assert "<html" not in html
    assert html.startswith('<section id="edit"')
    assert '<section id="preview" hx-swap-oob="innerHTML"></section>' in html
    assert error_beside(html, "field-red_low") == (
        "Röd nedre gräns får inte vara högre än gul nedre gräns (50 slag/min)."
    )
    assert _Page(html).attrs("field-red_low")["value"] == "55"
    assert "data-focus" in _Page(html).attrs("field-red_low")  # htmx moves focus to it
    assert_no_library_text(html)


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        # The yellow limit moved into the red one: the message goes beside what was changed.
        (
            {"yellow_low": "35"},
            "yellow_low",
            "Gul nedre gräns får inte vara lägre än röd nedre gräns (40 slag/min).",
        ),
        (
            {"red_high": "95"},
            "red_high",
            "Röd övre gräns får inte vara lägre än gul övre gräns (100 slag/min).",
        ),
        (
            {"yellow_high": "45"},
            "yellow_high",
            "Den övre gränsen måste vara högre än den nedre (50 slag/min).",
        ),
        (
            {"yellow_low": "120"},
            "yellow_low",
            "Den nedre gränsen måste vara lägre än den övre (100 slag/min).",
        ),
    ],
)
def test_each_limit_broken_says_which(
    client: TestClient, thresholds: str, change: dict[str, str], field: str, message: str
) -> None:
    html = client.post(f"{thresholds}/preview", data={**HEART_RATE, **change}, headers=PLAIN).text
    assert error_beside(html, f"field-{field}") == message
    assert_no_library_text(html)


def test_a_rule_without_levels_and_a_change_rule_out_of_bounds(
    client: TestClient, thresholds: str
) -> None:
    empty = {**HEART_RATE, "yellow_low": "", "yellow_high": "", "red_low": "", "red_high": ""}
    html = client.post(f"{thresholds}/preview", data=empty, headers=PLAIN).text
    page = _Page(html)
    assert page.text_of("edit-form-error") == "Ange minst en nivå, gul eller röd."
    fieldset = next(a for tag, a in page.elements if tag == "fieldset")
    assert fieldset["aria-describedby"] == "edit-form-error"
    gain = {"rule": "weight_gain_3d", "enabled": "on", "window_days": "40", "yellow": "0"}
    html = client.post(f"{thresholds}/preview", data=gain, headers=PLAIN).text
    # Bounds from ChangeRule's own Field(ge=1, le=MAX_CHANGE_WINDOW_DAYS) and Field(gt=0).
    assert error_beside(html, "field-window_days") == "Ange ett heltal mellan 1 och 31."
    assert error_beside(html, "field-yellow") == "Ange ett värde större än 0 kg."
    red = {**gain, "window_days": "3", "yellow": "2", "red": "1,5"}
    html = client.post(f"{thresholds}/preview", data=red, headers=PLAIN).text
    assert error_beside(html, "field-red") == "Röd nivå får inte vara lägre än gul (2 kg)."
    assert_no_library_text(html)


def test_saving_without_a_reason_shows_the_preview_and_the_error_beside_the_reason(
    client: TestClient, thresholds: str, db_url: str
) -> None:
    proposal = {**HEART_RATE, "yellow_high": "95", "reason": "   "}
    answer = client.post(thresholds, data=proposal, headers=PLAIN, follow_redirects=False)
    assert answer.status_code == 422
    html = answer.text
    assert error_beside(html, "reason") == "Skriv varför regeln ändras."
    page = _Page(html)
    assert page.find("preview-heading")  # the backtest it was saving, again
    assert page.attrs("field-yellow_high")["value"] == "95"
    carried = [a for tag, a in page.elements if tag == "input" and a.get("name") == "yellow_high"]
    assert [a["value"] for a in carried] == ["95", "95"]  # the form and the save form
    assert_no_library_text(html)
    too_long = {**proposal, "reason": "x" * 2001}
    html = client.post(thresholds, data=too_long, headers=PLAIN).text
    assert error_beside(html, "reason") == "Skriv högst 2000 tecken."
    with connect(db_url) as conn:
        assert conn.execute("SELECT count(*) FROM rule_overrides").fetchone() == (0,)


def test_saving_values_the_preview_never_saw_is_refused_beside_them(
    client: TestClient, thresholds: str
) -> None:
    proposal = {**HEART_RATE, "red_high": "95", "reason": "Lägre gräns"}
    answer = client.post(thresholds, data=proposal, headers=PLAIN, follow_redirects=False)
    assert answer.status_code == 422
    assert error_beside(answer.text, "field-red_high").startswith("Röd övre gräns")
    assert_no_library_text(answer.text)


def test_resolving_without_an_outcome_keeps_the_note_and_says_so_beside_the_choice(
    client: TestClient, seeded: Seeded
) -> None:
    sign_in(client, seeded.world.a.tokens["nurse"])
    path = f"/console/alerts/{seeded.trend_alert}/resolve"
    note = "Ringde, mår bra."
    card = client.post(path, data={"outcome": "", "note": note}, headers=HTMX)
    assert card.status_code == 422
    html = card.text
    outcome = f"outcome-{seeded.trend_alert}"
    assert error_beside(html, outcome) == "Välj ett utfall."
    page = _Page(html)
    assert "open" in page.attrs(f"resolve-{seeded.trend_alert}")
    assert page.text_of(f"note-{seeded.trend_alert}") == note
    assert_no_library_text(html)
    whole = client.post(path, data={"outcome": "magic", "note": note}, headers=PLAIN)
    assert whole.status_code == 422
    assert '<html lang="sv">' in whole.text
    assert error_beside(whole.text, outcome) == "Välj ett utfall."
    assert_no_library_text(whole.text)


def test_a_period_that_is_not_one_is_shown_beside_its_date(
    client: TestClient, seeded: Seeded
) -> None:
    sign_in(client, seeded.world.a.tokens["nurse"])
    answer = client.get("/console/follow-up?from=2026-03-10&until=2026-03-01")
    assert answer.status_code == 422
    assert error_beside(answer.text, "from") == (
        "Perioden måste börja samma dag som den slutar eller tidigare."
    )
    assert _Page(answer.text).attrs("until")["value"] == "2026-03-01"
    not_a_date = client.get("/console/follow-up?from=2026-02-30")
    assert not_a_date.status_code == 422
    assert error_beside(not_a_date.text, "from").startswith("Ange ett datum, till exempel ")
    assert _Page(not_a_date.text).attrs("from")["value"] == "2026-02-30"
    for html in (answer.text, not_a_date.text):
        assert_no_library_text(html)


def test_signing_in_without_a_token_says_so_beside_the_field(client: TestClient) -> None:
    answer = client.post("/console/sign-in", data={"token": " "}, headers=PLAIN)
    assert error_beside(answer.text, "token") == "Klistra in din API-nyckel."
    wrong = client.post("/console/sign-in", data={"token": "hk_wrong"}, headers=PLAIN)
    assert error_beside(wrong.text, "token").startswith("Nyckeln känns inte igen")


def test_problem_pages_say_what_went_wrong_without_a_library_s_words(
    client: TestClient, seeded: Seeded
) -> None:
    sign_in(client, seeded.world.a.tokens["clinician"])
    a = seeded.world.a
    for path in (
        "/console/patients/not-a-patient",
        f"/console/patients/{a.patient_id}?days=twelve",
        f"/console/patients/{a.patient_id}?days=12",
    ):
        answer = client.get(path)
        assert answer.status_code == 422, path
        assert "Något behöver rättas" in answer.text
        assert_no_library_text(answer.text)
    tampered = client.post(
        f"/console/patients/{a.patient_id}/thresholds/preview",
        data={"rule": "no_such_rule"},
        headers=HTMX,
    )
    assert tampered.status_code == 422
    assert "no_such_rule" not in tampered.text
    assert_no_library_text(tampered.text)
