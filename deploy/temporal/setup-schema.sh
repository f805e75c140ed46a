#!/bin/sh
# Creates Temporal's two Postgres databases if missing and brings both schemas to the version this
# server release expects, with the server's own schema tool (temporal-sql-tool). Idempotent: run it
# before every server start or upgrade (the schema job of docker-compose.yml and deploy/k8s/, and the
# topology test). Needs: SQL_HOST, SQL_PORT, SQL_USER, SQL_PASSWORD (read by the tool itself),
# TEMPORAL_SCHEMA_DIR (schema/postgresql/v12 of the server module; /etc/temporal/schema/postgresql/v12
# in the admin-tools image), optionally TEMPORAL_SQL_TOOL, TEMPORAL_DB, TEMPORAL_VISIBILITY_DB.
set -eu
tool=${TEMPORAL_SQL_TOOL:-temporal-sql-tool}
schema=${TEMPORAL_SCHEMA_DIR:?set TEMPORAL_SCHEMA_DIR to schema/postgresql/v12 of the server module}
export SQL_PLUGIN=postgres12

for target in "${TEMPORAL_DB:-temporal}:temporal" "${TEMPORAL_VISIBILITY_DB:-temporal_visibility}:visibility"; do
  db=${target%%:*}
  dir=$schema/${target##*:}/versioned
  if out=$("$tool" --db "$db" create-database 2>&1); then
    echo "created database $db"
  elif echo "$out" | grep -q 'already exists'; then
    echo "database $db exists"
  else
    echo "$out" >&2
    exit 1
  fi
  # Version tables at 0.0 (skipped when the schema is newer), then every versioned step up to the latest.
  "$tool" --db "$db" setup-schema -v 0.0
  "$tool" --db "$db" update-schema -d "$dir"
  echo "database $db: schema up to date ($dir)"
done
