// Feeds arbitrary bytes to the HTTP request parser (net/http_wire) twice: whole, and cut into
// arbitrary pieces the way socket reads cut a stream. Both runs must see the same requests and
// end the same way (waiting for more, or failing with the same status), every request within
// the limits.

#include <fuzzer/FuzzedDataProvider.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "net/http_wire.hpp"

namespace http = starling::net::http;

namespace {

[[noreturn]] void fail(const char* what) {
  std::fprintf(stderr, "http_request_fuzz: %s\n", what);
  std::abort();  // libFuzzer saves the input
}

constexpr http::limits limits{512, 1024};

struct run {
  std::vector<http::message> requests;
  int status = 0;  // 0: still waiting for more
};

run parse_stream(std::string_view bytes, const std::vector<std::size_t>& cuts) {
  run out;
  http::parser p(http::parser::kind::request, limits);
  std::size_t fed = 0;
  std::size_t next_cut = 0;
  while (true) {
    const http::parser::state s = p.parse();
    if (s == http::parser::state::complete) {
      out.requests.push_back(p.take());
      const http::message& m = out.requests.back();
      if (m.body.size() > limits.body) fail("body over the limit");
      if (m.method.empty() || m.target.empty()) fail("empty request line part");
      continue;
    }
    if (s == http::parser::state::failed) {
      out.status = p.status();
      if (out.status < 400 || out.status > 505) fail("status out of range");
      return out;
    }
    if (fed == bytes.size()) return out;
    std::size_t n = next_cut < cuts.size() ? cuts[next_cut++] : bytes.size() - fed;
    if (n == 0 || n > bytes.size() - fed) n = bytes.size() - fed;
    p.feed(bytes.substr(fed, n));
    fed += n;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  FuzzedDataProvider in(data, size);
  std::vector<std::size_t> cuts(in.ConsumeIntegralInRange<std::size_t>(0, 16));
  for (auto& c : cuts)
    c = in.ConsumeIntegralInRange<std::size_t>(1, 64);
  const std::string bytes = in.ConsumeRemainingBytesAsString();
  const run whole = parse_stream(bytes, {});
  const run pieces = parse_stream(bytes, cuts);
  if (whole.status != pieces.status) fail("status differs with the cuts");
  if (whole.requests.size() != pieces.requests.size()) fail("request count differs");
  for (std::size_t i = 0; i < whole.requests.size(); ++i) {
    const http::message& a = whole.requests[i];
    const http::message& b = pieces.requests[i];
    if (a.method != b.method || a.target != b.target || a.body != b.body || a.fields != b.fields) {
      fail("request differs with the cuts");
    }
  }
  return 0;
}
