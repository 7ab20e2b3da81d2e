"""The patient's own app in the browser (docs/patient.md), under ``/mitt``: her values and
targets, her alerts in words, "please contact me", secure messages, questionnaires, what
matters to her and her access log; Swedish by default, English.

Server-rendered by the console's machinery (its templates, i18n, chart code, security
headers and CSRF check), with a session of her own (``hemkoll.api.mitt.access``).
"""

from __future__ import annotations

from fastapi import FastAPI

from hemkoll.api.mitt import about, answers, auth, contact, home

ROUTERS = (auth.router, home.router, contact.router, answers.router, about.router)


def install(app: FastAPI) -> None:
    for router in ROUTERS:
        app.include_router(router)
