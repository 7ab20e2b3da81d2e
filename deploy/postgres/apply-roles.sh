#!/bin/sh
# The services' database roles: deploy/postgres/roles.sql (roles and exactly their
# privileges), then each role's password from the environment. Idempotent: run after every
# `hemkoll migrate` (compose's db-roles service does; so does hemkoll-migrate.service).
#
# Connection: the libpq variables (PGHOST, PGUSER, PGDATABASE, PGPASSWORD), as a superuser.
# Passwords: HEMKOLL_DB_{INGEST,RULES,DISPATCH,API,BROKER_AUTH}_PASSWORD; one that is unset
# or empty leaves that role's password as it is (peer or certificate authentication).
set -eu
here="$(cd "$(dirname "$0")" && pwd)"

psql -v ON_ERROR_STOP=1 --quiet -f "$here/roles.sql"

set_password() {
    role="$1"
    password="$2"
    [ -n "$password" ] || return 0
    # psql quotes the value (:'password'), so no password can break out of the literal.
    printf '%s\n' "ALTER ROLE $role PASSWORD :'password';" |
        psql -v ON_ERROR_STOP=1 --quiet -v password="$password"
}

set_password hemkoll_ingest "${HEMKOLL_DB_INGEST_PASSWORD:-}"
set_password hemkoll_rules "${HEMKOLL_DB_RULES_PASSWORD:-}"
set_password hemkoll_dispatch "${HEMKOLL_DB_DISPATCH_PASSWORD:-}"
set_password hemkoll_api "${HEMKOLL_DB_API_PASSWORD:-}"
set_password hemkoll_broker_auth "${HEMKOLL_DB_BROKER_AUTH_PASSWORD:-}"
echo "hemkoll roles and privileges applied"
