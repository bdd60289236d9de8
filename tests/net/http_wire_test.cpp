#include "net/http_wire.hpp"

#include <gtest/gtest.h>

#include <string>

namespace starling::net {
namespace {

using state = http::parser::state;

http::parser request_parser(http::limits l = {}) {
  return http::parser(http::parser::kind::request, l);
}

TEST(http_wire, request_with_fields_and_length_body_byte_by_byte) {
  const std::string bytes =
      "POST /p?q=1 HTTP/1.1\r\nHost: h\r\nX-Multi: 1\r\nx-multi: 2\r\nFolded: a\r\n\tb\r\n"
      "Content-Length: 5\r\n\r\nhelloGET /next HTTP/1.0\r\n\r\n";
  auto p = request_parser();
  std::size_t i = 0;
  state s = state::incomplete;
  while (s == state::incomplete && i < bytes.size()) {
    p.feed(std::string_view(bytes).substr(i++, 1));
    s = p.parse();
  }
  ASSERT_EQ(s, state::complete);
  http::message m = p.take();
  EXPECT_EQ(m.method, "POST");
  EXPECT_EQ(m.target, "/p?q=1");
  EXPECT_EQ(m.field("host"), "h");
  EXPECT_EQ(m.field("x-multi"), "1");
  EXPECT_EQ(m.fields.size(), 5U);
  EXPECT_EQ(m.field("folded"), "ab");
  EXPECT_EQ(m.body, "hello");
  EXPECT_TRUE(m.keep_alive());
  p.feed(bytes.substr(i));
  ASSERT_EQ(p.parse(), state::complete);
  m = p.take();
  EXPECT_EQ(m.target, "/next");
  EXPECT_EQ(m.minor_version, 0);
  EXPECT_FALSE(m.keep_alive());
}

TEST(http_wire, chunked_body_with_trailer) {
  auto p = request_parser();
  p.feed("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2;x=y\r\nde\r\n0\r\n");
  EXPECT_EQ(p.parse(), state::incomplete);
  p.feed("Trailer-A: t\r\n\r\n");
  ASSERT_EQ(p.parse(), state::complete);
  const http::message m = p.take();
  EXPECT_EQ(m.body, "abcde");
  EXPECT_EQ(m.field("trailer-a"), "t");
}

int failure(std::string_view bytes, http::limits l = {}) {
  auto p = request_parser(l);
  p.feed(bytes);
  const state s = p.parse();
  return s == state::failed ? p.status() : (s == state::complete ? 200 : 0);
}

TEST(http_wire, bad_requests_get_their_status) {
  EXPECT_EQ(failure("GET / HTTP/2.0\r\n\r\n"), 505);
  EXPECT_EQ(failure("GET / HTTP/1.1\r\nno colon\r\n\r\n"), 400);
  EXPECT_EQ(failure("BLAH\r\n\r\n"), 400);
  EXPECT_EQ(failure("GET / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n"), 501);
  EXPECT_EQ(failure("GET / HTTP/1.1\r\nContent-Length: x\r\n\r\n"), 400);
  EXPECT_EQ(failure("GET / HTTP/1.1\r\nContent-Length: 65\r\n\r\n", {8192, 64}), 413);
  EXPECT_EQ(failure("GET /" + std::string(9000, 'a')), 413);
  EXPECT_EQ(failure("GET / HTTP/1.1\r\nX: " + std::string(9000, 'a') + "\r\n\r\n"), 413);
  EXPECT_EQ(failure("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n"), 400);
  EXPECT_EQ(failure("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcXX"), 400);
  EXPECT_EQ(
      failure("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n" + std::string(200, '1')),
      413);
  EXPECT_EQ(failure("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n41\r\n", {8192, 64}),
            413);
  EXPECT_EQ(failure("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
                    "ffffffffffffffffffff\r\n"),
            400);
}

TEST(http_wire, responses_by_length_chunks_close_and_no_body) {
  http::parser p(http::parser::kind::response);
  p.feed("HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nabHTTP/1.1 204 No Content\r\n\r\n");
  ASSERT_EQ(p.parse(), state::complete);
  EXPECT_EQ(p.take().body, "ab");
  ASSERT_EQ(p.parse(), state::complete);
  EXPECT_EQ(p.take().status, 204);
  p.feed("HTTP/1.0 200 OK\r\n\r\nuntil close");
  EXPECT_EQ(p.parse(), state::incomplete);
  ASSERT_EQ(p.finish(), state::complete);
  EXPECT_EQ(p.take().body, "until close");
  p.feed("HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\n");
  p.expect_no_body();
  ASSERT_EQ(p.parse(), state::complete);
  p.take();
  p.feed("junk\r\n\r\n");
  EXPECT_EQ(p.parse(), state::failed);
  EXPECT_EQ(p.status(), 502);
}

TEST(http_wire, encode) {
  EXPECT_EQ(http::encode_response(200, {{"x-a", "1"}}, "hi"),
            "HTTP/1.1 200 OK\r\nx-a: 1\r\ncontent-length: 2\r\n\r\nhi");
  EXPECT_EQ(http::encode_request("GET", "/", {{"host", "h"}}, ""),
            "GET / HTTP/1.1\r\nhost: h\r\ncontent-length: 0\r\n\r\n");
}

TEST(ws_wire, accept_key_of_rfc_6455) {
  EXPECT_EQ(ws::accept_key("dGhlIHNhbXBsZSBub25jZQ=="), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
  EXPECT_EQ(ws::accept_key("MDEyMzQ1Njc4OWFiY2RlZg=="), "BACScCJPNqyz+UBoqMH89VmURoA=");
}

TEST(ws_wire, frames_round_trip_at_every_length_form) {
  for (const std::size_t n : {0UL, 125UL, 126UL, 65535UL, 65536UL, 262144UL}) {
    const std::string payload(n, 'p');
    for (const bool masked : {false, true}) {
      const std::string bytes = ws::encode(
          ws::binary, payload, masked ? std::optional<std::uint32_t>(0x01020304) : std::nullopt);
      ws::frame f;
      std::size_t used = 0;
      EXPECT_EQ(
          ws::decode(std::string_view(bytes).substr(0, bytes.size() - 1), 262144, masked, f, used),
          ws::decoded::incomplete);
      ASSERT_EQ(ws::decode(bytes, 262144, masked, f, used), ws::decoded::complete);
      EXPECT_EQ(used, bytes.size());
      EXPECT_EQ(f.payload, payload);
      EXPECT_EQ(f.op, ws::binary);
    }
  }
  EXPECT_EQ(ws::encode(ws::binary, std::string(262144, 'z')).substr(0, 10),
            std::string("\x82\x7f\x00\x00\x00\x00\x00\x04\x00\x00", 10));
}

TEST(ws_wire, bad_frames) {
  ws::frame f;
  std::size_t used = 0;
  EXPECT_EQ(ws::decode(ws::encode(ws::text, "x"), 100, true, f, used), ws::decoded::bad_frame);
  EXPECT_EQ(ws::decode(ws::encode(3, "x"), 100, false, f, used), ws::decoded::bad_frame);
  EXPECT_EQ(ws::decode(ws::encode(ws::ping, std::string(126, 'x')), 1000, false, f, used),
            ws::decoded::bad_frame);
  EXPECT_EQ(ws::decode(std::string("\x82\x7f\x00\x00\x00\x00\x00\x04\x00\x01", 10), 262144, false,
                       f, used),
            ws::decoded::too_large);
  EXPECT_EQ(ws::decode(std::string("\x82\x7f\xff\xff\xff\xff\xff\xff\xff\xff", 10), 262144, false,
                       f, used),
            ws::decoded::too_large);
}

}  // namespace
}  // namespace starling::net
