# Entry points for people and CI. Each target installs what is missing, builds, then runs.
JOBS ?= $(shell nproc)
CTEST_ARGS ?=

.PHONY: all deps build run run-simpledb run-gate run-native run-redis bench-redis bench-cluster test soak install-check asan-test tsan-test thread-safety fuzz bench format tidy clean

all: build

deps:
	@scripts/deps.sh

build/%/build.ninja: | deps
	cmake --preset $* >/dev/null

build: deps build/release/build.ninja
	cmake --build build/release -j $(JOBS)

# The main demo: two nodes on loopback, one calling the other's database through the cluster
# from Lua and from C++ (examples/cluster).
run: build
	scripts/cluster_demo.sh

# The C++ cluster API under the loads of the Lua cluster benchmarks, between two nodes.
bench-cluster: build
	scripts/cluster_demo.sh bench

# One node's Lua services (examples/simpledb) booted the skynet way.
run-simpledb: build
	build/release/bin/starling examples/simpledb/config

# A watchdog, the gate and echo agents, with a Lua client (examples/watchdog).
run-gate: build
	build/release/bin/starling examples/watchdog/config

# Two native C++ services calling each other, with round-trip figures.
run-native: build
	cd examples && STARLING_CSERVICE=../build/release/cservice ../build/release/bin/starling pingpong/config

# The native redis client (examples/redis_native) against a throwaway redis-server.
run-redis: build
	scripts/redis_native.sh demo

# The native redis client under the load of the Lua redis benchmark (RESULT lines).
bench-redis: build
	scripts/redis_native.sh bench

# Every test but the soak (label soak: minutes long; `make soak`).
test: build
	ctest --test-dir build/release --output-on-failure -j $(JOBS) -LE soak $(CTEST_ARGS)

# The soak test (tests/soak/soak.sh, docs/TESTING.md "Soak"): one node under mixed load for
# SOAK_SECONDS, then its memory, fds, calls, log and graceful stop checked.
SOAK_SECONDS ?= 120
soak: build
	SOAK_SECONDS=$(SOAK_SECONDS) STARLING=build/release/bin/starling tests/soak/soak.sh

# Installs the release build into a temporary prefix, builds examples/external_module against
# it (CMake package and pkg-config) and runs nodes that load it (scripts/install_check.sh).
install-check: build
	scripts/install_check.sh

asan-test: deps build/asan/build.ninja
	cmake --build build/asan -j $(JOBS)
	ctest --test-dir build/asan --output-on-failure -j $(JOBS) -LE soak $(CTEST_ARGS)

# TSan runs the tests that exercise threads: those labelled "concurrency", and the Lua cases
# (each a whole node).
tsan-test: deps build/tsan/build.ninja
	cmake --build build/tsan -j $(JOBS)
	TSAN_OPTIONS=halt_on_error=1 ctest --test-dir build/tsan --output-on-failure -L 'concurrency|lua' -j $(JOBS) $(CTEST_ARGS)

# clang checks the lock annotations (src/base/thread_safety.hpp) of every library; nothing runs.
thread-safety: deps build/thread-safety/build.ninja
	cmake --build build/thread-safety -j $(JOBS)

FUZZ_SECONDS ?= 30
fuzz: deps build/fuzz/build.ninja
	cmake --build build/fuzz -j $(JOBS)
	mkdir -p build/fuzz/corpus/seri
	build/fuzz/bin/seri_unpack_fuzz -max_total_time=$(FUZZ_SECONDS) -max_len=4096 build/fuzz/corpus/seri
	mkdir -p build/fuzz/corpus/lua
	build/fuzz/bin/lua_unpack_fuzz -max_total_time=$(FUZZ_SECONDS) -max_len=4096 build/fuzz/corpus/lua
	mkdir -p build/fuzz/corpus/netpack
	build/fuzz/bin/netpack_fuzz -max_total_time=$(FUZZ_SECONDS) -max_len=8192 build/fuzz/corpus/netpack
	mkdir -p build/fuzz/corpus/resp
	build/fuzz/bin/resp_fuzz -max_total_time=$(FUZZ_SECONDS) -max_len=4096 build/fuzz/corpus/resp
	mkdir -p build/fuzz/corpus/cluster_request
	build/fuzz/bin/cluster_request_fuzz -max_total_time=$(FUZZ_SECONDS) -max_len=8192 build/fuzz/corpus/cluster_request
	mkdir -p build/fuzz/corpus/cluster_response
	build/fuzz/bin/cluster_response_fuzz -max_total_time=$(FUZZ_SECONDS) -max_len=8192 build/fuzz/corpus/cluster_response
	mkdir -p build/fuzz/corpus/harbor_link
	build/fuzz/bin/harbor_link_fuzz -max_total_time=$(FUZZ_SECONDS) -max_len=8192 build/fuzz/corpus/harbor_link
	mkdir -p build/fuzz/corpus/sproto_decode
	build/fuzz/bin/sproto_decode_fuzz -max_total_time=$(FUZZ_SECONDS) -max_len=4096 build/fuzz/corpus/sproto_decode
	mkdir -p build/fuzz/corpus/sproto_unpack
	build/fuzz/bin/sproto_unpack_fuzz -max_total_time=$(FUZZ_SECONDS) -max_len=4096 build/fuzz/corpus/sproto_unpack
	mkdir -p build/fuzz/corpus/bson
	build/fuzz/bin/bson_decode_fuzz -max_total_time=$(FUZZ_SECONDS) -max_len=4096 build/fuzz/corpus/bson
	mkdir -p build/fuzz/corpus/mongo_reply
	build/fuzz/bin/mongo_reply_fuzz -max_total_time=$(FUZZ_SECONDS) -max_len=4096 build/fuzz/corpus/mongo_reply
	mkdir -p build/fuzz/corpus/http_request
	build/fuzz/bin/http_request_fuzz -max_total_time=$(FUZZ_SECONDS) -max_len=4096 build/fuzz/corpus/http_request
	mkdir -p build/fuzz/corpus/ws_frame
	build/fuzz/bin/ws_frame_fuzz -max_total_time=$(FUZZ_SECONDS) -max_len=8192 build/fuzz/corpus/ws_frame

bench: build
	build/release/bin/starling_bench
	build/release/bin/seri_bench

format:
	find src tests bench examples fuzz -name '*.cpp' -o -name '*.hpp' | xargs clang-format -i

# clang-tidy over every source of src/ (.clang-tidy), findings as errors. It needs only the
# compile commands, so it configures build/tidy without building anything.
tidy: deps
	cmake -S . -B build/tidy -G Ninja -DCMAKE_BUILD_TYPE=Release -DSTARLING_BUILD_TESTS=OFF -DSTARLING_BUILD_BENCH=OFF > /dev/null
	find src -name '*.cpp' | sort | xargs -P $(JOBS) -n 4 clang-tidy -p build/tidy --quiet --warnings-as-errors='*'

clean:
	rm -rf build
