# Candour's build. The README's two commands are `make demo` and `make test`.

GO  ?= go
BIN := bin/candour
NHSUK := node_modules/nhsuk-frontend/dist/nhsuk

.PHONY: demo test build assets clean bench bench-clickhouse bench-search bench-export bench-disclosure bench-upload fuzz

## demo: build, load the bundled NHS data into ./candour-data if it is empty, serve on http://127.0.0.1:8080
demo: build
	./$(BIN) demo

## test: check formatting, vet and run every test with the race detector (cmd/candour's end-to-end tests, the crash harness among them, take several minutes)
test: assets
	@unformatted=$$(gofmt -l cmd catalogue publisher site indicators datasets content); \
	  if [ -n "$$unformatted" ]; then echo "gofmt needed:"; echo "$$unformatted"; exit 1; fi
	$(GO) vet ./...
	$(GO) test -race -count=1 -timeout 60m ./...

## build: the candour binary in bin/
build: assets
	$(GO) build -o $(BIN) ./cmd/candour

## assets: copy the NHS design system's compiled files and ECharts from npm into site/thirdparty (embedded by go build)
assets: site/thirdparty/nhsuk/nhsuk-frontend.min.css site/thirdparty/echarts/echarts.min.js

site/thirdparty/nhsuk/nhsuk-frontend.min.css: node_modules/.package-lock.json
	mkdir -p site/thirdparty/nhsuk/images
	cp $(NHSUK)/nhsuk-frontend.min.css $(NHSUK)/nhsuk-frontend.min.js site/thirdparty/nhsuk/
	cp $(NHSUK)/assets/images/* site/thirdparty/nhsuk/images/

site/thirdparty/echarts/echarts.min.js: node_modules/.package-lock.json
	mkdir -p site/thirdparty/echarts
	cp node_modules/echarts/dist/echarts.min.js site/thirdparty/echarts/

node_modules/.package-lock.json: package.json package-lock.json
	npm ci --no-audit --no-fund

## bench: the scorecard and indicator-page benchmark (10.5 million observations; Candour with and without its page cache, and without it on ClickHouse, against nginx with wrk; three runs, every one printed; installs nginx, wrk and ClickHouse if missing); BENCH_ARGS adds flags, e.g. BENCH_ARGS="--data-dir /tmp/benchdata" to keep the generated data for later runs
BENCH_ARGS ?=
bench: build
	@command -v nginx >/dev/null && command -v wrk >/dev/null || (apt-get update -qq && apt-get install -y -qq nginx-light wrk)
	@command -v clickhouse-server >/dev/null && command -v clickhouse-client >/dev/null && command -v curl >/dev/null || (apt-get update -qq && apt-get install -y -qq clickhouse-server clickhouse-client curl)
	$(GO) build -o bin/candour-bench ./cmd/candour-bench
	./bin/candour-bench --candour $(BIN) $(BENCH_ARGS)
	./bin/candour-bench clickhouse --candour $(BIN)

## bench-clickhouse: ClickHouse on a server of its own (10 million observation rows ingested through Candour against clickhouse-client INSERT … FORMAT CSV, target ≥ 0.7×; a 5-million-row filtered export through Candour against clickhouse-client … FORMAT CSV, target ≥ 0.8×; three runs each, every one printed); installs clickhouse-server, clickhouse-client and curl if missing; part of make bench
bench-clickhouse: build
	@command -v clickhouse-server >/dev/null && command -v clickhouse-client >/dev/null && command -v curl >/dev/null || (apt-get update -qq && apt-get install -y -qq clickhouse-server clickhouse-client curl)
	$(GO) run ./cmd/candour-bench clickhouse --candour $(BIN)

## bench-search: the search benchmark (50,000 documents; Candour's index against PostgreSQL full-text search; installs PostgreSQL if missing)
bench-search: build
	@test -x /usr/lib/postgresql/15/bin/initdb || (apt-get update -qq && apt-get install -y -qq postgresql)
	$(GO) run ./cmd/candour-bench search --candour $(BIN)

## bench-export: downloads (a 200 MB file against nginx, servers on one CPU and curl on another; a 5-million-row filtered export against PostgreSQL COPY; peak memory); installs nginx and PostgreSQL if missing
bench-export: build
	@command -v nginx >/dev/null || (apt-get update -qq && apt-get install -y -qq nginx-light)
	@command -v curl >/dev/null || (apt-get update -qq && apt-get install -y -qq curl)
	@test -x /usr/lib/postgresql/15/bin/initdb || (apt-get update -qq && apt-get install -y -qq postgresql)
	$(GO) run ./cmd/candour-bench export --candour $(BIN)

## bench-disclosure: disclosure control against parsing (5 million rows of patients by practice, age and sex, with margins, under the nhs-digital rule; target ≤ 2.0× parsing's time; peak memory)
bench-disclosure:
	$(GO) run ./cmd/candour-bench disclosure

## bench-upload: one large submission through the submission API (a 1 GiB CSV streamed to POST /api/v1/submissions; the server's peak memory while it uploads and while it checks and stores); UPLOAD_ARGS adds flags, e.g. UPLOAD_ARGS="--size 200MiB"
bench-upload: build
	$(GO) run ./cmd/candour-bench upload --candour $(BIN) $(UPLOAD_ARGS)

## fuzz: run every fuzz target for FUZZTIME each (default 10m), one after another, and print each one's executions and result (.ci/fuzz)
FUZZTIME ?= 10m
fuzz:
	FUZZTIME=$(FUZZTIME) GO=$(GO) .ci/fuzz

## load: the load test (the demo data; 256 connections for 60 s of scorecards, search, downloads, API and feeds from 1,000 clients, then open-loop arrivals at 4x the measured capacity for 20 s; about 3 minutes); LOAD_ARGS adds flags, e.g. LOAD_ARGS="--duration 5s --overload-duration 5s --conns 64"
LOAD_ARGS ?=
.PHONY: load soak
load: build
	$(GO) run ./cmd/candour-bench load --candour $(BIN) $(LOAD_ARGS)

## crash-long: the crash harness (cmd/candour/crash_e2e_test.go) with CRASH_TRIALS random trials (default 200) besides every named fault point; ends with "crash trials: N, failures: F"
CRASH_TRIALS ?= 200
.PHONY: crash-long
crash-long:
	@summary=$${CANDOUR_CRASH_SUMMARY:-$$(mktemp -u /tmp/candour-crash.XXXXXX)}; rm -f "$$summary"; \
	  CANDOUR_CRASH_SUMMARY="$$summary" $(GO) test -count=1 -timeout 3h -run 'TestCrash$$' -v ./cmd/candour -crash.trials=$(CRASH_TRIALS); \
	  status=$$?; \
	  if [ -s "$$summary" ]; then cat "$$summary"; else echo "crash trials: 0, failures: 1 (the harness did not finish)"; status=1; fi; \
	  [ -n "$$CANDOUR_CRASH_SUMMARY" ] || rm -f "$$summary"; \
	  exit $$status

## soak: the long runs one after another, then one summary (.ci/soak): make crash-long with CRASH_TRIALS random trials (default 200), make fuzz for FUZZTIME per target (default 10m), make load; about 2 hours
CRASH_TRIALS ?= 200
soak:
	FUZZTIME="$(FUZZTIME)" CRASH_TRIALS="$(CRASH_TRIALS)" LOAD_ARGS="$(LOAD_ARGS)" GO="$(GO)" .ci/soak

clean:
	rm -rf bin site/thirdparty/nhsuk site/thirdparty/echarts node_modules
