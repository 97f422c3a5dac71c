# The two commands: `make demo` and `make test`. Everything else is a step they use.
.PHONY: all deps build demo test test-sanitize bench format clean

all: build

deps:
	@scripts/install-deps

build: deps
	@scripts/build

# Installs, builds, migrates var/guichet.db, loads the demo data and serves on :8080.
# The card acquirer simulator (tests/support/card-acquirer-simulator) runs beside it on :8090
# for card reloads, and stops with it.
demo: build
	@mkdir -p var
	@node tests/support/card-acquirer-simulator/simulator.mjs --port 8090 & sim=$$!; \
	trap "kill $$sim" EXIT INT TERM; \
	GUICHET_DB=$${GUICHET_DB:-sqlite:var/guichet.db} ./build/guichet demo

test:
	@scripts/test

test-sanitize:
	@scripts/test --sanitize

bench: build
	@bench/http.sh

format:
	@clang-format -i $$(git ls-files '*.cpp' '*.h')

clean:
	rm -rf build build-asan web/dist
