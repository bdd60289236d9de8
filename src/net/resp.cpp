#include "net/resp.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <cstring>
#include <utility>

namespace starling::resp {

namespace {

std::size_t decimal_digits(std::size_t n) noexcept {
  std::size_t digits = 1;
  while (n >= 10) {
    n /= 10;
    ++digits;
  }
  return digits;
}

char* write_decimal(char* out, std::size_t n) noexcept {
  return std::to_chars(out, out + 20, n).ptr;
}

char* write_header(char* out, char type, std::size_t n) noexcept {
  *out++ = type;
  out = write_decimal(out, n);
  *out++ = '\r';
  *out++ = '\n';
  return out;
}

/// The start of `text` for an error message, with bytes that are not printable escaped.
std::string quoted(std::string_view text) {
  constexpr std::size_t shown = 32;
  std::string out = "'";
  for (char c : text.substr(0, shown)) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte >= 0x20 && byte < 0x7f) {
      out += c;
    } else {
      out += fmt::format("\\x{:02x}", byte);
    }
  }
  out += text.size() > shown ? "...'" : "'";
  return out;
}

/// A whole line of decimal digits with an optional '-', within int64.
bool parse_integer(std::string_view text, std::int64_t& out) noexcept {
  if (text.empty()) return false;
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, out);
  return ec == std::errc() && ptr == end;
}

}  // namespace

// ---- values ------------------------------------------------------------------------------

std::string to_string(const value& v) {
  switch (v.type) {
    case value::kind::nil:
      return "(nil)";
    case value::kind::status:
      return v.text;
    case value::kind::error:
      return "(error) " + v.text;
    case value::kind::integer:
      return fmt::format("(integer) {}", v.integer);
    case value::kind::bulk:
      return '"' + v.text + '"';
    case value::kind::array: {
      std::string out = "[";
      for (std::size_t i = 0; i < v.elements.size(); ++i) {
        if (i != 0) out += ", ";
        out += to_string(v.elements[i]);
      }
      return out + "]";
    }
  }
  return "?";
}

// ---- requests ----------------------------------------------------------------------------

arg::arg(double n) noexcept {
  own_ =
      static_cast<std::uint8_t>(std::to_chars(digits_, digits_ + sizeof digits_, n).ptr - digits_);
}

void arg::format(std::int64_t n) noexcept {
  own_ =
      static_cast<std::uint8_t>(std::to_chars(digits_, digits_ + sizeof digits_, n).ptr - digits_);
}

void arg::format(std::uint64_t n) noexcept {
  own_ =
      static_cast<std::uint8_t>(std::to_chars(digits_, digits_ + sizeof digits_, n).ptr - digits_);
}

std::size_t command_size(std::span<const std::string_view> args) noexcept {
  std::size_t size = 3 + decimal_digits(args.size());
  for (std::string_view a : args)
    size += 5 + decimal_digits(a.size()) + a.size();
  return size;
}

char* write_command(char* out, std::span<const std::string_view> args) noexcept {
  out = write_header(out, '*', args.size());
  for (std::string_view a : args) {
    out = write_header(out, '$', a.size());
    if (!a.empty()) std::memcpy(out, a.data(), a.size());
    out += a.size();
    *out++ = '\r';
    *out++ = '\n';
  }
  return out;
}

void append_command(std::string& out, std::span<const std::string_view> args) {
  const std::size_t start = out.size();
  out.resize(start + command_size(args));
  write_command(out.data() + start, args);
}

payload encode_command(std::span<const std::string_view> args) {
  payload body(command_size(args));
  write_command(reinterpret_cast<char*>(body.data()), args);
  return body;
}

payload encode_command(std::span<const arg> args) {
  constexpr std::size_t on_stack = 16;
  std::string_view small[on_stack];
  std::vector<std::string_view> large;
  std::span<std::string_view> views;
  if (args.size() <= on_stack) {
    views = std::span(small, args.size());
  } else {
    large.resize(args.size());
    views = large;
  }
  for (std::size_t i = 0; i < args.size(); ++i)
    views[i] = args[i].view();
  return encode_command(std::span<const std::string_view>(views));
}

