# The two commands of this project: `make run` (the whole stack on this machine) and `make test`.
.PHONY: run test test-cluster fuzz bench consistency drill deps temporal temporal-server clean-data build check-build

# `exec` and plain node, no npx or tsx wrapper: GNU make answers SIGTERM by sending SIGTERM to its child, the
# recipe's shell, and that shell would die without passing it on, leaving the launcher and everything it started
# running. With exec the launcher is make's child, gets the SIGTERM itself and stops everything in order.
# (SIGINT sent to make alone is not passed on at all by make, which expects the terminal's Ctrl-C to reach the
# whole process group; send SIGTERM, or signal the group.)
run: deps
	exec node --import tsx dev/launch.ts

test: deps
	exec node --import tsx dev/test-run.ts

# --- cluster: the workflow and API suites against Temporal's own server on PostgreSQL (separate frontend, history,
# matching and worker processes), two workers and two API instances (dev/test-cluster.ts). Its own ports, so it runs
# beside `make run` and `make test`. ARGS="test/api/x.test.ts ..." runs only those files (and test/cluster/).
test-cluster: deps
	exec node --import tsx dev/test-cluster.ts $(ARGS)

# The fuzz stage with a longer budget than inside `make test` (dev/fuzz.ts; README: how to reproduce a failure).
fuzz: deps
	exec node --import tsx dev/fuzz.ts

# Speed targets (bench/README.md); heavier than the tests, so not part of `make test`.
bench: deps
	exec node --import tsx bench/run.ts $(ARGS)

# The consistency check (dev/consistency-check.ts) against `make run`'s stack at its default addresses (set
# DATABASE_URL, TEMPORAL_ADDRESS, TEMPORAL_TASK_QUEUE to check another). Exit 0: no violations, 1: violations,
# 2: could not check (PostgreSQL or Temporal unreachable).
consistency: deps
	@DATABASE_URL="$${DATABASE_URL:-postgres://ila@127.0.0.1:$${POSTGRES_PORT:-55432}/ila}" \
	TEMPORAL_ADDRESS="$${TEMPORAL_ADDRESS:-127.0.0.1:$${TEMPORAL_PORT:-7233}}" \
	PUBLIC_URL="$${PUBLIC_URL:-http://127.0.0.1:$${PORT:-3000}}" \
	exec node --import tsx dev/consistency-check.ts

# The fault drill (dev/drill.ts): its own stack on free ports and .data/drill, journeys under faults, a table of
# figures (also .data/drill/report.md). Options through ARGS, e.g. `make drill ARGS="--short"` or "--journeys 50".
drill: deps
	exec node --import tsx dev/drill.ts $(ARGS)

# lean: the production form in dist/ (dev/build.ts): compiled JavaScript, the files it reads, the workflow bundle.
# Production runs `node dist/api/main.js` and `node dist/worker/main.js` (the Dockerfile builds the same).
build: deps
	exec node --import tsx dev/build.ts

# lean: starts the built stack (node dist/..., no tsx) on free ports and checks that it serves (about a minute).
check-build: build
	exec node --import tsx dev/check-build.ts

deps: node_modules/.package-lock.json

# Install only when the lock file changed since the last install (npm writes node_modules/.package-lock.json).
# `npm install` rather than `npm ci`: the registry reachable here serves no builds for other platforms (macOS,
# Windows), so the lock file cannot list them and `npm ci` refuses it; `npm install` follows the lock file as it is.
# npm warns that install scripts of protobufjs, @swc/core and esbuild are not approved: they work without them.
node_modules/.package-lock.json: package-lock.json
	npm install --no-audit --no-fund
	@touch $@

# Builds the Temporal CLI (dev server and Web UI) once into ~/.cache; `make run` and `make test` do this too.
temporal:
	@bash dev/ensure-temporal.sh

# --- cluster: builds Temporal's own server and its SQL tool once into ~/.cache (`make test-cluster` does this too).
temporal-server:
	@bash dev/ensure-temporal-server.sh

clean-data:
	rm -rf .data

# issue 17 (registries): the test certificate authority for mutual TLS with the SOPA stub and the worker's client
# certificate (dev/tls.ts), made once into .data/tls and printed; `make run` and the tests make it when missing.
.PHONY: tls
tls: deps
	@node --import tsx dev/tls.ts
