#!/usr/bin/env bash
# Prints the path of a Temporal CLI binary (it contains the dev server and the Web UI), building it once.
# Nothing on npm ships the server and only package registries are reachable, so it is built from its Go
# module. v1.5.1 is the newest tag that `go install` accepts (later tags carry `replace` directives).
# The binary lives outside the repo, keyed by version, so every clone of the project reuses it.
set -euo pipefail

version=v1.5.1

if [ -n "${TEMPORAL_CLI:-}" ]; then
  if [ ! -x "$TEMPORAL_CLI" ]; then
    echo "ensure-temporal: TEMPORAL_CLI=$TEMPORAL_CLI is not an executable file" >&2
    exit 1
  fi
  echo "$TEMPORAL_CLI"
  exit 0
fi

dir="${XDG_CACHE_HOME:-$HOME/.cache}/learning-accounts/temporal-cli-$version"
binary="$dir/temporal"
if [ -x "$binary" ]; then
  echo "$binary"
  exit 0
fi

if ! command -v go >/dev/null 2>&1; then
  echo "ensure-temporal: Go is not installed; it is needed once to build the Temporal CLI $version" >&2
  exit 1
fi

echo "Building the Temporal CLI $version from the Go module proxy (first run only, takes a few minutes)…" >&2
mkdir -p "$dir"
# Build into a private directory and rename into place, so an interrupted build leaves no half binary.
staging=$(mktemp -d "$dir/.build.XXXXXX")
trap 'rm -rf "$staging"' EXIT
command=(go install "github.com/temporalio/cli/cmd/temporal@$version")
# Go lists every module it downloads; that is noise when it works and the whole story when it does not.
log="$staging/build.log"
if ! CGO_ENABLED=0 GOBIN="$staging" "${command[@]}" >"$log" 2>&1; then
  cat "$log" >&2
  echo "ensure-temporal: this command failed: CGO_ENABLED=0 GOBIN=$staging ${command[*]}" >&2
  exit 1
fi
mv -f "$staging/temporal" "$binary"
echo "$binary"
