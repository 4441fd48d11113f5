# Candour's build. The README's two commands are `make demo` and `make test`.

GO  ?= go
BIN := bin/candour
NHSUK := node_modules/nhsuk-frontend/dist/nhsuk

.PHONY: demo test build assets clean bench bench-search bench-export bench-disclosure

## demo: build, load the bundled NHS data into ./candour-data if it is empty, serve on http://127.0.0.1:8080
demo: build
	./$(BIN) demo

## test: check formatting, vet and run every test with the race detector
test: assets
	@unformatted=$$(gofmt -l cmd catalogue publisher site indicators datasets content); \
	  if [ -n "$$unformatted" ]; then echo "gofmt needed:"; echo "$$unformatted"; exit 1; fi
	$(GO) vet ./...
	$(GO) test -race -count=1 ./...

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

## bench: the scorecard benchmark (10.5 million observations; Candour against nginx with wrk; installs nginx and wrk if missing)
bench: build
	@command -v nginx >/dev/null && command -v wrk >/dev/null || (apt-get update -qq && apt-get install -y -qq nginx-light wrk)
	$(GO) build -o bin/candour-bench ./cmd/candour-bench
	./bin/candour-bench --candour $(BIN)

## bench-search: the search benchmark (50,000 documents; Candour's index against PostgreSQL full-text search; installs PostgreSQL if missing)
bench-search:
	@test -x /usr/lib/postgresql/15/bin/initdb || (apt-get update -qq && apt-get install -y -qq postgresql)
	$(GO) run ./cmd/candour-bench search

## bench-export: downloads (a 200 MB file against nginx; a 5-million-row filtered export against PostgreSQL COPY; peak memory); installs nginx and PostgreSQL if missing
bench-export: build
	@command -v nginx >/dev/null || (apt-get update -qq && apt-get install -y -qq nginx-light)
	@command -v curl >/dev/null || (apt-get update -qq && apt-get install -y -qq curl)
	@test -x /usr/lib/postgresql/15/bin/initdb || (apt-get update -qq && apt-get install -y -qq postgresql)
	$(GO) run ./cmd/candour-bench export --candour $(BIN)

## bench-disclosure: disclosure control against parsing (5 million rows of patients by practice, age and sex, with margins, under the nhs-digital rule; target ≤ 2.0× parsing's time; peak memory)
bench-disclosure:
	$(GO) run ./cmd/candour-bench disclosure

clean:
	rm -rf bin site/thirdparty/nhsuk site/thirdparty/echarts node_modules
