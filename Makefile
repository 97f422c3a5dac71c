# The two commands: `make demo` and `make test`. Everything else is a step they use.
.PHONY: all deps build demo test test-sanitize bench format clean

all: build

deps:
	@scripts/install-deps

build: deps
	@scripts/build

# Installs, builds, migrates var/guichet.db, loads the demo data and serves on :8080.
# Mail goes to a local maildev: read it at http://127.0.0.1:1080; the card acquirer simulator
# (tests/support/card-acquirer-simulator) runs beside it on :8090 for card reloads. Both stop
# with the demo.
demo: build
	@mkdir -p var
	@node tests/support/maildev.mjs --smtp 1025 --web 1080 & maildev=$$!; \
	node tests/support/card-acquirer-simulator/simulator.mjs --port 8090 & sim=$$!; \
	trap 'kill $$maildev $$sim 2>/dev/null' EXIT INT TERM; \
	echo "demo mail: http://127.0.0.1:1080"; \
	GUICHET_DB=$${GUICHET_DB:-sqlite:var/guichet.db} \
	GUICHET_SMTP_URL=$${GUICHET_SMTP_URL:-smtp://127.0.0.1:1025} \
	GUICHET_SMTP_STARTTLS=$${GUICHET_SMTP_STARTTLS:-off} \
	./build/guichet demo

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
