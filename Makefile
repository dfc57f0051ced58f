# The two commands of this project: `make run` (the whole stack on this machine) and `make test`.
.PHONY: run test deps temporal clean-data

run: deps
	npx tsx dev/launch.ts

test: deps
	npx tsx dev/test-run.ts

deps: node_modules/.package-lock.json

# npm ci only when the lock file changed since the last install (npm writes node_modules/.package-lock.json).
# npm warns that install scripts of protobufjs, @swc/core and esbuild are not approved: they work without them.
node_modules/.package-lock.json: package-lock.json
	npm ci
	@touch $@

# Builds the Temporal CLI (dev server and Web UI) once into ~/.cache; `make run` and `make test` do this too.
temporal:
	@bash dev/ensure-temporal.sh

clean-data:
	rm -rf .data
