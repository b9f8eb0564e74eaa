# weir's build. The two commands a newcomer needs:
#   make demo   the reference pipeline (CloudTrail -> ECS) over bundled data
#   make test   every test, installing what the tests need first
# Heavy runs have their own targets: bench, fuzz.

GO        ?= go
GOBIN     := $(shell $(GO) env GOPATH)/bin
WASM_ENV  := GOOS=wasip1 GOARCH=wasm
MODULES   := $(patsubst modules/%/,%,$(dir $(wildcard modules/*/main.go)))
MODULE_WASM := $(foreach m,$(MODULES),modules/$(m)/$(m).wasm)
GUEST_SRC := $(shell find sdk/go modules engine/frame -name '*.go' -not -name '*_test.go' 2>/dev/null) go.mod go.sum
FUZZTIME  ?= 30s

# Tools installed by scripts/ensure-tools.sh (go install, apt) must be found by tests.
export PATH := $(GOBIN):/usr/sbin:$(PATH)

.PHONY: all build modules modules-as modules-rust modules-c demo test test-go test-deploy deploy-template lint tools bench bench-sdks fuzz clean lambda-zip

all: build modules

bin/weir: $(shell find cmd engine host benchkit sdk/abicheck sdk/author -name '*.go' -not -name '*_test.go') $(shell find sdk/author/templates -type f) go.mod go.sum
	$(GO) build -o bin/weir ./cmd/weir

build: bin/weir

$(MODULE_WASM): modules/%.wasm: $(GUEST_SRC)
	$(WASM_ENV) $(GO) build -buildmode=c-shared -trimpath -o $@ ./$(dir $@)

modules: $(MODULE_WASM)

# AssemblyScript modules (need tools/node: scripts/ensure-tools.sh node).
AS_MODULES := $(patsubst modules/%/,%,$(dir $(wildcard modules/*/*.ts)))
AS_WASM := $(foreach m,$(AS_MODULES),modules/$(m)/$(m).wasm)

$(AS_WASM): modules/%.wasm: modules/%.ts sdk/assemblyscript/weir.ts
	scripts/ensure-tools.sh node
	cd tools/node && node_modules/.bin/asc ../../$< --outFile ../../$@ --runtime stub -O3 --use abort=../../$(basename $<)/myAbort

modules-as: $(AS_WASM)

