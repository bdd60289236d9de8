// The RESP codec (net/resp): byte-exact request encoding, every reply type, replies cut at
// every byte, back-to-back replies, and each limit and malformed input as a protocol error.

#include "net/resp.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace starling::resp {
namespace {

using namespace std::string_literals;

struct outcome {
  parser::status status;
  std::size_t used = 0;
  value reply;
  std::string error;
};

/// Parses `bytes` in one call.
outcome parse_all(std::string_view bytes) {
  parser p;
  outcome out;
  out.status = p.parse(bytes, out.used);
  if (out.status == parser::status::done) out.reply = p.take();
  out.error = p.error();
  return out;
}

/// Feeds `bytes` in pieces of `step`, dropping what the parser consumed, as a socket reader
/// would; expects exactly one reply that ends with the bytes.
value parse_in_pieces(const std::string& bytes, std::size_t step) {
  parser p;
  std::string unread;
  std::size_t fed = 0;
  while (fed < bytes.size()) {
    const std::size_t n = std::min(step, bytes.size() - fed);
    unread += bytes.substr(fed, n);
    fed += n;
    std::size_t used = 0;
    const parser::status s = p.parse(unread, used);
    EXPECT_LE(used, unread.size());
    unread.erase(0, used);
    if (s == parser::status::done) {
      EXPECT_EQ(fed, bytes.size()) << "done before the last byte";
      EXPECT_TRUE(unread.empty());
      return p.take();
    }
    EXPECT_EQ(s, parser::status::need_more) << p.error();
  }
  ADD_FAILURE() << "never done";
  return {};
}

std::string encode(std::vector<std::string_view> args) {
  std::string out;
  append_command(out, args);
  return out;
}

TEST(resp_encode, commands_are_arrays_of_bulk_strings) {
  EXPECT_EQ(encode({"PING"}), "*1\r\n$4\r\nPING\r\n");
  EXPECT_EQ(encode({"SET", "key", "1.5"}), "*3\r\n$3\r\nSET\r\n$3\r\nkey\r\n$3\r\n1.5\r\n");
  EXPECT_EQ(encode({"GET", ""}), "*2\r\n$3\r\nGET\r\n$0\r\n\r\n");
  const std::string binary("a\0\r\nb", 5);
  EXPECT_EQ(encode({"SET", binary}), "*2\r\n$3\r\nSET\r\n$5\r\n"s + binary + "\r\n");
  const std::string big(1000, 'x');
  EXPECT_EQ(encode({big}), "*1\r\n$1000\r\n" + big + "\r\n");
}

TEST(resp_encode, pipelines_append_and_sizes_are_exact) {
  std::string out;
  const std::vector<std::string_view> a = {"INCR", "n"};
  const std::vector<std::string_view> b = {"get", "n"};
  append_command(out, a);
  append_command(out, b);
  EXPECT_EQ(out, "*2\r\n$4\r\nINCR\r\n$1\r\nn\r\n*2\r\n$3\r\nget\r\n$1\r\nn\r\n");
  EXPECT_EQ(command_size(a) + command_size(b), out.size());
  std::vector<std::string_view> many(12, "v");
  EXPECT_EQ(command_size(many), encode(many).size());
}

TEST(resp_encode, numbers_are_decimal_text) {
  const std::string key = "k";  // an arg views its text: the string must outlive it
  const std::vector<arg> args = {"SET", key, 42, -7LL, 18446744073709551615ULL, 1.5, 0.1};
  const payload body = encode_command(args);
  EXPECT_EQ(body.view(),
            "*7\r\n$3\r\nSET\r\n$1\r\nk\r\n$2\r\n42\r\n$2\r\n-7\r\n$20\r\n18446744073709551615\r\n"
            "$3\r\n1.5\r\n$3\r\n0.1\r\n");
  std::vector<arg> twenty(20, arg("x"));
  EXPECT_EQ(encode_command(twenty).size(), 5 + 20 * 7);
}

TEST(resp_parse, every_reply_type) {
  EXPECT_EQ(parse_all("+OK\r\n").reply, value::status("OK"));
  EXPECT_EQ(parse_all("-ERR unknown command\r\n").reply, value::error("ERR unknown command"));
  EXPECT_EQ(parse_all(":42\r\n").reply, value::number(42));
  EXPECT_EQ(parse_all(":-9223372036854775808\r\n").reply, value::number(INT64_MIN));
  EXPECT_EQ(parse_all("$3\r\nfoo\r\n").reply, value::bulk("foo"));
  EXPECT_EQ(parse_all("$0\r\n\r\n").reply, value::bulk(""));
  EXPECT_EQ(parse_all("$4\r\na\r\nb\r\n").reply, value::bulk("a\r\nb"));
  EXPECT_EQ(parse_all("$-1\r\n").reply, value::nil());
  EXPECT_EQ(parse_all("*-1\r\n").reply, value::nil());
  EXPECT_EQ(parse_all("*0\r\n").reply, value::array({}));
  EXPECT_EQ(parse_all("*3\r\n:1\r\n$-1\r\n-WRONGTYPE x\r\n").reply,
            value::array({value::number(1), value::nil(), value::error("WRONGTYPE x")}));
  EXPECT_EQ(parse_all("*2\r\n*1\r\n+a\r\n*0\r\n").reply,
            value::array({value::array({value::status("a")}), value::array({})}));
}

TEST(resp_parse, consumes_one_reply_and_leaves_the_next) {
  parser p;
  const std::string two = "+one\r\n:2\r\n";
  std::size_t used = 0;
  ASSERT_EQ(p.parse(two, used), parser::status::done);
  EXPECT_EQ(used, 6U);
  EXPECT_EQ(p.take(), value::status("one"));
  ASSERT_EQ(p.parse(std::string_view(two).substr(used), used), parser::status::done);
  EXPECT_EQ(used, 4U);
  EXPECT_EQ(p.take(), value::number(2));
  EXPECT_EQ(p.parse("", used), parser::status::need_more);
  EXPECT_EQ(used, 0U);
}

TEST(resp_parse, any_cut_gives_the_same_reply) {
  const std::string reply =
      "*4\r\n$5\r\nhello\r\n*2\r\n:-3\r\n$-1\r\n+status line\r\n$13\r\nbinary\0\r\nsafe\r\n"s;
  const value expected = parse_all(reply).reply;
  ASSERT_TRUE(expected.is_array());
  ASSERT_EQ(expected.elements.size(), 4U);
  EXPECT_EQ(expected.elements[3].text, "binary\0\r\nsafe"s);
  for (std::size_t step = 1; step <= reply.size(); ++step)
    EXPECT_EQ(parse_in_pieces(reply, step), expected) << "step " << step;
}

TEST(resp_parse, a_large_bulk_arrives_in_pieces) {
  const std::string data(300000, 'z');
  const std::string reply = "$300000\r\n" + data + "\r\n";
  EXPECT_EQ(parse_in_pieces(reply, 65536), value::bulk(data));
}

TEST(resp_parse, partial_input_needs_more) {
  for (const char* partial : {"", "+O", "+OK\r", "$3\r\nfo", "$3\r\nfoo\r", "*2\r\n:1\r\n", ":1"}) {
    const outcome out = parse_all(partial);
    EXPECT_EQ(out.status, parser::status::need_more) << partial << ": " << out.error;
  }
}

void expect_failure(std::string_view bytes, std::string_view reason) {
  const outcome out = parse_all(bytes);
  EXPECT_EQ(out.status, parser::status::failed) << bytes;
  EXPECT_NE(out.error.find(reason), std::string::npos) << out.error;
}

TEST(resp_parse, malformed_replies_are_protocol_errors) {
  expect_failure("$abc\r\n", "invalid bulk length 'abc'");
  expect_failure("$-2\r\n", "invalid bulk length '-2'");
  expect_failure("$\r\n", "invalid bulk length ''");
  expect_failure("$ 3\r\n", "invalid bulk length");
  expect_failure("$+3\r\n", "invalid bulk length");
  expect_failure("*x\r\n", "invalid array count 'x'");
  expect_failure("*-5\r\n", "invalid array count '-5'");
  expect_failure(":12a\r\n", "invalid integer '12a'");
  expect_failure(":99999999999999999999\r\n", "invalid integer");
  expect_failure("$3\r\nfooXY", "bulk string not followed by CRLF");
  expect_failure("\r\n", "empty line");
  expect_failure("hello\r\n", "unsupported reply type 'h'");
  expect_failure("_\r\n", "unsupported reply type '_'");   // RESP3 null
  expect_failure(">2\r\n", "unsupported reply type '>'");  // RESP3 push
  expect_failure("\x01\r\n", "unsupported reply type '\\x01'");
}

TEST(resp_parse, limits) {
  expect_failure("$536870913\r\n", "bulk length 536870913 over the limit of 536870912");
  expect_failure("$99999999999\r\n", "over the limit");
  // The limit itself is accepted: the parser waits for the bytes without reserving them.
  EXPECT_EQ(parse_all("$536870912\r\nab").status, parser::status::need_more);
  expect_failure("*16777217\r\n", "array count 16777217 over the limit of 16777216");
  EXPECT_EQ(parse_all("*16777216\r\n:1\r\n").status, parser::status::need_more);

  std::string deep;
  for (std::size_t i = 0; i < max_depth; ++i)
    deep += "*1\r\n";
  EXPECT_EQ(parse_all(deep + ":1\r\n").status, parser::status::done);
  expect_failure(deep + "*1\r\n:1\r\n", "arrays nested deeper than 64");

  const std::string longest = "+" + std::string(max_line_length - 1, 'a');
  EXPECT_EQ(parse_all(longest + "\r\n").status, parser::status::done);
  EXPECT_EQ(parse_all(longest).status, parser::status::need_more);
  expect_failure(longest + "aa\r", "line longer than 65536 bytes");
}

TEST(resp_parse, a_failed_parser_stays_failed_until_reset) {
  parser p;
  std::size_t used = 0;
  EXPECT_EQ(p.parse("?\r\n", used), parser::status::failed);
  EXPECT_EQ(p.parse("+OK\r\n", used), parser::status::failed);
  p.reset();
  EXPECT_EQ(p.parse("+OK\r\n", used), parser::status::done);
  EXPECT_EQ(p.take(), value::status("OK"));
}

TEST(resp_value, renders_for_logs) {
  EXPECT_EQ(to_string(value::array({value::status("OK"), value::error("ERR x"), value::number(3),
                                    value::bulk("b"), value::nil()})),
            "[OK, (error) ERR x, (integer) 3, \"b\", (nil)]");
  EXPECT_TRUE(value::status("OK").is("OK"));
  EXPECT_TRUE(value::bulk("OK").is("OK"));
  EXPECT_FALSE(value::error("OK").is("OK"));
}

}  // namespace
}  // namespace starling::resp
