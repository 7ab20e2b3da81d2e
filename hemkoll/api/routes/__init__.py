"""The API's routes, one module per resource, each under ``PREFIX``.

The prefix is given to each module's router (not at inclusion) so that a route's own path is
its full template, which the audit log records as the action (e.g. ``GET /api/v1/alerts``).
"""

PREFIX = "/api/v1"
