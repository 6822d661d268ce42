# Ponte: every target runs with the project's own Node.js 24 and pnpm (provisioned in .tools/ from the npm registry)
# first on PATH. The machine's `node` is never used or changed.
SHELL := /bin/bash
ROOT := $(CURDIR)
export PATH := $(ROOT)/.tools/node/bin:$(ROOT)/.tools/pnpm/node_modules/.bin:$(ROOT)/node_modules/.bin:$(PATH)
export KAFKAJS_NO_PARTITIONER_WARNING := 1

.PHONY: up down logs status test typecheck lint unit chaos bench install toolchain kafka-up kafka-down clean help console-dev fuzz soak

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/' | expand -t 14

toolchain: ## Provision Node.js 24 and pnpm under .tools/ (idempotent)
	@bash scripts/toolchain.sh

install: toolchain ## Install packages from the lockfile, build the admin console's browser app when its sources changed
	@pnpm install --frozen-lockfile --reporter=silent
	@$(MAKE) -s --no-print-directory services/admin/web/dist/index.html

# The console's single-page app (services/admin/web), rebuilt only when a source changed; offline once installed.
services/admin/web/dist/index.html: $(shell find services/admin/web -path services/admin/web/dist -prune -o -type f -print 2>/dev/null)
	@cd services/admin && vite build --config web/vite.config.ts --logLevel warn

console-dev: install ## The admin console with hot reload on :5173 (its API from the admin service of `make up`)
	@cd services/admin && vite --config web/vite.config.ts

up: install ## Start the whole platform in the background (demo bank, sandbox directory); prints the endpoints
	@node scripts/stack.ts up

down: ## Stop exactly what `make up` started
	@if [ -x .tools/node/bin/node ]; then node scripts/stack.ts down; fi

status: ## One line per service
	@node scripts/stack.ts status

logs: ## Follow every service's log
	@tail -n 20 -F .run/logs/*.log

typecheck: install ## TypeScript, strict, whole repo
	@tsc -p tsconfig.json --noEmit

lint: install ## eslint (flat config, typescript-eslint)
	@eslint .

unit: install ## Unit tests only (no servers)
	@vitest run -c vitest.unit.config.ts

test: install ## Typecheck, lint, unit and integration tests against real PostgreSQL, Redis and Kafka
	@node scripts/preflight.ts
	@echo "== typecheck" && tsc -p tsconfig.json --noEmit
	@echo "== lint" && eslint .
	@echo "== tests" && rm -f .run/test-results.json && status=0 && { vitest run || status=$$?; } && node scripts/test-summary.ts; exit $$status

fuzz: install ## The hostile-input suite with 1 000 inputs per surface (PONTE_FUZZ_RUNS; make test runs 100 to 250)
	@PONTE_FUZZ_RUNS=$${PONTE_FUZZ_RUNS:-1000} vitest run services/gateway/test/e2e-hostile.test.ts

chaos: install ## Fault suite (bounded, private PostgreSQL/Redis/Kafka); writes docs/operations/chaos.md
	@command -v redis-server >/dev/null || { echo "chaos: redis-server is required (apt-get install redis-server)"; exit 1; }
	@bash scripts/kafka.sh fetch >/dev/null
	@vitest run -c vitest.chaos.config.ts

bench: install ## Benchmarks (loopback, bounded); writes docs/benchmarks.md
	@command -v haproxy >/dev/null || { echo "bench: installing Debian's haproxy (the gateway's peer in the comparison)"; \
	  (apt-get install -y -qq haproxy >/dev/null 2>&1 || (apt-get update -qq && apt-get install -y -qq haproxy)) || echo "bench: haproxy unavailable; the peer row is skipped"; }
	@node bench/run.ts

soak: install ## The platform held at 300 req/s with journeys and payments for 30 min (SOAK_MINUTES, SOAK_RATE); writes docs/operations/soak.md
	@node bench/soak.ts

kafka-up: ## Start the project's Kafka broker only
	@bash scripts/kafka.sh start && bash scripts/kafka.sh wait

kafka-down: ## Stop the project's Kafka broker
	@bash scripts/kafka.sh stop

clean: down ## Remove generated state (.run, .kafka data); keeps .tools and node_modules
	@bash scripts/kafka.sh reset >/dev/null 2>&1 || true
	@rm -rf .run
