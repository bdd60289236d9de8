// skynet.pack / skynet.unpack costs on the message hot path.

#include <benchmark/benchmark.h>

#include <string>

#include "seri/reader.hpp"
#include "seri/writer.hpp"

namespace {

namespace seri = starling::seri;

const std::string& kilobyte() {
  static const std::string s(1024, 'k');
  return s;
}

const seri::value& table_100() {
  static const seri::value t = [] {
    seri::table contents;
    for (int i = 1; i <= 100; ++i)
      contents.array.emplace_back(i * 1000);
    return seri::value(std::move(contents));
  }();
  return t;
}

void pack_ping(benchmark::State& state) {
  for (auto _ : state) {
    starling::payload p = seri::pack("ping", 42);
    benchmark::DoNotOptimize(p.data());
  }
}
BENCHMARK(pack_ping);

void unpack_ping(benchmark::State& state) {
  const starling::payload p = seri::pack("ping", 42);
  for (auto _ : state) {
    seri::value_list values = seri::unpack(p);
    benchmark::DoNotOptimize(values.data());
  }
}
BENCHMARK(unpack_ping);

// What a C++ service does: typed reads, no allocation at all.
void unpack_ping_typed(benchmark::State& state) {
  const starling::payload p = seri::pack("ping", 42);
  for (auto _ : state) {
    seri::reader r(p.bytes());
    std::string_view command = r.read_string();
    std::int64_t n = r.read_integer();
    benchmark::DoNotOptimize(command.data());
    benchmark::DoNotOptimize(n);
  }
}
BENCHMARK(unpack_ping_typed);

void pack_string_1k(benchmark::State& state) {
  for (auto _ : state) {
    starling::payload p = seri::pack(kilobyte());
    benchmark::DoNotOptimize(p.data());
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) * 1024);
}
BENCHMARK(pack_string_1k);

void unpack_string_1k(benchmark::State& state) {
  const starling::payload p = seri::pack(kilobyte());
  for (auto _ : state) {
    seri::value_list values = seri::unpack(p);
    benchmark::DoNotOptimize(values.data());
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) * 1024);
}
BENCHMARK(unpack_string_1k);

void unpack_string_1k_typed(benchmark::State& state) {
  const starling::payload p = seri::pack(kilobyte());
  for (auto _ : state) {
    seri::reader r(p.bytes());
    std::string_view s = r.read_string();
    benchmark::DoNotOptimize(s.data());
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) * 1024);
}
BENCHMARK(unpack_string_1k_typed);

void pack_table_100(benchmark::State& state) {
  for (auto _ : state) {
    starling::payload p = seri::pack(table_100());
    benchmark::DoNotOptimize(p.data());
  }
}
BENCHMARK(pack_table_100);

// The same table streamed without building a value first.
void pack_table_100_streamed(benchmark::State& state) {
  for (auto _ : state) {
    seri::writer w;
    w.begin_table(100);
    for (int i = 1; i <= 100; ++i)
      w.write_integer(i * 1000);
    w.end_table();
    starling::payload p = w.finish();
    benchmark::DoNotOptimize(p.data());
  }
}
BENCHMARK(pack_table_100_streamed);

void unpack_table_100(benchmark::State& state) {
  const starling::payload p = seri::pack(table_100());
  for (auto _ : state) {
    seri::value_list values = seri::unpack(p);
    benchmark::DoNotOptimize(values.data());
  }
}
BENCHMARK(unpack_table_100);

}  // namespace

BENCHMARK_MAIN();
