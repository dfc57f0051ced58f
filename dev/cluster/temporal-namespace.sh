#!/bin/sh
# Makes the namespace our workflows run in, with the retention and the search attributes they need, through
# Temporal's operator API (the `temporal` CLI). Safe to run again: what exists is kept, retention is set again.
# The same step for `make test-cluster` (dev/services/cluster.ts, with the CLI built by dev/ensure-temporal.sh)
# and docker-compose.yml (the temporal-namespace one-shot, in temporalio/admin-tools).
# Environment: TEMPORAL_ADDRESS (the frontend), TEMPORAL_CLI (default: temporal on PATH),
# TEMPORAL_NAMESPACE (default: default), TEMPORAL_NAMESPACE_RETENTION (default 720h: closed cases stay
# inspectable for 30 days), TEMPORAL_SEARCH_ATTRIBUTES ("Name=Type ...", the list in workflows/ids.ts).
set -eu

cli=${TEMPORAL_CLI:-temporal}
namespace=${TEMPORAL_NAMESPACE:-default}
retention=${TEMPORAL_NAMESPACE_RETENTION:-720h}
: "${TEMPORAL_ADDRESS:?set TEMPORAL_ADDRESS (the frontend, host:port)}"
: "${TEMPORAL_SEARCH_ATTRIBUTES:?set TEMPORAL_SEARCH_ATTRIBUTES (Name=Type ..., see workflows/ids.ts)}"

# Tries a command for up to a minute: the frontend may still be joining the cluster, and a new namespace reaches
# every frontend's cache only within seconds.
retry() {
  tries=0
  until "$@" >/tmp/temporal-namespace.$$ 2>&1; do
    tries=$((tries + 1))
    if [ "$tries" -ge 60 ]; then
      cat /tmp/temporal-namespace.$$ >&2
      rm -f /tmp/temporal-namespace.$$
      echo "temporal-namespace: gave up on: $*" >&2
      return 1
    fi
    sleep 1
  done
  rm -f /tmp/temporal-namespace.$$
}

retry "$cli" operator cluster health
if ! "$cli" operator namespace describe --namespace "$namespace" >/dev/null 2>&1; then
  retry "$cli" operator namespace create --namespace "$namespace" --retention "$retention"
fi
retry "$cli" operator namespace update --namespace "$namespace" --retention "$retention"

# The attributes the namespace has: a name already there (from an earlier run) is not created again.
existing=$("$cli" operator search-attribute list --namespace "$namespace")
for attribute in $TEMPORAL_SEARCH_ATTRIBUTES; do
  name=${attribute%%=*}
  type=${attribute#*=}
  if printf '%s\n' "$existing" | grep -q "^ *$name "; then continue; fi
  retry "$cli" operator search-attribute create --namespace "$namespace" --name "$name" --type "$type"
done
echo "temporal-namespace: $namespace has retention $retention and the search attributes $TEMPORAL_SEARCH_ATTRIBUTES"
