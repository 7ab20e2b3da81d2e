"""The care team's console in the browser: the worklist, patients' charts, threshold tuning
with a backtest, and the programme follow-up, in Swedish and English (docs/console.md).

Server-rendered (Jinja2 templates, inline SVG charts) with htmx for the parts that change in
place; no build step. Served by the API process under ``/console``, through the same roles,
health-centre scope and audit log as the API (``hemkoll.api.access``).
"""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from hemkoll.api.console import (
    access_review,
    auth,
    contact_log,
    emergency,
    follow_up,
    oidc,
    patient,
    patient_list,
    patient_side,
    reminders,
    summary,
    tuning,
    worklist,
)
from hemkoll.api.console.web import STATIC

ROUTERS = (
    auth.router,
    oidc.router,
    worklist.router,
    reminders.router,
    patient_list.router,
    patient.router,
    patient_side.router,
    emergency.router,
    contact_log.router,
    summary.router,
    tuning.router,
    follow_up.router,
    access_review.router,
)


def install(app: FastAPI) -> None:
    """Add the console's pages and its static files (htmx, style sheet, script) to the API."""
    for router in ROUTERS:
        app.include_router(router)
    app.mount(
        STATIC,
        StaticFiles(packages=[("hemkoll.api.console", "static")]),
        name="console-static",
    )
