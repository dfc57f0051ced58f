#!/bin/sh
# Creates or upgrades the PostgreSQL databases of Temporal's server: `temporal` (persistence) and
# `temporal_visibility` (visibility), each set up at version 0.0 and then updated to the newest versioned schema
# the server ships. Safe to run again: a database that exists is kept and only missing versions are applied.
# The same steps for `make test-cluster` (dev/services/cluster.ts, with the tool built by
# dev/ensure-temporal-server.sh) and docker-compose.yml (the temporal-schema one-shot, in temporalio/admin-tools).
# Environment: SQL_HOST, SQL_PORT, SQL_USER, SQL_PASSWORD (read by temporal-sql-tool itself);
# TEMPORAL_SQL_TOOL (default: temporal-sql-tool on PATH); TEMPORAL_SCHEMA_DIR (default: /etc/temporal/schema,
# where the admin-tools image keeps the schemas).
set -eu

tool=${TEMPORAL_SQL_TOOL:-temporal-sql-tool}
schemas=${TEMPORAL_SCHEMA_DIR:-/etc/temporal/schema}/postgresql/v12

# The tool logs every statement at debug level: its output is shown only when a step fails.
log=$(mktemp)
trap 'rm -f "$log"' EXIT
step() {
  if ! "$tool" --plugin postgres12 "$@" >"$log" 2>&1; then
    cat "$log" >&2
    echo "temporal-schema: failed: $tool --plugin postgres12 $*" >&2
    exit 1
  fi
}

for pair in temporal:temporal temporal_visibility:visibility; do
  database=${pair%%:*}
  schema=${pair#*:}
  # create-database fails when the database exists, the normal case on every start after the first.
  "$tool" --plugin postgres12 --db "$database" create-database >/dev/null 2>&1 || echo "temporal-schema: database $database exists"
  step --db "$database" setup-schema -v 0.0
  step --db "$database" update-schema -d "$schemas/$schema/versioned"
done
echo "temporal-schema: temporal and temporal_visibility are at the newest schema"
