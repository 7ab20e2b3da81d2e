"""The patient app in Debian's Chromium (the console's browser fixtures): she signs in with an
enrolment code on a phone, reads her chart, answers the weekly questionnaire and asks for
contact; a nurse sees it in the console's worklist and answers; she reads the answer. Each
step is checked with axe (WCAG 2.1 AA) and kept as a screenshot (test-artifacts/console)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx

from hemkoll.simulator.receiver.server import ThreadedServer
from tests.api.conftest import World, world
from tests.console.browser import Tab, browser, server, shots, sign_in

__all__ = ["browser", "server", "shots", "world"]
PHONE = {"width": 390, "height": 844}


def test_patient_asks_for_contact_and_reads_the_nurses_answer(
    browser: Any, server: ThreadedServer, world: World, shots: Path
) -> None:
    base = server.base_url
    issued = httpx.post(
        f"{base}/api/v1/patients/{world.a.patient_id}/patient-codes",
        headers={"Authorization": f"Bearer {world.a.tokens['nurse']}"},
    )
    code = issued.json()["code"]
    her = browser.new_context(viewport=PHONE, locale="sv-SE")
    tab = Tab(her.new_page(), shots)
    page = tab.page
    page.goto(f"{base}/mitt/")
    page.get_by_label("Kod").fill(code)
    page.get_by_role("button", name="Logga in").click()
    page.get_by_role("heading", name="Dina värden").wait_for()
    tab.axe()
    tab.shot("mitt-home")
    page.get_by_role("link", name="Frågor").click()
    page.get_by_role("link", name="Veckans hälsa").click()
    page.get_by_label("Bra", exact=True).check()
    page.get_by_role("button", name="Skicka svaren").click()
    page.get_by_text("Besvarad, inget att göra nu.").wait_for()
    page.get_by_role("link", name="Kontakta mig").click()
    page.get_by_label("Mycket orolig").check()
    page.get_by_label("Vad gäller det? (om du vill)").fill("Svullna ben sedan i går")
    tab.axe()
    page.get_by_role("button", name="Be om kontakt").click()
    page.get_by_text("Mottagen: din vårdcentral har fått den.").wait_for()
    tab.shot("mitt-contact")

    nurse = browser.new_context(viewport={"width": 1024, "height": 768}, locale="sv-SE")
    staff = Tab(nurse.new_page(), shots)
    sign_in(staff, base, world.a.tokens["nurse"])
    staff.page.get_by_text("Svullna ben sedan i går").wait_for()
    staff.shot("console-worklist-contact-request")
    staff.page.get_by_role("link", name="Patient PA-0001").first.click()
    staff.page.get_by_label("Nytt meddelande till patienten").fill("Vi ringer dig före tio.")
    staff.page.get_by_role("button", name="Skicka", exact=True).last.click()
    staff.page.get_by_text("Vi ringer dig före tio.").wait_for()

    page.get_by_role("link", name="Meddelanden").click()
    page.get_by_text("Vi ringer dig före tio.").wait_for()
    tab.axe()
    tab.shot("mitt-messages")
    page.get_by_role("link", name="Kontakta mig").click()
    page.get_by_text("Sedd: din sjuksköterska har läst den och hör av sig.").wait_for()
    her.close()
    nurse.close()
