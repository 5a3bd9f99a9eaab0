.PHONY: run test bench bench-live load fuzz lint build

run: ## start Sesame (installs and starts PostgreSQL and Redis when missing)
	scripts/start

test: ## run every test against real PostgreSQL and Redis
	scripts/test

build: ## build bin/sesame
	CGO_ENABLED=0 go build -o bin/sesame ./cmd/sesame

bench: ## webhook ingest latency and throughput at 500 requests per second
	scripts/test -run '^$$' -bench BenchmarkWebhookIngest -benchtime 10000x ./cmd/sesame

bench-live: ## live-event fan-out: 500 viewers of a task emitting 1,000 events/s, three runs
	scripts/test -run '^$$' -bench BenchmarkLiveFanout -benchtime 1x -count 3 ./cmd/sesame

load: ## webhook ingest driven from a separate process (scripts/load-ingest CONNECTIONS SECONDS [RATE])
	scripts/load-ingest

# Go minimizes every new input it finds for up to 60 s by default, reporting 0 execs/s meanwhile: a
# large input can take a whole run. 2 s keeps the run fuzzing, with less minimized corpus entries.
FUZZTIME ?= 30s
FUZZMINIMIZETIME ?= 2s

fuzz: ## run every fuzz target (each func Fuzz* in a test file) for FUZZTIME, 30 s unless set
	@status=0; \
	for dir in $$(git ls-files --cached --others --exclude-standard '*_test.go' | xargs grep -ls '^func Fuzz' | xargs -n1 dirname | sort -u); do \
		for target in $$(sed -n 's/^func \(Fuzz[A-Za-z0-9_]*\)(.*/\1/p' $$dir/*_test.go); do \
			echo "== ./$$dir $$target"; \
			go test ./$$dir -run '^$$' -fuzz "^$$target$$" -fuzztime $(FUZZTIME) -fuzzminimizetime $(FUZZMINIMIZETIME) || status=1; \
		done; \
	done; \
	exit $$status

lint: ## gofmt, go vet, and the package boundaries of DESIGN.md (golangci-lint's depguard, .golangci.yml)
	test -z "$$(gofmt -l .)"
	go vet ./...
	scripts/install-lint >/dev/null
	.tools/bin/golangci-lint run ./...
