// Feeds arbitrary bytes to the RESP reply parser (net/resp) twice: whole, and cut into
// arbitrary pieces the way socket reads cut a stream. Both must produce the same replies and
// end the same way (waiting for more, or failing with the same reason). Also encodes a command
// from the input and checks that it parses back as the array of bulk strings it was made of.

#include <fuzzer/FuzzedDataProvider.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "net/resp.hpp"

namespace resp = starling::resp;

namespace {

[[noreturn]] void fail(const char* what) {
  std::fprintf(stderr, "resp_fuzz: %s\n", what);
  std::abort();  // libFuzzer saves the input
}

struct run {
  std::vector<resp::value> replies;
  bool failed = false;
  std::string error;
  std::size_t unconsumed = 0;
};

/// Parses `bytes` delivered in pieces of the given sizes (the rest in one last piece).
run parse_stream(std::string_view bytes, const std::vector<std::size_t>& cuts) {
  run out;
  resp::parser p;
  std::string unread;
  std::size_t fed = 0;
  std::size_t next_cut = 0;
  while (fed < bytes.size()) {
    std::size_t n = bytes.size() - fed;
    if (next_cut < cuts.size()) n = std::min(n, cuts[next_cut++]);
    unread.append(bytes.substr(fed, n));
    fed += n;
    for (;;) {
      std::size_t used = 0;
      const resp::parser::status s = p.parse(unread, used);
      if (used > unread.size()) fail("consumed more than it was given");
      unread.erase(0, used);
      if (s == resp::parser::status::done) {
        out.replies.push_back(p.take());
        continue;
      }
      if (s == resp::parser::status::failed) {
        out.failed = true;
        out.error = p.error();
        if (p.error().empty()) fail("a failure without a reason");
        return out;
      }
      break;
    }
  }
  out.unconsumed = unread.size();
  return out;
}

void check_command_round_trip(FuzzedDataProvider& in) {
  std::vector<std::string> args;
  const std::size_t count = in.ConsumeIntegralInRange<std::size_t>(1, 8);
  for (std::size_t i = 0; i < count; ++i)
    args.push_back(in.ConsumeRandomLengthString(64));
  std::vector<std::string_view> views(args.begin(), args.end());
  const starling::payload body = resp::encode_command(views);
  if (body.size() != resp::command_size(views)) fail("command_size differs from the encoding");
  resp::parser p;
  std::size_t used = 0;
  if (p.parse(body.view(), used) != resp::parser::status::done) fail("a command did not parse");
  if (used != body.size()) fail("a command parsed short");
  const resp::value v = p.take();
  if (!v.is_array() || v.elements.size() != args.size()) fail("a command is not its array");
  for (std::size_t i = 0; i < args.size(); ++i) {
    if (v.elements[i].type != resp::value::kind::bulk || v.elements[i].text != args[i]) {
      fail("an argument changed on the way");
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  FuzzedDataProvider in(data, size);
  if (in.ConsumeBool()) {
    check_command_round_trip(in);
    return 0;
  }
  std::vector<std::size_t> cuts;
  const std::size_t pieces = in.ConsumeIntegralInRange<std::size_t>(0, 16);
  for (std::size_t i = 0; i < pieces; ++i)
    cuts.push_back(in.ConsumeIntegralInRange<std::size_t>(1, 64));
  const std::string bytes = in.ConsumeRemainingBytesAsString();

  const run whole = parse_stream(bytes, {});
  const run cut = parse_stream(bytes, cuts);
  if (whole.replies != cut.replies) fail("the replies depend on how the stream was cut");
  if (whole.failed != cut.failed || whole.error != cut.error) {
    fail("the failure depends on how the stream was cut");
  }
  if (!whole.failed && whole.unconsumed > bytes.size()) fail("unconsumed past the input");
  return 0;
}
