# tendhost — the two commands a fresh machine needs are `make run` and `make test`.
SHELL := /bin/bash
NPM ?= npm

.PHONY: install build run test bench clean hash-token

node_modules/.installed: package.json package-lock.json
	$(NPM) ci --no-audit --no-fund
	@touch $@

install: node_modules/.installed

build: install
	npx tsc -p tsconfig.json

# Installs, builds, and starts the daemon with the shipped tendhost.toml.
run: build
	$(NPM) start

test: build
	npx tap

bench: build
	@command -v wrk >/dev/null || (echo "bench: installing wrk (Debian package)"; apt-get install -y wrk)
	node dist/bench/run-all.js

# Prints the [[daemon.auth.tokens]] line for a new token: make hash-token TOKEN=... NAME=...
hash-token: build
	node dist/src/cli.js hash-token $(if $(NAME),--name $(NAME)) $(TOKEN)

clean:
	rm -rf dist .tap
