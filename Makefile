# Developer shortcuts; CI runs .ci/run, which runs ./scripts/test.
GOLANGCI_LINT_VERSION := v2.15.0

.PHONY: test quick lint fuzz bench demo ci

test:            ## vet, fuzz briefly, go test -race ./...
	./scripts/test

quick:           ## vet and go test without -race or fuzzing
	QUICK=1 ./scripts/test

lint:            ## golangci-lint (pinned) and go mod tidy check
	go run github.com/golangci/golangci-lint/v2/cmd/golangci-lint@$(GOLANGCI_LINT_VERSION) run ./...
	go mod tidy -diff

fuzz:            ## every fuzz target for 60 s
	FUZZTIME=60s ./scripts/test

bench:           ## model engine and statistics benchmarks against the libraries
	go run ./bench/model
	go run ./bench/stats

demo:            ## the bundled example with the Web UI
	go run ./starter demo

ci:
	./.ci/run
