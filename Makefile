.PHONY: run test bench load fuzz lint build

run: ## start Sesame (installs and starts PostgreSQL and Redis when missing)
	scripts/start

test: ## run every test against real PostgreSQL and Redis
	scripts/test

build: ## build bin/sesame
	go build -o bin/sesame ./cmd/sesame

bench: ## webhook ingest latency and throughput at 500 requests per second
	scripts/test -run '^$$' -bench BenchmarkWebhookIngest -benchtime 10000x ./cmd/sesame

load: ## webhook ingest driven by wrk from a separate process (scripts/load-ingest CONNECTIONS SECONDS)
	scripts/load-ingest

fuzz: ## fuzz the command parser and the webhook handler for 30 s each
	go test ./command -run '^$$' -fuzz FuzzParse -fuzztime 30s
	go test ./bot -run '^$$' -fuzz FuzzWebhook -fuzztime 30s

lint: ## gofmt and go vet
	test -z "$$(gofmt -l .)"
	go vet ./...
