#!/usr/bin/env bash
# First start of the postgres container (/docker-entrypoint-initdb.d): create the five databases and roles with the
# passwords from the environment. Runs only when the data volume is empty.
set -euo pipefail
for service in catalogue intake digitisation payments reporting; do
  var="${service^^}_DB_PASSWORD"
  [ -n "${!var:-}" ] || { echo "$var is not set" >&2; exit 1; }
done
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
  -v catalogue_password="$CATALOGUE_DB_PASSWORD" \
  -v intake_password="$INTAKE_DB_PASSWORD" \
  -v digitisation_password="$DIGITISATION_DB_PASSWORD" \
  -v payments_password="$PAYMENTS_DB_PASSWORD" \
  -v reporting_password="$REPORTING_DB_PASSWORD" \
  -f /motcua/init.sql
