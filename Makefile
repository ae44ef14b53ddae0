# eksguard developer targets. Tools are installed into bin/ at pinned
# versions from the Go module proxy; the envtest control plane (kube-apiserver
# and etcd) is built from source once by hack/build-envtest.sh and cached in
# ~/.cache/eksguard/envtest.

SHELL := /usr/bin/env bash
.SHELLFLAGS := -euo pipefail -c
export PATH := $(PATH):/usr/local/go/bin

BIN_DIR := $(CURDIR)/bin
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
ENVTEST_K8S_VERSION ?= 1.37.2
GOLANGCI_LINT_VERSION := v2.15.0
GOLANGCI_LINT := $(BIN_DIR)/golangci-lint-$(GOLANGCI_LINT_VERSION)
HELM_VERSION := v3.22.0
HELM := $(BIN_DIR)/helm-$(HELM_VERSION)
CHART := charts/eksguard

# make run: the server runs against the cluster of $KUBECONFIG with a
# self-signed serving certificate generated into RUN_CERT_DIR.
RUN_CERT_DIR ?= $(CURDIR)/bin/run-certs
RUN_ARGS ?=

.PHONY: all build image test unit-test envtest lint lint-full run help demo helm chart-lint chart-test fuzz soak bench

all: build

help: ## List the targets.
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-10s %s\n", $$1, $$2}'

build: ## Build the server binary into bin/eksguard.
	CGO_ENABLED=0 go build -trimpath -ldflags "-X github.com/eksguard/eksguard/internal/app/cli.Version=$(VERSION)" -o $(BIN_DIR)/eksguard .

image: ## Build the multi-arch (linux/amd64, linux/arm64) OCI image into bin/image/oci, without Docker (hack/image).
	go run ./hack/image -out $(BIN_DIR)/image -version $(VERSION)

envtest: ## Build (once) the envtest control plane and print its directory.
	@hack/build-envtest.sh $(ENVTEST_K8S_VERSION)

test: $(HELM) ## Unit and envtest tests with the race detector (builds the control plane if missing).
	@assets="$$(hack/build-envtest.sh $(ENVTEST_K8S_VERSION))"; \
	echo "make test: KUBEBUILDER_ASSETS=$$assets"; \
	if KUBEBUILDER_ASSETS="$$assets" HELM="$(HELM)" go test -race ./...; then \
	  echo "make test: PASS (unit + envtest, -race)"; \
	else \
	  echo "make test: FAIL"; exit 1; \
	fi

# FUZZTIME bounds each fuzz target of make fuzz.
FUZZTIME ?= 15s

fuzz: ## Run every fuzz target for FUZZTIME (default 15s) each; crashers land in testdata/fuzz (hack/fuzz.sh).
	hack/fuzz.sh $(FUZZTIME)

soak: ## Soak test: two replicas behind a balancer through cert rotation, SIGTERM, a kube-apiserver restart and policy flapping (about 3 minutes).
	@assets="$$(hack/build-envtest.sh $(ENVTEST_K8S_VERSION))"; \
	KUBEBUILDER_ASSETS="$$assets" go test -tags soak -count=1 -v -timeout 10m ./test/soak/

bench: ## Rule benchmarks, then the load test against an allow-all baseline and the memory scale test, then the phase through the API server (about 7 minutes; docs/performance.md).
	go test -run '^$$' -bench . -benchmem -benchtime 300ms ./webhook/... ./internal/app/cli/
	@assets="$$(hack/build-envtest.sh $(ENVTEST_K8S_VERSION))"; \
	KUBEBUILDER_ASSETS="$$assets" go test -tags bench -count=1 -v -timeout 20m ./test/load/

unit-test: $(HELM) ## Unit tests only, chart rendering included (no control plane).
	HELM="$(HELM)" go test -race $$(go list ./... | grep -v '/test$$')

lint: ## gofmt check and go vet.
	@unformatted="$$(gofmt -l $$(git ls-files '*.go'))"; \
	if [[ -n "$$unformatted" ]]; then echo "gofmt needed on:"; echo "$$unformatted"; exit 1; fi
	go vet ./...
	go vet -tags soak ./test/soak/
	go vet -tags bench ./test/load/
	@echo "make lint: PASS (gofmt, go vet)"

lint-full: lint $(GOLANGCI_LINT) ## lint plus golangci-lint (built from the module proxy into bin/).
	$(GOLANGCI_LINT) run ./...

$(GOLANGCI_LINT):
	@echo "building golangci-lint $(GOLANGCI_LINT_VERSION) into bin/ (a few minutes, once)"
	@mkdir -p $(BIN_DIR)
	GOBIN=$(BIN_DIR) go install github.com/golangci/golangci-lint/v2/cmd/golangci-lint@$(GOLANGCI_LINT_VERSION)
	mv $(BIN_DIR)/golangci-lint $(GOLANGCI_LINT)

run: ## Run the server locally against $KUBECONFIG (see README).
	@if [[ ! -f $(RUN_CERT_DIR)/tls.crt ]]; then \
	  mkdir -p $(RUN_CERT_DIR); \
	  openssl req -x509 -newkey rsa:2048 -nodes -days 30 -subj "/CN=localhost" \
	    -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" \
	    -keyout $(RUN_CERT_DIR)/tls.key -out $(RUN_CERT_DIR)/tls.crt 2>/dev/null; \
	  echo "make run: generated a self-signed certificate in $(RUN_CERT_DIR)"; \
	fi
	go run . --cert-dir=$(RUN_CERT_DIR) --zap-devel $(RUN_ARGS)

demo: ## Run eksguard end to end on a local control plane and apply examples/ (see README).
	go run ./hack/demo

helm: $(HELM) ## Build helm (pinned) from the Go module proxy into bin/.

chart-lint: $(HELM) ## helm lint --strict the chart.
	$(HELM) lint --strict $(CHART) --kube-version $(ENVTEST_K8S_VERSION)

chart-test: chart-lint ## Chart tests: rendering, server-side dry run, RBAC, webhooks and certificates in envtest.
	HELM="$(HELM)" go test -race ./test/chart/ -v
	@assets="$$(hack/build-envtest.sh $(ENVTEST_K8S_VERSION))"; \
	KUBEBUILDER_ASSETS="$$assets" HELM="$(HELM)" go test -race ./test/ -run '^TestChart' -v

$(HELM):
	@echo "building helm $(HELM_VERSION) into bin/ (a few minutes, once)"
	@mkdir -p $(BIN_DIR)
	GOBIN=$(BIN_DIR) go install helm.sh/helm/v3/cmd/helm@$(HELM_VERSION)
	mv $(BIN_DIR)/helm $(HELM)
