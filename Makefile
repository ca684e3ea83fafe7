# Parry's two set-up commands, and the steps they are made of.
#
#   make test    install dependencies, build (plain and ASan+UBSan), start a
#                real Kafka broker and PostgreSQL, run every test, stop them
#   make demo    the whole pipeline on one machine (`parry dev`, docs/demo.md)
#   make bench   benchmarks: figures and ratios against peers, printed
#
# Smaller steps: make deps | build | build-asan | release | docs | clean
#   make release  the programs as deployed: LTO + profile-guided optimization
#                 (scripts/release-build.sh), in build-release/

BUILD_DIR ?= build
ASAN_BUILD_DIR ?= build-asan
RELEASE_BUILD_DIR ?= build-release
GENERATOR := $(shell command -v ninja >/dev/null 2>&1 && echo Ninja || echo "Unix Makefiles")
CMAKE_FLAGS ?=

.PHONY: all deps build build-asan release test bench demo docs clean kafka-jars

all: build

deps:
	scripts/install-deps.sh

kafka-jars: deps
	scripts/kafka.sh fetch

build: deps
	cmake -S . -B $(BUILD_DIR) -G "$(GENERATOR)" -DCMAKE_BUILD_TYPE=RelWithDebInfo $(CMAKE_FLAGS)
	cmake --build $(BUILD_DIR)

# The sanitizer build uses clang, which also builds the libFuzzer targets.
build-asan: deps
	CC=clang cmake -S . -B $(ASAN_BUILD_DIR) -G "$(GENERATOR)" -DCMAKE_BUILD_TYPE=Debug -DPARRY_SANITIZE=ON -DPARRY_FUZZ=ON $(CMAKE_FLAGS)
	cmake --build $(ASAN_BUILD_DIR)

# Link-time and profile-guided optimization (cmake/ParryRelease.cmake): the
# build to deploy and to benchmark. `make test` checks it against `build`.
release: deps
	scripts/release-build.sh $(abspath $(RELEASE_BUILD_DIR))

test: build build-asan release kafka-jars
	BUILD_DIR=$(abspath $(BUILD_DIR)) ASAN_BUILD_DIR=$(abspath $(ASAN_BUILD_DIR)) \
	  RELEASE_BUILD_DIR=$(abspath $(RELEASE_BUILD_DIR)) scripts/test.sh

bench: build release kafka-jars
	scripts/install-deps.sh bench
	BUILD_DIR=$(abspath $(BUILD_DIR)) RELEASE_BUILD_DIR=$(abspath $(RELEASE_BUILD_DIR)) bench/run.sh

# parry dev: mock Kafka inside the process, a temporary PostgreSQL, the three
# services and generated attacks (docs/demo.md); no Kafka jars needed.
demo: build
	BUILD_DIR=$(abspath $(BUILD_DIR)) scripts/demo.sh

# docs/configuration.md is generated from lib/settings.def (a test checks it).
docs: build
	$(BUILD_DIR)/bin/parry config --reference --markdown > docs/configuration.md

clean:
	rm -rf $(BUILD_DIR) $(ASAN_BUILD_DIR) $(RELEASE_BUILD_DIR)