// ---- replies -----------------------------------------------------------------------------

parser::status parser::fail(std::string why) {
  failed_ = true;
  error_ = std::move(why);
  return status::failed;
}

void parser::reset() {
  open_.clear();
  bulk_ = value{};
  bulk_left_ = -1;
  result_ = value{};
  error_.clear();
  failed_ = false;
}

bool parser::finish(value v) {
  for (;;) {
    if (open_.empty()) {
      result_ = std::move(v);
      return true;
    }
    open_array& top = open_.back();
    top.array.elements.push_back(std::move(v));
    if (--top.missing > 0) return false;
    v = std::move(top.array);
    open_.pop_back();
  }
}

parser::status parser::parse(std::string_view in, std::size_t& used) {
  used = 0;
  if (failed_) return status::failed;
  std::size_t pos = 0;
  for (;;) {
    if (bulk_left_ >= 0) {
      const auto n = static_cast<std::size_t>(
          std::min<std::int64_t>(bulk_left_, static_cast<std::int64_t>(in.size() - pos)));
      bulk_.text.append(in.substr(pos, n));
      pos += n;
      bulk_left_ -= static_cast<std::int64_t>(n);
      if (bulk_left_ > 0 || in.size() - pos < 2) {
        used = pos;
        return status::need_more;
      }
      if (in[pos] != '\r' || in[pos + 1] != '\n') {
        return fail("bulk string not followed by CRLF");
      }
      pos += 2;
      bulk_left_ = -1;
      if (finish(std::exchange(bulk_, value{}))) {
        used = pos;
        return status::done;
      }
      continue;
    }

    const std::string_view rest = in.substr(pos);
    const std::size_t eol = rest.substr(0, max_line_length + 2).find("\r\n");
    if (eol == std::string_view::npos) {
      if (rest.size() >= max_line_length + 2) {
        return fail(fmt::format("line longer than {} bytes", max_line_length));
      }
      used = pos;
      return status::need_more;
    }
    const std::string_view line = rest.substr(0, eol);
    pos += eol + 2;
    if (line.empty()) return fail("empty line where a reply was expected");
    const std::string_view body = line.substr(1);
    std::int64_t n = 0;
    value v;
    switch (line[0]) {
      case '+':
        v = value::status(std::string(body));
        break;
      case '-':
        v = value::error(std::string(body));
        break;
      case ':':
        if (!parse_integer(body, n)) return fail("invalid integer " + quoted(body));
        v = value::number(n);
        break;
      case '$':
        if (!parse_integer(body, n) || n < -1) return fail("invalid bulk length " + quoted(body));
        if (n > max_bulk_length) {
          return fail(fmt::format("bulk length {} over the limit of {}", n, max_bulk_length));
        }
        if (n >= 0) {
          bulk_ = value::bulk({});
          bulk_left_ = n;
          continue;
        }
        break;  // $-1: nil
      case '*':
        if (!parse_integer(body, n) || n < -1) return fail("invalid array count " + quoted(body));
        if (n > max_array_count) {
          return fail(fmt::format("array count {} over the limit of {}", n, max_array_count));
        }
        if (n > 0) {
          if (open_.size() >= max_depth) {
            return fail(fmt::format("arrays nested deeper than {}", max_depth));
          }
          open_array next{value::array({}), n};
          next.array.elements.reserve(static_cast<std::size_t>(std::min<std::int64_t>(n, 1024)));
          open_.push_back(std::move(next));
          continue;
        }
        if (n == 0) v = value::array({});
        break;  // *-1: nil
      default:
        return fail("unsupported reply type " + quoted(line.substr(0, 1)));
    }
    if (finish(std::move(v))) {
      used = pos;
      return status::done;
    }
  }
}

}  // namespace starling::resp