# Rust modules (sdk/rust, Debian's rustc, not rustup's: scripts/ensure-tools.sh rust):
# the SDK as an rlib, then each module as a cdylib linked against it.
RUSTC      ?= /usr/bin/rustc
RUST_FLAGS := --edition 2021 --target wasm32-unknown-unknown -C opt-level=3 -C panic=abort -C target-feature=+bulk-memory
RUST_WASM  := $(patsubst %.rs,%.wasm,$(wildcard sdk/rust/example/*.rs)) $(foreach m,$(patsubst modules/%/,%,$(dir $(wildcard modules/*-rs/*.rs))),modules/$(m)/$(m).wasm)

bin/rust/libweir.rlib: $(wildcard sdk/rust/src/*.rs)
	scripts/ensure-tools.sh rust
	mkdir -p bin/rust
	$(RUSTC) $(RUST_FLAGS) --crate-type rlib --crate-name weir -o $@ sdk/rust/src/lib.rs

sdk/rust/example/%.wasm: sdk/rust/example/%.rs bin/rust/libweir.rlib
	$(RUSTC) $(RUST_FLAGS) --crate-type cdylib -C lto=yes -C strip=symbols --extern weir=bin/rust/libweir.rlib -o $@ $<

modules/%-rs.wasm: modules/%-rs.rs bin/rust/libweir.rlib
	$(RUSTC) $(RUST_FLAGS) --crate-type cdylib -C lto=yes -C strip=symbols --extern weir=bin/rust/libweir.rlib -o $@ $<

modules-rust: $(RUST_WASM)

# C modules (sdk/c, clang wasm32-wasi reactors: scripts/ensure-tools.sh c).
C_FLAGS := --target=wasm32-wasi -mexec-model=reactor -O2 -mbulk-memory -Wall -Werror -Wl,--strip-all -Isdk/c
C_WASM  := $(patsubst %.c,%.wasm,$(wildcard sdk/c/example/*.c)) $(foreach m,$(patsubst modules/%/,%,$(dir $(wildcard modules/*-c/*.c))),modules/$(m)/$(m).wasm)

sdk/c/example/%.wasm: sdk/c/example/%.c sdk/c/weir.c sdk/c/weir.h
	scripts/ensure-tools.sh c
	clang $(C_FLAGS) -o $@ $< sdk/c/weir.c

modules/%-c.wasm: modules/%-c.c sdk/c/weir.c sdk/c/weir.h
	scripts/ensure-tools.sh c
	clang $(C_FLAGS) -o $@ $< sdk/c/weir.c

modules-c: $(C_WASM)

demo: build modules
	@echo "== the reference ConsoleLogin record, normalized to ECS =="
	./bin/weir run -p examples/cloudtrail-ecs/pipeline.yaml examples/cloudtrail-ecs/data/consolelogin.json
	@echo
	@echo "== a real corpus: Stratus Red Team detonation logs (310 records), first 3 and a summary =="
	./bin/weir run -p examples/cloudtrail-ecs/pipeline.yaml --summary examples/cloudtrail-ecs/data/stratus-red-team/*.json | head -n 3
	@echo
	@echo "== the same normalization as built-in transforms (Substation's vocabulary, no module): identical bytes =="
	./bin/weir run -p examples/cloudtrail-ecs/pipeline-builtins.yaml examples/cloudtrail-ecs/data/consolelogin.json
	@echo
	@echo "== the full reference job: normalized, then enriched (account name, PTR, ASN, users join) =="
	./bin/weir run -p examples/cloudtrail-ecs/pipeline-enriched.yaml examples/cloudtrail-ecs/data/consolelogin.json

tools:
	scripts/ensure-tools.sh all

lint: tools
	@test -z "$$(find . -name '*.go' -not -path './tools/*' -not -path '*/node_modules/*' | xargs gofmt -l)" || { echo "gofmt needed:"; find . -name '*.go' -not -path './tools/*' -not -path '*/node_modules/*' | xargs gofmt -l; exit 1; }
	$(GO) vet ./...
	$(WASM_ENV) $(GO) vet ./sdk/... ./modules/...
	$(GOBIN)/staticcheck ./...

test-go: modules
	CI=$(CI) $(GO) test -count=1 -timeout 20m ./...

test: tools lint test-go test-deploy

# The reference deployment (examples/deploy): cdk synth offline with the
# cdk-nag AwsSolutions checks (a finding fails the synth), the TypeScript
# type check, and the checked-in template.json must equal the synth output
# (make deploy-template rewrites it). The Go side (the function's
# environment, metrics and permissions against the code) is
# examples/deploy's go test, run by test-go.
CDK_DIR := examples/deploy/cdk
test-deploy:
	scripts/ensure-tools.sh cdk
	rm -rf $(CDK_DIR)/cdk.out
	cd $(CDK_DIR) && npx --no-install cdk synth --quiet --strict >/dev/null
	cd $(CDK_DIR) && npx --no-install tsc --noEmit
	@cmp -s $(CDK_DIR)/cdk.out/WeirStack.template.json examples/deploy/template.json || { \
		echo "examples/deploy/template.json differs from cdk synth (run: make deploy-template):"; \
		diff $(CDK_DIR)/cdk.out/WeirStack.template.json examples/deploy/template.json | head -40; exit 1; }
	@echo "test-deploy: cdk synth + cdk-nag AwsSolutions pass; template.json is current"

deploy-template:
	scripts/ensure-tools.sh cdk
	rm -rf $(CDK_DIR)/cdk.out
	cd $(CDK_DIR) && npx --no-install cdk synth --quiet --strict >/dev/null
	cp $(CDK_DIR)/cdk.out/WeirStack.template.json examples/deploy/template.json

bench: build modules
	$(GO) test -run '^$$' -bench . -benchtime 2s -timeout 60m ./bench/...

# Issue #9: tag-and-drop and the reference normalization in Go,
# AssemblyScript, Rust and C, each family in one interleaved weir bench
# --compare (sdk/README.md). ROUNDS, DURATION, COLD_STARTS override.
bench-sdks: bin/weir modules modules-as modules-rust modules-c
	scripts/bench-sdks.sh

fuzz:
	$(GO) test -run '^$$' -fuzz FuzzReadInput -fuzztime $(FUZZTIME) ./engine/frame
	$(GO) test -run '^$$' -fuzz FuzzReadOutput -fuzztime $(FUZZTIME) ./engine/frame
	$(GO) test -run '^$$' -fuzz FuzzApply -fuzztime $(FUZZTIME) ./engine/frame
	$(GO) test -run '^$$' -fuzz '^FuzzDecoder$$' -fuzztime $(FUZZTIME) ./engine
	$(GO) test -run '^$$' -fuzz '^FuzzDecoderCompressed$$' -fuzztime $(FUZZTIME) ./engine
	$(GO) test -run '^$$' -fuzz '^FuzzDeaggregate$$' -fuzztime $(FUZZTIME) ./host/kpl
	$(GO) test -run '^$$' -fuzz '^FuzzDigests$$' -fuzztime $(FUZZTIME) -fuzzminimizetime 0 ./host/kpl
	$(GO) test -run '^$$' -fuzz FuzzInstrument -fuzztime $(FUZZTIME) ./host/wasmrewrite
	$(GO) test -run '^$$' -fuzz FuzzDocParse -fuzztime $(FUZZTIME) ./engine/frame
	$(GO) test -run '^$$' -fuzz FuzzAppendString -fuzztime $(FUZZTIME) ./engine/frame
	$(GO) test -run '^$$' -fuzz FuzzPutRecordsCBOR -fuzztime $(FUZZTIME) ./host/aws/kinesisout
	$(GO) test -run '^$$' -fuzz FuzzScanKinesisEvent -fuzztime $(FUZZTIME) ./host/lambda
	$(GO) test -run '^$$' -fuzz FuzzDecode -fuzztime $(FUZZTIME) ./host/internal/b64
	$(GO) test -run '^$$' -fuzz FuzzKernel -fuzztime $(FUZZTIME) ./host

# The Lambda package (provided.al2023): bootstrap for arm64 and amd64,
# zipped with LAMBDA_PIPELINE and the modules it references. The default
# is the reference job on its AssemblyScript module (the same ECS
# documents as the Go module, byte for byte; a 33 KB module instead of
# 3.3 MB of Go: a cold start takes ~20 ms instead of ~90 ms with the
# cache, ~50-90 ms instead of seconds without one; see the
# README's "Cold start"). LAMBDA_PIPELINE=examples/cloudtrail-ecs/pipeline.yaml
# ships the Go module. Each package also ships the pipeline's compilation
# cache (weir precompile) as cache/: for this machine's architecture
# directly, for the other when qemu-user can run weir for it
# (apt-get install qemu-user-static); otherwise that package has none
# (its containers compile at start, or share a cache: WEIR_CACHE_S3).
LAMBDA_PIPELINE ?= examples/cloudtrail-ecs/pipeline-as.yaml
LAMBDA_ARCHS ?= arm64 amd64
lambda-zip: build modules modules-as
	for arch in $(LAMBDA_ARCHS); do \
		CGO_ENABLED=0 GOOS=linux GOARCH=$$arch $(GO) build -tags lambda.norpc -trimpath -ldflags='-s -w' -o bin/linux-$$arch/bootstrap ./cmd/bootstrap || exit 1; \
		case $$arch in arm64) qemu=qemu-aarch64-static;; amd64) qemu=qemu-x86_64-static;; *) qemu=none;; esac; \
		weir=; cache=; \
		if [ $$arch = "$$($(GO) env GOARCH)" ]; then weir=./bin/weir; \
		elif command -v $$qemu >/dev/null; then \
			CGO_ENABLED=0 GOOS=linux GOARCH=$$arch $(GO) build -o bin/linux-$$arch/weir ./cmd/weir || exit 1; \
			weir="$$qemu bin/linux-$$arch/weir"; \
		else echo "lambda-zip: no $$qemu: bin/weir-lambda-$$arch.zip ships no compilation cache"; fi; \
		if [ -n "$$weir" ]; then \
			rm -rf bin/lambda-cache-$$arch && $$weir precompile -p $(LAMBDA_PIPELINE) -o bin/lambda-cache-$$arch && cache="-cache bin/lambda-cache-$$arch" || exit 1; \
		fi; \
		$(GO) run ./cmd/bootstrap/mkzip -o bin/weir-lambda-$$arch.zip -bootstrap bin/linux-$$arch/bootstrap -p $(LAMBDA_PIPELINE) $$cache || exit 1; \
	done
	@ls -l bin/weir-lambda-*.zip

clean:
	rm -rf bin $(MODULE_WASM) $(AS_WASM) $(RUST_WASM) $(C_WASM)
