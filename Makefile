# tendhost — the two commands a fresh machine needs are `make run` and `make test`.
SHELL := /bin/bash
NPM ?= npm

.PHONY: deps install build run test bench clean hash-token

node_modules/.installed: package.json package-lock.json patches/ssh2.mjs
	$(NPM) ci --no-audit --no-fund
	@touch $@

deps: node_modules/.installed

build: deps
	npx tsc -p tsconfig.json
	chmod +x dist/src/cli/main.js  # `npx tendhost` runs it directly
	node tools/build-ui.mjs

# Installs, builds, and starts the daemon with the shipped tendhost.toml.
run: build
	$(NPM) start

# Tests are type-checked too (tap runs them without checking types).
test: build
	npx tsc -p tsconfig.test.json
	npx tap

# BENCH_NODE=/path/to/node runs them on another Node (its node_modules must be
# built for it, e.g. in .ci/run's Debian 13 root for Node 24).
BENCH_NODE ?= node
bench: build
	@command -v wrk >/dev/null || (echo "bench: installing wrk (Debian package)"; apt-get install -y wrk)
	$(BENCH_NODE) dist/bench/run-all.js

# Prints the [[daemon.auth.tokens]] line for a new token: make hash-token TOKEN=... NAME=...
hash-token: build
	node dist/src/cli/main.js hash-token $(if $(NAME),--name $(NAME)) $(TOKEN)

clean:
	rm -rf dist .tap

# Installs the built daemon as a service: make install [PREFIX=/usr/local] [DESTDIR=/tmp/pkg]
#   $(PREFIX)/lib/tendhost   dist/ + package.json + production node_modules (npm ci --omit=dev)
#   $(PREFIX)/bin/tendhost   launcher: the command line (`tendhost daemon` runs the daemon)
#   $(UNITDIR)/tendhost.service, and /etc/tendhost/tendhost.toml only if none exists.
# Then: useradd --system --home-dir /var/lib/tendhost --shell /usr/sbin/nologin tendhost
#       systemctl daemon-reload && systemctl enable --now tendhost
PREFIX ?= /usr/local
DESTDIR ?=
NODE ?= $(shell command -v node)
UNITDIR ?= $(if $(filter /usr,$(PREFIX)),$(PREFIX)/lib/systemd/system,/etc/systemd/system)
LIBDIR := $(DESTDIR)$(PREFIX)/lib/tendhost

install: build
	@test -n "$(NODE)" || (echo "install: node not found (set NODE=/path/to/node)"; exit 1)
	rm -rf $(LIBDIR)
	install -d $(LIBDIR)/dist $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(UNITDIR) $(DESTDIR)/etc/tendhost
	cp -r dist/src dist/common dist/workers dist/ui $(LIBDIR)/dist/
	install -m 0644 package.json package-lock.json README.md $(LIBDIR)/
	install -D -m 0644 patches/ssh2.mjs $(LIBDIR)/patches/ssh2.mjs
	cd $(LIBDIR) && $(NPM) ci --omit=dev --no-audit --no-fund --loglevel=error
	printf '#!/bin/sh\n# tendhost launcher (make install)\nexec %s %s/lib/tendhost/dist/src/cli/main.js "$$@"\n' '$(NODE)' '$(PREFIX)' > $(DESTDIR)$(PREFIX)/bin/tendhost
	chmod 0755 $(DESTDIR)$(PREFIX)/bin/tendhost
	sed 's|/usr/local|$(PREFIX)|g' deploy/tendhost.service > $(DESTDIR)$(UNITDIR)/tendhost.service
	chmod 0644 $(DESTDIR)$(UNITDIR)/tendhost.service
	@if [ -e $(DESTDIR)/etc/tendhost/tendhost.toml ]; then \
	  echo "install: keeping the existing $(DESTDIR)/etc/tendhost/tendhost.toml"; \
	else \
	  sed 's|/usr/local|$(PREFIX)|g' deploy/tendhost.example.toml > $(DESTDIR)/etc/tendhost/tendhost.toml; \
	  chmod 0640 $(DESTDIR)/etc/tendhost/tendhost.toml; \
	fi
	@echo "installed tendhost in $(DESTDIR)$(PREFIX) (unit: $(DESTDIR)$(UNITDIR)/tendhost.service)"
