#!/bin/sh
# First start of the database container (docker-entrypoint-initdb.d; runs once, on an empty
# data directory, after the image's own TimescaleDB set-up): the schema owner, its database and
# the extension. The owner runs `hemkoll migrate`; creating the extension needs a superuser,
# so it is done here and the first migration finds it. For an existing cluster, run the same
# statements by hand (docs/operations.md).
set -eu
: "${HEMKOLL_DB_OWNER_PASSWORD:?HEMKOLL_DB_OWNER_PASSWORD is not set}"

psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres \
     -v owner_password="$HEMKOLL_DB_OWNER_PASSWORD" <<'SQL'
CREATE ROLE hemkoll_owner LOGIN PASSWORD :'owner_password';
CREATE DATABASE hemkoll OWNER hemkoll_owner;
\connect hemkoll
CREATE EXTENSION IF NOT EXISTS timescaledb;
SQL
