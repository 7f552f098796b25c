#!/bin/sh
# A PostgreSQL cluster in /var/lib/postgresql/data: made at first start (POSTGRES_USER owning
# POSTGRES_DB, password authentication from the network), then the server in the foreground.
set -eu
PGDATA=/var/lib/postgresql/data
BIN=/usr/lib/postgresql/15/bin
if [ ! -s "$PGDATA/PG_VERSION" ]; then
  : "${POSTGRES_PASSWORD:?set POSTGRES_PASSWORD}"
  "$BIN/initdb" -D "$PGDATA" -U postgres --auth-local=peer --auth-host=scram-sha-256 >/dev/null
  echo "listen_addresses = '*'" >> "$PGDATA/postgresql.conf"
  echo "host all all all scram-sha-256" >> "$PGDATA/pg_hba.conf"
  "$BIN/pg_ctl" -D "$PGDATA" -o "-c listen_addresses=''" -w start >/dev/null
  psql -v ON_ERROR_STOP=1 -q -U postgres <<SQL
CREATE ROLE "${POSTGRES_USER:-hub}" LOGIN PASSWORD '${POSTGRES_PASSWORD}';
CREATE DATABASE "${POSTGRES_DB:-studyhub}" OWNER "${POSTGRES_USER:-hub}";
SQL
  "$BIN/pg_ctl" -D "$PGDATA" -m fast -w stop >/dev/null
fi
exec "$BIN/postgres" -D "$PGDATA"
