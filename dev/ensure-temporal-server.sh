#!/usr/bin/env bash
# Prints the directory holding Temporal's own server, built once from its Go module: `temporal-server` (frontend,
# history, matching and worker services, one per process with `start --service X`), `temporal-sql-tool` (creates
# and upgrades its PostgreSQL schemas) and `schema/postgresql/v12/{temporal,visibility}` (the versioned schemas
# that ship inside the module). `make test-cluster` runs them; docker-compose.yml runs the same version's images.
# Like dev/ensure-temporal.sh (the CLI): v1.29.1 is the server the CLI v1.5.1 embeds, and its go.mod has no
# `replace` directive, so `go install` builds it. The directory lives outside the repo, keyed by version.
set -euo pipefail

version=v1.29.1
module=go.temporal.io/server

dir="${XDG_CACHE_HOME:-$HOME/.cache}/learning-accounts/temporal-server-$version"
if [ -x "$dir/temporal-server" ] && [ -x "$dir/temporal-sql-tool" ] && [ -d "$dir/schema/postgresql/v12" ]; then
  echo "$dir"
  exit 0
fi

if ! command -v go >/dev/null 2>&1; then
  echo "ensure-temporal-server: Go is not installed; it is needed once to build Temporal's server $version" >&2
  exit 1
fi

echo "Building Temporal's server $version and its SQL tool from the Go module proxy (first run only; minutes on a cold cache)…" >&2
mkdir -p "$(dirname "$dir")"
# Build into a private directory and rename it into place, so an interrupted build leaves nothing half made.
staging=$(mktemp -d "$(dirname "$dir")/.temporal-server-build.XXXXXX")
chmod 755 "$staging"
trap 'rm -rf "$staging"' EXIT
log="$staging/build.log"
command=(go install "$module/cmd/server@$version" "$module/cmd/tools/sql@$version")
# Go lists every module it downloads; that is noise when it works and the whole story when it does not.
if ! CGO_ENABLED=0 GOBIN="$staging/bin" "${command[@]}" >"$log" 2>&1; then
  cat "$log" >&2
  echo "ensure-temporal-server: this command failed: CGO_ENABLED=0 GOBIN=$staging/bin ${command[*]}" >&2
  exit 1
fi
mv "$staging/bin/server" "$staging/temporal-server"
mv "$staging/bin/sql" "$staging/temporal-sql-tool"

# The schemas come with the module: `go mod download -json` names the directory it is unpacked in (and fetches
# it first on a machine where the build above came from a cache alone).
if ! json=$(go mod download -json "$module@$version" 2>"$log"); then
  cat "$log" >&2
  echo "ensure-temporal-server: go mod download $module@$version failed" >&2
  exit 1
fi
moddir=$(printf '%s\n' "$json" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",\{0,1\}$/\1/p' | head -n 1)
if [ -z "$moddir" ] || [ ! -d "$moddir/schema/postgresql/v12" ]; then
  echo "ensure-temporal-server: no schema/postgresql/v12 in the module directory '$moddir'" >&2
  exit 1
fi
mkdir -p "$staging/schema/postgresql"
cp -R "$moddir/schema/postgresql/v12" "$staging/schema/postgresql/v12"
# Module files are read-only; the copy must be removable by the next `rm -rf` of the cache.
chmod -R u+w "$staging/schema"
rm -rf "$staging/bin" "$log"

rm -rf "$dir"
mv "$staging" "$dir"
trap - EXIT
echo "$dir"
