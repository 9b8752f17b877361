# The two commands of the README, plus helpers. Each installs what is missing first.
SWIFT ?= swift
# The public image corpus the benchmarks and reference generators read (tests never do).
CORPUS ?= ../shared/corpus

.PHONY: demo test build release bench deps references

deps:
	@./scripts/install-dependencies.sh

demo: deps
	rm -rf /tmp/dip-demo && mkdir -p /tmp/dip-demo && cp -r Examples/images /tmp/dip-demo/
	$(SWIFT) run dip-client submit --embedded --seed 42 /tmp/dip-demo/images

# One suite at a time: many suites start real servers and nodes, and run all at once on a
# 2-core machine they starve each other's health checks and deadlines (about 3 minutes).
test: deps
	$(SWIFT) build --build-tests
	$(SWIFT) test --no-parallel

build: deps
	$(SWIFT) build

release: deps
	$(SWIFT) build -c release

# Every table of Docs/Benchmarks.md with the peers side by side (about 15 minutes on a quiet 2-core machine).
bench: deps
	Benchmarks/all.sh $(CORPUS)

references:
	python3 scripts/references/make_references.py --corpus $(CORPUS)
