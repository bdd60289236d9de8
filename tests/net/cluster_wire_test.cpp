// The cluster wire codec (net/cluster_wire) against the golden vectors of real skynet
// (tests/vectors/cluster.json, read at run time): every encoding byte for byte, every decoding
// in the shape skynet.cluster.core returns it, the recorded two-node session re-encoded; then
// the reassembly of split messages (interleaving, totals that do not add up, orphans, limits)
// and the edges the vectors leave out.

#include "net/cluster_wire.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <lua.hpp>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "../support/cluster_vectors.hpp"

namespace starling::net::cluster {
namespace {

using namespace cluster_vectors;  // NOLINT(google-build-using-namespace): test helpers

using request_status = request_assembler::outcome::status;
using response_status = response_assembler::outcome::status;

std::span<const std::byte> bytes_of(std::string_view s) {
  return std::as_bytes(std::span(s.data(), s.size()));
}

template <class Frames>
std::vector<std::string> encode_all(const Frames& frames) {
  std::vector<std::string> out;
  for (std::size_t i = 0; i < frames.count(); ++i) {
    std::string frame(frames.size(i), '\0');
    EXPECT_LE(frame.size(), max_frame_size);
    EXPECT_EQ(frames.write(i, std::as_writable_bytes(std::span(frame.data(), frame.size()))),
              frame.size());
    out.push_back(std::move(frame));
  }
  return out;
}

std::string text_of(std::span<const std::byte> bytes) {
  return {reinterpret_cast<const char*>(bytes.data()), bytes.size()};
}

std::int64_t integer_of(const json& typed) {
  return std::stoll(typed["value"].get<std::string>());
}

value destination_value(const destination& to) {
  if (const auto* handle = std::get_if<std::uint32_t>(&to)) return value::number(*handle);
  return value::string(std::string(std::get<std::string_view>(to)));
}

// What skynet.cluster.core's unpackrequest returns for `part`: the binding's shapes, which the
// decoded part must carry everything for.
std::vector<value> lua_shape(const request_part& part) {
  using kind = request_part::kind;
  switch (part.type) {
    case kind::message: {
      std::vector<value> v{destination_value(part.to), value::number(part.session),
                           value::buffer(text_of(part.data)),
                           value::number(static_cast<std::int64_t>(part.data.size()))};
      if (part.push) {
        v.push_back(value::nil());
        v.push_back(value::boolean(true));
      }
      return v;
    }
    case kind::header:
      return {destination_value(part.to), value::number(part.session), value::nil(),
              value::number(part.total),  value::boolean(true),        value::boolean(part.push)};
    case kind::fragment:
    case kind::last:
      return {value::boolean(false), value::number(part.session), value::buffer(text_of(part.data)),
              value::number(static_cast<std::int64_t>(part.data.size())),
              value::boolean(part.type == kind::fragment)};
    case kind::trace:
      return {value::string(text_of(part.data))};
  }
  return {};
}

// What unpackresponse returns for `part`.
std::vector<value> lua_shape(const response_part& part) {
  using kind = response_part::kind;
  std::vector<value> v{value::number(part.session), value::boolean(part.type != kind::error)};
  if (part.type == kind::begin) {
    v.push_back(value::number(part.total));
  } else {
    v.push_back(value::string(text_of(part.data)));
  }
  if (part.type == kind::begin || part.type == kind::piece) v.push_back(value::boolean(true));
  return v;
}

// A Lua expression of the file (an address) as a handle or a name; nullopt for other types.
std::optional<std::variant<std::int64_t, std::string>> eval_address(const std::string& expr) {
  const std::unique_ptr<lua_State, decltype(&lua_close)> state(luaL_newstate(), &lua_close);
  lua_State* L = state.get();
  luaL_openlibs(L);
  if (luaL_dostring(L, ("return " + expr).c_str()) != LUA_OK) return std::nullopt;
  if (lua_isinteger(L, -1)) return lua_tointeger(L, -1);
  if (lua_type(L, -1) != LUA_TSTRING) return std::nullopt;
  std::size_t size = 0;
  const char* s = lua_tolstring(L, -1, &size);
  return std::string(s, size);
}

TEST(cluster_vectors, are_present) {
  ASSERT_TRUE(vectors().is_object()) << "cannot read " STARLING_VECTORS_DIR "/cluster.json";
  for (const char* section : {"requests", "request_errors", "traces", "trace_errors", "responses",
                              "unpackrequest_inputs", "unpackresponse_inputs"}) {
    EXPECT_FALSE(refs(section).empty()) << section;
  }
  EXPECT_FALSE(vectors()["wire_session"]["operations"].empty());
}

// ---- requests ------------------------------------------------------------------------------

class cluster_request : public ::testing::TestWithParam<case_ref> {};

TEST_P(cluster_request, encodes_decodes_and_reassembles) {
  const json& c = entry(GetParam());
  const request_kind kind = c["function"] == "packpush" ? request_kind::push : request_kind::call;
  std::string name;
  destination to;
  if (c["address"]["type"] == "integer") {
    to = static_cast<std::uint32_t>(integer_of(c["address"]));
  } else {
    name = expected_bytes(c["address"], {});
    to = std::string_view(name);
  }
  const auto session = static_cast<std::int32_t>(integer_of(c["session"]));
  const std::string payload = payload_bytes(c["payload"].get<std::string>());
  ASSERT_EQ(payload.size(), c["payload_size"].get<std::size_t>());

  const auto frames = request_frames::make(kind, to, session, bytes_of(payload));
  ASSERT_TRUE(frames) << describe(frames.error());
  const std::vector<std::string> want = frames_of(c["frames"]);
  EXPECT_EQ(encode_all(frames.value()), want);
  EXPECT_EQ(frames->count() == 1 ? 2 : 3, c["returns_count"].get<int>());
  EXPECT_EQ(next_session(session), integer_of(c["next_session"]));

  request_assembler assembler;
  for (std::size_t i = 0; i < want.size(); ++i) {
    SCOPED_TRACE("frame " + std::to_string(i));
    const std::string body = body_of(want[i]);
    const auto part = decode_request(bytes_of(body));
    ASSERT_TRUE(part) << describe(part.error());
    expect_values(c["unpackrequest"][i], lua_shape(part.value()), body);
    request_assembler::outcome got = assembler.feed(part.value());
    if (i + 1 < want.size()) {
      EXPECT_EQ(got.what, request_status::pending);
      continue;
    }
    ASSERT_EQ(got.what, request_status::complete);
    EXPECT_EQ(got.message.view() == payload, c["reassembled_equals_payload"].get<bool>());
    EXPECT_EQ(got.push, kind == request_kind::push);
    if (name.empty()) {
      EXPECT_EQ(std::get<std::uint32_t>(got.to), std::get<std::uint32_t>(to));
    } else {
      EXPECT_EQ(std::get<std::string>(got.to), name);
    }
  }
  EXPECT_EQ(assembler.pending(), 0U);
  EXPECT_EQ(assembler.buffered(), 0U);
}

INSTANTIATE_TEST_SUITE_P(vectors, cluster_request, ::testing::ValuesIn(refs("requests")),
                         test_name);

class cluster_request_error : public ::testing::TestWithParam<case_ref> {};

// The inputs are only in the case's Lua call: cluster.packrequest(<addr>, <session>, ...).
TEST_P(cluster_request_error, has_skynets_text) {
  const json& c = entry(GetParam());
  const std::string call = c["lua_call"].get<std::string>();
  const std::size_t open = call.find('(');
  const std::size_t pack = call.rfind(", skynet.pack(");
  const std::size_t comma = call.rfind(", ", pack - 1);
  ASSERT_TRUE(open != std::string::npos && pack != std::string::npos && comma > open) << call;
  const auto address = eval_address(call.substr(open + 1, comma - open - 1));
  const auto session_value = eval_address(call.substr(comma + 2, pack - comma - 2));
  ASSERT_TRUE(session_value && std::holds_alternative<std::int64_t>(*session_value)) << call;
  if (!address) {
    // A boolean or a table: not a destination in C++ (the Lua module's test has it).
    EXPECT_NE(c["error"].get<std::string>().find("name is not a string"), std::string::npos);
    return;
  }
  destination to;
  if (const auto* handle = std::get_if<std::int64_t>(&*address)) {
    to = static_cast<std::uint32_t>(*handle);
  } else {
    to = std::string_view(std::get<std::string>(*address));
  }
  const std::string payload = "\x0a\x01";
  const auto frames = request_frames::make(
      c["function"] == "packpush" ? request_kind::push : request_kind::call, to,
      static_cast<std::int32_t>(std::get<std::int64_t>(*session_value)), bytes_of(payload));
  ASSERT_FALSE(frames);
  EXPECT_EQ(describe(frames.error()), c["error"].get<std::string>());
}

INSTANTIATE_TEST_SUITE_P(vectors, cluster_request_error,
                         ::testing::ValuesIn(refs("request_errors")), test_name);

class cluster_trace : public ::testing::TestWithParam<case_ref> {};

TEST_P(cluster_trace, encodes_and_decodes) {
  const json& c = entry(GetParam());
  const std::string tag = eval_string(c["tag_lua"].get<std::string>());
  std::string frame(trace_size(tag.size()), '\0');
  const auto written =
      write_trace(tag, std::as_writable_bytes(std::span(frame.data(), frame.size())));
  ASSERT_TRUE(written);
  EXPECT_EQ(written.value(), frame.size());
  EXPECT_EQ(std::vector<std::string>{frame}, frames_of(c["frames"]));
  const std::string body = body_of(frame);
  const auto part = decode_request(bytes_of(body));
  ASSERT_TRUE(part);
  expect_values(c["unpackrequest"][0], lua_shape(part.value()), body);
}

INSTANTIATE_TEST_SUITE_P(vectors, cluster_trace, ::testing::ValuesIn(refs("traces")), test_name);

TEST(cluster_trace_error, too_long_has_skynets_text) {
  for (const case_ref& ref : refs("trace_errors")) {
    const json& c = entry(ref);
    const auto tag = eval_address(c["tag_lua"].get<std::string>());
    if (!tag) continue;  // not a string: the Lua module's test has it
    const std::string& text = std::get<std::string>(*tag);
    const auto written = write_trace(text, {});
    ASSERT_FALSE(written) << ref.name;
    EXPECT_EQ(describe(written.error()), c["error"].get<std::string>());
  }
}

// ---- responses -----------------------------------------------------------------------------

// The message of a response case. One is skynet.packstring of a handle, which plain Lua cannot
// evaluate: its bytes are taken from what skynet decoded (the encoding is still checked).
std::string message_of(const json& c) {
  if (c.contains("payload")) return payload_bytes(c["payload"].get<std::string>());
  const std::string lua = c["message_lua"].get<std::string>();
  if (lua.find("skynet.") == std::string::npos) return eval_string(lua);
  return from_hex(c["unpackresponse"][0][2]["hex"].get<std::string>());
}

class cluster_response : public ::testing::TestWithParam<case_ref> {};

TEST_P(cluster_response, encodes_decodes_and_reassembles) {
  const json& c = entry(GetParam());
  const auto session = static_cast<std::uint32_t>(integer_of(c["session"]));
  const bool ok = c["ok"].get<bool>();
  const std::string message = message_of(c);
  ASSERT_EQ(message.size(), c["payload_size"].get<std::size_t>());

  const auto frames = response_frames::make(session, ok, bytes_of(message));
  ASSERT_TRUE(frames);
  const std::vector<std::string> want = frames_of(c["frames"]);
  EXPECT_EQ(encode_all(frames.value()), want);
  EXPECT_EQ(frames->split(), c["multipart"].get<bool>());

  response_assembler assembler;
  for (std::size_t i = 0; i < want.size(); ++i) {
    SCOPED_TRACE("frame " + std::to_string(i));
    const std::string body = body_of(want[i]);
    const auto part = decode_response(bytes_of(body));
    ASSERT_TRUE(part) << describe(part.error());
    expect_values(c["unpackresponse"][i], lua_shape(part.value()), body);
    response_assembler::outcome got = assembler.feed(part.value());
    if (i + 1 < want.size()) {
      EXPECT_EQ(got.what, response_status::pending);
      continue;
    }
    EXPECT_EQ(got.what, ok ? response_status::ok : response_status::error);
    EXPECT_EQ(got.session, session);
    EXPECT_EQ(got.data.size(), c["delivered_size"].get<std::size_t>());
    EXPECT_EQ(got.data.view() == message, c["delivered_equals_payload"].get<bool>());
  }
  EXPECT_EQ(assembler.pending(), 0U);
}

INSTANTIATE_TEST_SUITE_P(vectors, cluster_response, ::testing::ValuesIn(refs("responses")),
                         test_name);

// ---- crafted bodies ------------------------------------------------------------------------

class cluster_unpackrequest_input : public ::testing::TestWithParam<case_ref> {};

TEST_P(cluster_unpackrequest_input, decodes_or_refuses_like_skynet) {
  const json& c = entry(GetParam());
  const std::string body = from_hex(c["hex"].get<std::string>());
  const auto part = decode_request(bytes_of(body));
  if (!c["ok"].get<bool>()) {
    ASSERT_FALSE(part);
    EXPECT_EQ(describe(part.error()), c["error"].get<std::string>());
    return;
  }
  ASSERT_TRUE(part) << describe(part.error());
  expect_values(c["returns"], lua_shape(part.value()), body);
}

INSTANTIATE_TEST_SUITE_P(vectors, cluster_unpackrequest_input,
                         ::testing::ValuesIn(refs("unpackrequest_inputs")), test_name);

class cluster_unpackresponse_input : public ::testing::TestWithParam<case_ref> {};

TEST_P(cluster_unpackresponse_input, decodes_or_refuses_like_skynet) {
  const json& c = entry(GetParam());
  const std::string body = from_hex(c["hex"].get<std::string>());
  const auto part = decode_response(bytes_of(body));
  if (c["returns"].empty()) {
    EXPECT_FALSE(part) << "skynet returns nothing for it";
    return;
  }
  ASSERT_TRUE(part) << describe(part.error());
  expect_values(c["returns"], lua_shape(part.value()), body);
}

INSTANTIATE_TEST_SUITE_P(vectors, cluster_unpackresponse_input,
                         ::testing::ValuesIn(refs("unpackresponse_inputs")), test_name);

// ---- the recorded session ------------------------------------------------------------------

// The session of the request a trace frame precedes, read from the tag
// "(<nodename>-<node>-<n>)<tag>": n is one more than that session.
std::optional<std::uint32_t> traced_session(const std::string& tag) {
  const std::size_t close = tag.find(')');
  const std::size_t dash = tag.rfind('-', close);
  if (tag.empty() || tag[0] != '(' || close == std::string::npos || dash == std::string::npos ||
      dash < 2) {
    return std::nullopt;
  }
  if (tag.compare(dash - 2, 3, "-B-") != 0) return std::nullopt;
  return static_cast<std::uint32_t>(std::stoul(tag.substr(dash + 1, close - dash - 1)) - 1);
}

class cluster_wire_session : public ::testing::TestWithParam<std::size_t> {};

TEST_P(cluster_wire_session, every_frame_decodes_and_reencodes) {
  const json& op = vectors()["wire_session"]["operations"][GetParam()];
  SCOPED_TRACE(op["name"].get<std::string>());

  // Calling side to serving side: requests, each split one gathered by session.
  request_assembler requests;
  std::map<std::uint32_t, std::vector<std::string>> pieces;
  std::optional<std::uint32_t> expect_traced;
  for (const std::string& frame : frames_of(op["frames_a_to_b"])) {
    const std::string body = body_of(frame);
    const auto decoded = decode_request(bytes_of(body));
    ASSERT_TRUE(decoded) << describe(decoded.error());
    const request_part& part = decoded.value();
    if (part.type == request_part::kind::trace) {
      const std::string tag = text_of(part.data);
      expect_traced = traced_session(tag);
      EXPECT_TRUE(expect_traced) << "tag shape: " << tag;
      std::string again(trace_size(tag.size()), '\0');
      ASSERT_TRUE(write_trace(tag, std::as_writable_bytes(std::span(again.data(), again.size()))));
      EXPECT_EQ(again, frame);
      continue;
    }
    if (part.type != request_part::kind::message) pieces[part.session].push_back(frame);
    if (expect_traced) {
      EXPECT_EQ(part.session, *expect_traced) << "the trace tag names the next session + 1";
      expect_traced.reset();
    }
    request_assembler::outcome got = requests.feed(part);
    if (got.what == request_status::pending) continue;
    ASSERT_EQ(got.what, request_status::complete);
    // Re-encoded from what was rebuilt: the same frames.
    std::vector<std::string> sent = part.type == request_part::kind::message
                                        ? std::vector<std::string>{frame}
                                        : pieces[part.session];
    destination to;
    if (const auto* handle = std::get_if<std::uint32_t>(&got.to)) {
      to = *handle;
    } else {
      to = std::string_view(std::get<std::string>(got.to));
    }
    // A whole push carries session 0 on the wire, any positive session encodes it.
    const auto session = static_cast<std::int32_t>(got.session == 0 ? 1 : got.session);
    const auto frames = request_frames::make(got.push ? request_kind::push : request_kind::call, to,
                                             session, got.message.bytes());
    ASSERT_TRUE(frames);
    EXPECT_EQ(encode_all(frames.value()), sent);
  }
  EXPECT_EQ(requests.pending(), 0U);

  // Serving side back: responses.
  response_assembler responses;
  std::map<std::uint32_t, std::vector<std::string>> replies;
  for (const std::string& frame : frames_of(op["frames_b_to_a"])) {
    const std::string body = body_of(frame);
    const auto decoded = decode_response(bytes_of(body));
    ASSERT_TRUE(decoded) << describe(decoded.error());
    replies[decoded->session].push_back(frame);
    response_assembler::outcome got = responses.feed(decoded.value());
    if (got.what == response_status::pending) continue;
    ASSERT_TRUE(got.what == response_status::ok || got.what == response_status::error);
    EXPECT_EQ(got.what == response_status::ok, op["ok"].get<bool>());
    const auto frames =
        response_frames::make(got.session, got.what == response_status::ok, got.data.bytes());
    ASSERT_TRUE(frames);
    EXPECT_EQ(encode_all(frames.value()), replies[got.session]);
  }
  EXPECT_EQ(responses.pending(), 0U);
}

INSTANTIATE_TEST_SUITE_P(vectors, cluster_wire_session, ::testing::ValuesIn(operation_indices()),
                         operation_name);

// ---- encoding edges ------------------------------------------------------------------------

// Frames decoded, with the bodies their parts view.
struct decoded {
  std::vector<std::string> bodies;
  std::vector<request_part> parts;
};

decoded decode_all(const std::vector<std::string>& frames) {
  decoded d;
  for (const std::string& frame : frames)
    d.bodies.push_back(frame.substr(length_size));
  for (const std::string& body : d.bodies) {  // no more growth: the views stay valid
    const auto part = decode_request(bytes_of(body));
    EXPECT_TRUE(part);
    if (part) d.parts.push_back(part.value());
  }
  return d;
}

std::vector<std::string> request_of(request_kind kind, destination to, std::int32_t session,
                                    const std::string& payload) {
  const auto frames = request_frames::make(kind, to, session, bytes_of(payload));
  EXPECT_TRUE(frames);
  return frames ? encode_all(frames.value()) : std::vector<std::string>{};
}

TEST(cluster_wire, requests_split_from_32768_and_replies_above_32768) {
  for (const std::size_t size : {std::size_t{32767}, std::size_t{32768}, std::size_t{65537}}) {
    const std::string payload(size, 'p');
    const auto request = request_of(request_kind::call, 7U, 1, payload);
    EXPECT_EQ(request.size(), size < piece_size ? 1 : 1 + (size + piece_size - 1) / piece_size);
    const auto reply = response_frames::make(1, true, bytes_of(payload));
    ASSERT_TRUE(reply);
    EXPECT_EQ(reply->count(), size <= piece_size ? 1 : 2 + (size - 1) / piece_size);
  }
}

TEST(cluster_wire, the_largest_frame_is_a_whole_request_to_a_long_name) {
  const std::string name(max_name_length, 'n');
  const auto frames = request_of(request_kind::call, name, 1, std::string(piece_size - 1, 'x'));
  ASSERT_EQ(frames.size(), 1U);
  EXPECT_EQ(frames[0].size(), max_frame_size);
  EXPECT_LE(max_frame_size - length_size, 0xffffU) << "fits the u16 length";
}

TEST(cluster_wire, error_replies_are_cut_never_split) {
  const std::string text(piece_size * 3, 'e');
  const auto frames = response_frames::make(9, false, bytes_of(text));
  ASSERT_TRUE(frames);
  EXPECT_EQ(frames->count(), 1U);
  EXPECT_EQ(frames->size(0), length_size + 5 + piece_size);
}

TEST(cluster_wire, sessions_are_checked_and_wrap) {
  EXPECT_EQ(next_session(1), 2);
  EXPECT_EQ(next_session(0x7ffffffe), 0x7fffffff);
  EXPECT_EQ(next_session(0x7fffffff), 1);
  for (const std::int32_t bad : {0, -1, INT32_MIN}) {
    const auto frames = request_frames::make(request_kind::push, 1U, bad, {});
    ASSERT_FALSE(frames);
    EXPECT_EQ(frames.error().what, wire_error::code::bad_session);
    EXPECT_EQ(describe(frames.error()), "Invalid request session " + std::to_string(bad));
  }
}

TEST(cluster_wire, describe_cuts_to_the_buffer_and_names_stop_at_nul) {
  const std::string name("ab\0cd", 5);
  const wire_error e{wire_error::code::bad_name, 0, std::string_view(name.data(), 0)};
  EXPECT_EQ(describe(e), "name length is invalid, must be between 1 and 255 characters: ");
  const std::string long_name(300, 'n');
  const auto refused = request_frames::make(request_kind::call, std::string_view(long_name), 1, {});
  ASSERT_FALSE(refused);
  char small[10];
  const std::size_t full = describe(refused.error(), small);
  EXPECT_EQ(full, describe(refused.error()).size());
  EXPECT_EQ(std::string(small, sizeof small), "name lengt");
  const wire_error nul{wire_error::code::bad_name, 0, name};
  EXPECT_EQ(describe(nul), "name length is invalid, must be between 1 and 255 characters: ab");
}

// Every prefix of every kind of body: refused with an error or decoded within its bytes.
TEST(cluster_wire, cut_bodies_never_decode_past_their_end) {
  std::vector<std::string> frames;
  for (const auto& f : request_of(request_kind::call, std::string_view("@echo"), 3, "abc"))
    frames.push_back(f);
  for (const auto& f : request_of(request_kind::push, 10U, 3, std::string(40000, 'z')))
    frames.push_back(f.substr(0, 64));
  for (const auto& f :
       request_of(request_kind::call, std::string_view("@x"), 3, std::string(40000, 'y')))
    frames.push_back(f.substr(0, 64));
  for (const std::string& frame : frames) {
    const std::string body = frame.substr(length_size);
    for (std::size_t n = 0; n <= body.size(); ++n) {
      const std::string cut = body.substr(0, n);
      const auto part = decode_request(bytes_of(cut));
      if (!part || part->data.empty()) continue;
      const auto* begin = reinterpret_cast<const std::byte*>(cut.data());
      EXPECT_GE(part->data.data() + part->data.size(), begin);
      EXPECT_LE(part->data.data() + part->data.size(), begin + cut.size());
    }
  }
  for (std::size_t n = 0; n < 5; ++n) {
    EXPECT_FALSE(decode_response(bytes_of(std::string(n, '\x01'))));
  }
}

// ---- reassembly of requests ----------------------------------------------------------------

TEST(cluster_request_assembler, interleaved_split_requests_and_a_whole_one_in_between) {
  const std::string first(70000, 'a');
  const std::string second(40000, 'b');
  const decoded da = decode_all(request_of(request_kind::call, std::string_view("@a"), 1, first));
  const decoded db = decode_all(request_of(request_kind::push, 9U, 2, second));
  const decoded dsmall = decode_all(request_of(request_kind::call, 9U, 3, "hi"));
  const std::vector<request_part>& a = da.parts;
  const std::vector<request_part>& b = db.parts;
  const std::vector<request_part>& small = dsmall.parts;
  ASSERT_EQ(a.size(), 4U);
  ASSERT_EQ(b.size(), 3U);
  ASSERT_EQ(small.size(), 1U);
  request_assembler assembler;
  EXPECT_EQ(assembler.feed(a[0]).what, request_status::pending);
  EXPECT_EQ(assembler.feed(b[0]).what, request_status::pending);
  EXPECT_EQ(assembler.feed(a[1]).what, request_status::pending);
  EXPECT_EQ(assembler.feed(b[1]).what, request_status::pending);
  request_assembler::outcome whole = assembler.feed(small[0]);
  EXPECT_EQ(whole.what, request_status::complete);
  EXPECT_EQ(whole.message.view(), "hi");
  EXPECT_EQ(assembler.pending(), 2U);
  EXPECT_EQ(assembler.feed(a[2]).what, request_status::pending);
  request_assembler::outcome done_b = assembler.feed(b[2]);
  ASSERT_EQ(done_b.what, request_status::complete);
  EXPECT_TRUE(done_b.push);
  EXPECT_EQ(done_b.session, 2U);
  EXPECT_EQ(std::get<std::uint32_t>(done_b.to), 9U);
  EXPECT_EQ(done_b.message.view(), second);
  request_assembler::outcome done_a = assembler.feed(a[3]);
  ASSERT_EQ(done_a.what, request_status::complete);
  EXPECT_FALSE(done_a.push);
  EXPECT_EQ(std::get<std::string>(done_a.to), "@a");
  EXPECT_EQ(done_a.message.view(), first);
  EXPECT_EQ(assembler.pending(), 0U);
  EXPECT_EQ(assembler.buffered(), 0U);
}

request_part header(std::uint32_t session, std::uint32_t total, bool push = false) {
  request_part p;
  p.type = request_part::kind::header;
  p.to = std::uint32_t{5};
  p.session = session;
  p.total = total;
  p.push = push;
  return p;
}

request_part piece(std::uint32_t session, std::string_view data, bool last) {
  request_part p;
  p.type = last ? request_part::kind::last : request_part::kind::fragment;
  p.session = session;
  p.data = bytes_of(data);
  return p;
}

TEST(cluster_request_assembler, a_total_that_does_not_add_up_is_invalid_even_for_a_push) {
  request_assembler assembler;
  EXPECT_EQ(assembler.feed(header(1, 10, true)).what, request_status::pending);
  EXPECT_EQ(assembler.feed(piece(1, "12345", false)).what, request_status::pending);
  request_assembler::outcome short_one = assembler.feed(piece(1, "6789", true));
  EXPECT_EQ(short_one.what, request_status::invalid);
  EXPECT_TRUE(short_one.push);
  EXPECT_EQ(short_one.session, 1U);

  EXPECT_EQ(assembler.feed(header(2, 4)).what, request_status::pending);
  EXPECT_EQ(assembler.feed(piece(2, "123", false)).what, request_status::pending);
  EXPECT_EQ(assembler.feed(piece(2, "45", false)).what, request_status::pending);
  EXPECT_EQ(assembler.buffered(), 0U) << "data past the total is dropped at once";
  EXPECT_EQ(assembler.feed(piece(2, "6", true)).what, request_status::invalid);
  EXPECT_EQ(assembler.pending(), 0U);
}

TEST(cluster_request_assembler, a_header_twice_is_invalid) {
  request_assembler assembler;
  EXPECT_EQ(assembler.feed(header(3, 2)).what, request_status::pending);
  EXPECT_EQ(assembler.feed(header(3, 2)).what, request_status::pending);
  EXPECT_EQ(assembler.feed(piece(3, "ab", true)).what, request_status::invalid);
}

TEST(cluster_request_assembler, orphan_pieces) {
  request_assembler assembler;
  request_assembler::outcome lone_last = assembler.feed(piece(4, "x", true));
  EXPECT_EQ(lone_last.what, request_status::no_header) << "skynet answers Invalid name";
  EXPECT_EQ(lone_last.session, 4U);
  EXPECT_EQ(assembler.feed(piece(5, "x", false)).what, request_status::pending);
  EXPECT_EQ(assembler.feed(piece(5, "y", true)).what, request_status::invalid)
      << "pieces collected without a header cannot join";
  EXPECT_EQ(assembler.feed(piece(6, "x", false)).what, request_status::pending);
  EXPECT_EQ(assembler.feed(header(6, 2)).what, request_status::pending);
  EXPECT_EQ(assembler.feed(piece(6, "y", true)).what, request_status::invalid)
      << "a header after the first piece does not make it whole";
  EXPECT_EQ(assembler.pending(), 0U);
}

TEST(cluster_request_assembler, limits) {
  request_assembler assembler({.max_message = 8, .max_pending = 2, .max_buffered = 10});
  EXPECT_EQ(assembler.feed(header(1, 9)).what, request_status::pending);
  EXPECT_EQ(assembler.feed(piece(1, "123456789", false)).what, request_status::pending);
  EXPECT_EQ(assembler.buffered(), 0U) << "a message past max_message is not kept";
  EXPECT_EQ(assembler.feed(header(2, 8)).what, request_status::pending);
  EXPECT_EQ(assembler.feed(header(3, 8)).what, request_status::overflow) << "max_pending";
  EXPECT_EQ(assembler.feed(piece(4, "x", false)).what, request_status::overflow)
      << "an orphan takes a place too";
  EXPECT_EQ(assembler.feed(piece(1, "", true)).what, request_status::invalid);
  EXPECT_EQ(assembler.feed(piece(2, "12345678", false)).what, request_status::pending);
  EXPECT_EQ(assembler.feed(header(5, 8)).what, request_status::pending);
  EXPECT_EQ(assembler.feed(piece(5, "123", false)).what, request_status::overflow)
      << "max_buffered";
  EXPECT_EQ(assembler.buffered(), 8U);
  request_assembler::outcome done = assembler.feed(piece(2, "", true));
  EXPECT_EQ(done.what, request_status::complete);
  EXPECT_EQ(done.message.view(), "12345678");
  EXPECT_EQ(assembler.buffered(), 0U);
  assembler.clear();
  EXPECT_EQ(assembler.pending(), 0U);
}

TEST(cluster_request_assembler, traces_change_nothing) {
  request_assembler assembler;
  request_part trace;
  trace.type = request_part::kind::trace;
  EXPECT_EQ(assembler.feed(trace).what, request_status::pending);
  EXPECT_EQ(assembler.pending(), 0U);
}

// ---- reassembly of responses ---------------------------------------------------------------

response_part reply(response_part::kind type, std::uint32_t session, std::string_view data,
                    std::uint32_t total = 0) {
  response_part p;
  p.type = type;
  p.session = session;
  p.total = total;
  p.data = bytes_of(data);
  return p;
}

TEST(cluster_response_assembler, interleaved_split_replies) {
  using kind = response_part::kind;
  response_assembler assembler;
  EXPECT_EQ(assembler.feed(reply(kind::begin, 1, {}, 4)).what, response_status::pending);
  EXPECT_EQ(assembler.feed(reply(kind::begin, 2, {}, 2)).what, response_status::pending);
  EXPECT_EQ(assembler.feed(reply(kind::piece, 1, "ab")).what, response_status::pending);
  response_assembler::outcome whole = assembler.feed(reply(kind::ok, 3, "ok"));
  EXPECT_EQ(whole.what, response_status::ok);
  EXPECT_EQ(whole.data.view(), "ok");
  response_assembler::outcome two = assembler.feed(reply(kind::end, 2, "xy"));
  EXPECT_EQ(two.what, response_status::ok);
  EXPECT_EQ(two.data.view(), "xy");
  response_assembler::outcome one = assembler.feed(reply(kind::end, 1, "cd"));
  EXPECT_EQ(one.what, response_status::ok);
  EXPECT_EQ(one.data.view(), "abcd");
  EXPECT_EQ(assembler.pending(), 0U);
}

TEST(cluster_response_assembler, mismatches_orphans_and_errors) {
  using kind = response_part::kind;
  response_assembler assembler;
  EXPECT_EQ(assembler.feed(reply(kind::begin, 1, {}, 5)).what, response_status::pending);
  EXPECT_EQ(assembler.feed(reply(kind::end, 1, "abc")).what, response_status::invalid);
  EXPECT_EQ(assembler.feed(reply(kind::piece, 2, "abc")).what, response_status::pending);
  EXPECT_EQ(assembler.feed(reply(kind::end, 2, "d")).what, response_status::invalid)
      << "pieces without a begin";
  EXPECT_EQ(assembler.feed(reply(kind::begin, 3, {}, 1)).what, response_status::pending);
  EXPECT_EQ(assembler.feed(reply(kind::begin, 3, {}, 1)).what, response_status::pending);
  EXPECT_EQ(assembler.feed(reply(kind::end, 3, "a")).what, response_status::invalid);
  EXPECT_EQ(assembler.feed(reply(kind::begin, 4, {}, 6)).what, response_status::pending);
  EXPECT_EQ(assembler.feed(reply(kind::piece, 4, "abc")).what, response_status::pending);
  response_assembler::outcome failed = assembler.feed(reply(kind::error, 4, "boom"));
  EXPECT_EQ(failed.what, response_status::error);
  EXPECT_EQ(failed.data.view(), "boom");
  EXPECT_EQ(assembler.pending(), 0U);
  EXPECT_EQ(assembler.buffered(), 0U);
}

TEST(cluster_response_assembler, forget_and_limits) {
  using kind = response_part::kind;
  response_assembler assembler({.max_message = 4, .max_pending = 1, .max_buffered = 100});
  EXPECT_EQ(assembler.feed(reply(kind::begin, 1, {}, 4)).what, response_status::pending);
  EXPECT_EQ(assembler.feed(reply(kind::begin, 2, {}, 4)).what, response_status::overflow);
  EXPECT_EQ(assembler.feed(reply(kind::piece, 1, "ab")).what, response_status::pending);
  EXPECT_EQ(assembler.buffered(), 2U);
  assembler.forget(1);
  EXPECT_EQ(assembler.pending(), 0U);
  EXPECT_EQ(assembler.buffered(), 0U);
  EXPECT_EQ(assembler.feed(reply(kind::begin, 2, {}, 5)).what, response_status::pending);
  EXPECT_EQ(assembler.feed(reply(kind::end, 2, "abcde")).what, response_status::invalid)
      << "past max_message";
}

}  // namespace
}  // namespace starling::net::cluster
