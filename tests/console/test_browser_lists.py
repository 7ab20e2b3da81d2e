"""The patient list and the worklist's filters in Chromium (tests/console/browser.py), at
tablet size and by keyboard only (Tab, typing, arrow keys, Enter): a nurse searches the patient
list and sorts it by open alerts; filters the worklist to her own yellow alerts; finds a
patient's cards grouped under her and acknowledges her three reminders together. Every step
is checked with axe-core; screenshots 30-34 go to the artifacts."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from hemkoll.simulator.receiver.server import ThreadedServer
from hemkoll.store import patients
from hemkoll.store.connect import connect
from tests.api.conftest import make_alert
from tests.console.browser import LANDSCAPE, PORTRAIT, Tab, scalar, sign_in
from tests.console.conftest import Seeded, add_reminders

MAX_TABS = 200


def tab_to(page: Any, selector: str) -> None:
    """Press Tab until the element ``selector`` has the focus (as a keyboard user would)."""
    for _ in range(MAX_TABS):
        page.keyboard.press("Tab")
        if page.evaluate("s => document.activeElement?.matches(s) ?? false", selector):
            return
    raise AssertionError(f"Tab never reached {selector}")


def _world(db_url: str, seeded: Seeded) -> list[Any]:
    """PA-0002 (nothing), PA-0003 (two red alerts), PA-0001's three reminders and her weight
    trend alert given to the nurse."""
    a = seeded.world.a
    with connect(db_url) as conn, conn.transaction():
        for reference in ("PA-0002", "PA-0003"):
            made = patients.create_patient(
                conn,
                health_centre_id=a.id,
                reference=reference,
                language="sv",
                timezone="Europe/Stockholm",
            )
        make_alert(conn, made.id, "red", rule_id="spo2_urgent")
        make_alert(conn, made.id, "red", rule_id="systolic_bp_urgent")
        reminders = add_reminders(
            conn, a.patient_id, opened_at=datetime.now(UTC) - timedelta(hours=5)
        )
        conn.execute(
            "UPDATE alerts SET assigned_to = %s WHERE id = %s",
            (a.staff_ids["nurse"], seeded.trend_alert),
        )
    return reminders


def test_a_nurse_searches_sorts_filters_and_acknowledges_reminders_by_keyboard(
    server: ThreadedServer, browser: Any, seeded: Seeded, db_url: str, shots: Path
) -> None:
    world, base = seeded.world, server.base_url
    reminders = _world(db_url, seeded)
    context = browser.new_context(viewport=PORTRAIT, locale="sv-SE")
    tab = Tab(context.new_page(), shots)
    page = tab.page
    sign_in(tab, base, world.a.tokens["nurse"])
    page.get_by_role("heading", name=re.compile("Arbetslista")).wait_for()

    # The patient list, from the menu; search by part of a reference.
    tab_to(page, 'nav a[href="/console/patients"]')
    page.keyboard.press("Enter")
    page.get_by_role("heading", name=re.compile("Patienter")).wait_for()
    tab_to(page, "#patient-search")
    page.keyboard.type("pa-000")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"q=pa-000"))
    rows = page.locator("table.patient-list tbody tr")
    assert rows.count() == 3
    first = rows.first.inner_text()
    assert "PA-0001" in first
    assert "+3,5 kg över vanlig" in first
    assert "126/79 mmHg" in first
    assert page.locator("#patient-search").input_value() == "pa-000"
    tab.axe()
    tab.shot("30-patients-searched-portrait")

    # Sorted by open alerts, most first: the header says so, the search stays.
    tab_to(page, "#sort-alerts")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"sort=alerts"))
    assert "q=pa-000" in page.url
    header = page.locator("th[aria-sort]")
    assert header.count() == 1
    assert header.get_attribute("aria-sort") == "descending"
    assert rows.first.locator("th").inner_text().startswith("PA-0003")
    assert "2 röda" in rows.first.inner_text()
    tab.axe()
    page.set_viewport_size(LANDSCAPE)
    tab.shot("31-patients-sorted-by-alerts-landscape")
    page.set_viewport_size(PORTRAIT)

    # The worklist filtered to the nurse's own yellow alerts.
    tab_to(page, 'nav a[href="/console/worklist"]')
    page.keyboard.press("Enter")
    page.get_by_role("heading", name=re.compile("Arbetslista")).wait_for()
    cards = page.locator("#worklist li.card")
    assert cards.count() == 7
    tab_to(page, "#filter-assigned")
    page.keyboard.press("ArrowDown")  # Mina
    tab_to(page, "#filter-severity")
    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowDown")  # Gul
    tab_to(page, "#filter-apply")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"assigned=me&severity=yellow"))
    assert cards.count() == 1
    assert page.locator(f"#alert-{seeded.trend_alert}").count() == 1
    assert page.locator("#worklist-shown").inner_text() == "1 visas med filtren"
    assert page.locator("#worklist-count").inner_text() == "7 larm"
    assert page.locator("#worklist").get_attribute("hx-get") == (
        "/console/worklist/rows?assigned=me&severity=yellow"
    )
    tab.axe()
    tab.shot("32-worklist-mine-yellow")

    # All again: PA-0001's five cards under one heading, red first, and her reminders.
    tab_to(page, "#filter-clear")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/console/worklist$"))
    pid = world.a.patient_id
    group = page.locator(f"#patient-{pid}")
    assert group.locator("h2").count() == 1
    assert group.locator("li.card").count() == 5
    assert "sev-red" in (group.locator("li.card").first.get_attribute("class") or "")
    button = page.locator(f"#ack-reminders-{pid}")
    assert button.inner_text() == "Kvittera påminnelser (3)"
    tab.axe()
    tab.shot("33-worklist-grouped-by-patient")

    # Her three reminders acknowledged in one go; focus lands on her heading.
    tab_to(page, f"#ack-reminders-{pid}")
    page.keyboard.press("Enter")
    page.locator("#messages").get_by_text("3 påminnelser för PA-0001 är kvitterade.").wait_for()
    page.wait_for_function(
        "id => document.activeElement?.id === id", arg=f"group-{pid}", timeout=5000
    )
    assert page.locator(f"#ack-reminders-{pid}").count() == 0
    for reminder in reminders:
        state = scalar(db_url, "SELECT state FROM alerts WHERE id = %s", reminder)
        assert state == "acknowledged"
    tab.axe()
    tab.shot("34-reminders-acknowledged")
    context.close()
