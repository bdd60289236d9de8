#include "net/http_wire.hpp"

#include <openssl/evp.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <cstring>

namespace starling::net::http {

namespace {

constexpr std::string_view crlf = "\r\n";
constexpr std::size_t chunk_line_limit = 128;  // skynet's limit for a chunk-size line

char lower(char c) {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(),
                                            [](char x, char y) { return lower(x) == lower(y); });
}

bool is_token_char(char c) {
  return c > ' ' && c < 127 && std::strchr("()<>@,;:\\\"/[]?={}", c) == nullptr;
}

std::optional<std::size_t> parse_decimal(std::string_view s) {
  std::size_t value = 0;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
  if (ec != std::errc{} || end != s.data() + s.size() || s.empty()) return std::nullopt;
  return value;
}

// "HTTP/1.x" -> x; -1 for a well-formed version we do not serve, -2 for garbage
int parse_version(std::string_view v) {
  if (v.size() != 8 || v.substr(0, 5) != "HTTP/" || v[6] != '.') return -2;
  if (v[5] < '0' || v[5] > '9' || v[7] < '0' || v[7] > '9') return -2;
  if (v[5] != '1' || v[7] > '1') return -1;
  return v[7] - '0';
}

// Bytes before a terminator not yet (fully) received: a partial terminator at the end does
// not count, so the verdict on a limit is the same however the bytes were cut.
std::size_t unterminated(std::string_view s, std::string_view terminator) {
  for (std::size_t n = terminator.size() - 1; n > 0; --n) {
    if (s.size() >= n && s.substr(s.size() - n) == terminator.substr(0, n)) return s.size() - n;
  }
  return s.size();
}

}  // namespace

std::optional<std::string_view> message::field(std::string_view name) const {
  for (const auto& [n, v] : fields) {
    if (n == name) return std::string_view(v);
  }
  return std::nullopt;
}

bool message::keep_alive() const {
  const auto connection = field("connection");
  if (minor_version == 0) return connection && iequals(*connection, "keep-alive");
  return !(connection && iequals(*connection, "close"));
}

parser::state parser::fail(int status) {
  status_ = status;
  phase_ = phase::done;
  return state::failed;
}

bool parser::parse_fields(std::string_view block, std::size_t from) {
  std::size_t pos = from;
  while (pos < block.size()) {
    std::size_t end = block.find(crlf, pos);
    if (end == std::string_view::npos) end = block.size();
    const std::string_view line = block.substr(pos, end - pos);
    pos = end + 2;
    if (line.empty()) continue;
    if (line.front() == ' ' || line.front() == '\t') {
      // an obsolete folded line continues the previous value
      if (message_.fields.empty()) return false;
      message_.fields.back().second.append(line.substr(1));
      continue;
    }
    const std::size_t colon = line.find(':');
    if (colon == std::string_view::npos || colon == 0) return false;
    std::string name(line.substr(0, colon));
    if (!std::all_of(name.begin(), name.end(), is_token_char)) return false;
    std::transform(name.begin(), name.end(), name.begin(), lower);
    std::size_t v = colon + 1;
    while (v < line.size() && (line[v] == ' ' || line[v] == '\t'))
      ++v;
    message_.fields.emplace_back(std::move(name), std::string(line.substr(v)));
  }
  return true;
}

parser::state parser::parse_head() {
  const std::string_view all(buffer_);
  const std::size_t end = all.find("\r\n\r\n", used_);
  if (end == std::string_view::npos) {
    return unterminated(all.substr(used_), "\r\n\r\n") > limits_.header ? fail(413)
                                                                        : state::incomplete;
  }
  if (end - used_ > limits_.header) return fail(413);
  const std::string_view block = all.substr(used_, end - used_ + 2);
  const std::size_t first = block.find(crlf);
  const std::string_view line = block.substr(0, first);
  const std::size_t sp1 = line.find(' ');
  const std::size_t sp2 = line.rfind(' ');
  const int malformed = kind_ == kind::request ? 400 : 502;
  if (sp1 == std::string_view::npos || sp1 == sp2) return fail(malformed);
  if (kind_ == kind::request) {
    const std::string_view method = line.substr(0, sp1);
    if (method.empty() || !std::all_of(method.begin(), method.end(), is_token_char)) {
      return fail(400);
    }
    const int minor = parse_version(line.substr(sp2 + 1));
    if (minor == -2) return fail(400);
    if (minor == -1) return fail(505);
    message_.method = std::string(method);
    message_.target = std::string(line.substr(sp1 + 1, sp2 - sp1 - 1));
    if (message_.target.empty()) return fail(400);
    message_.minor_version = minor;
  } else {
    const int minor = parse_version(line.substr(0, sp1));
    if (minor < 0) return fail(502);
    const std::size_t code_end = line.find(' ', sp1 + 1);
    const std::string_view code = line.substr(sp1 + 1, code_end - sp1 - 1);
    const auto status = parse_decimal(code);
    if (code.size() != 3 || !status) return fail(502);
    message_.status = static_cast<int>(*status);
    message_.minor_version = minor;
    if (code_end != std::string_view::npos)
      message_.reason = std::string(line.substr(code_end + 1));
  }
  if (!parse_fields(block, first + 2)) return fail(malformed);
  used_ = end + 4;

  const auto coding = message_.field("transfer-encoding");
  const auto length = message_.field("content-length");
  const bool bodiless =
      kind_ == kind::response &&
      (no_body_ || message_.status / 100 == 1 || message_.status == 204 || message_.status == 304);
  if (bodiless) {
    phase_ = phase::done;
  } else if (coding && *coding != "identity") {
    if (*coding != "chunked") return fail(501);
    phase_ = phase::chunk_size;
  } else if (length) {
    const auto n = parse_decimal(*length);
    if (!n) return fail(400);
    if (*n > limits_.body) return fail(413);
    remaining_ = *n;
    phase_ = phase::length;
  } else {
    phase_ = kind_ == kind::request ? phase::done : phase::until_close;
  }
  return state::incomplete;
}

parser::state parser::parse_chunks() {
  const std::string_view all(buffer_);
  while (true) {
    if (phase_ == phase::chunk_size) {
      const std::size_t eol = all.find(crlf, used_);
      if (eol == std::string_view::npos) {
        return unterminated(all.substr(used_), crlf) > chunk_line_limit ? fail(413)
                                                                        : state::incomplete;
      }
      // the same verdict whether the line came in one read or in many
      if (eol - used_ > chunk_line_limit) return fail(413);
      std::string_view line = all.substr(used_, eol - used_);
      line = line.substr(0, line.find(';'));  // chunk extensions are ignored
      std::size_t size = 0;
      const auto [end, ec] = std::from_chars(line.data(), line.data() + line.size(), size, 16);
      if (ec != std::errc{} || end != line.data() + line.size() || line.empty()) return fail(400);
      used_ = eol + 2;
      if (size == 0) {
        phase_ = phase::trailers;
        continue;
      }
      if (size > limits_.body - message_.body.size()) return fail(413);
      remaining_ = size;
      phase_ = phase::chunk_data;
    } else if (phase_ == phase::chunk_data) {
      if (all.size() - used_ < remaining_ + 2) return state::incomplete;
      if (all.substr(used_ + remaining_, 2) != crlf) return fail(400);
      message_.body.append(all.substr(used_, remaining_));
      used_ += remaining_ + 2;
      phase_ = phase::chunk_size;
    } else {  // trailers: fields up to an empty line
      if (all.size() - used_ < 2) return state::incomplete;
      if (all.substr(used_, 2) == crlf) {
        used_ += 2;
        phase_ = phase::done;
        return state::complete;
      }
      const std::size_t end = all.find("\r\n\r\n", used_);
      if (end == std::string_view::npos) {
        return unterminated(all.substr(used_), "\r\n\r\n") > limits_.header ? fail(413)
                                                                            : state::incomplete;
      }
      if (end - used_ > limits_.header) return fail(413);
      if (!parse_fields(all.substr(used_, end - used_ + 2), 0)) return fail(400);
      used_ = end + 4;
      phase_ = phase::done;
      return state::complete;
    }
  }
}

parser::state parser::parse() {
  if (phase_ == phase::done) return status_ != 0 ? state::failed : state::complete;
  if (phase_ == phase::head) {
    const state s = parse_head();
    if (s == state::failed) return s;
    if (phase_ == phase::head) return state::incomplete;
  }
  switch (phase_) {
    case phase::length: {
      const std::size_t have = std::min(remaining_, buffer_.size() - used_);
      message_.body.append(buffer_, used_, have);
      used_ += have;
      remaining_ -= have;
      if (remaining_ != 0) return state::incomplete;
      phase_ = phase::done;
      return state::complete;
    }
    case phase::chunk_size:
    case phase::chunk_data:
    case phase::trailers:
      return parse_chunks();
    case phase::until_close:
      if (buffer_.size() - used_ > limits_.body) return fail(413);
      return state::incomplete;
    default:
      return state::complete;
  }
}

parser::state parser::finish() {
  if (phase_ == phase::until_close) {
    message_.body.append(buffer_, used_, std::string::npos);
    used_ = buffer_.size();
    phase_ = phase::done;
    return state::complete;
  }
  const state s = parse();
  if (s == state::incomplete) return fail(400);
  return s;
}

message parser::take() {
  message out = std::move(message_);
  message_ = message{};
  buffer_.erase(0, used_);
  used_ = 0;
  remaining_ = 0;
  phase_ = phase::head;
  no_body_ = false;
  return out;
}

std::string parser::take_rest() {
  std::string rest = buffer_.substr(used_);
  buffer_.clear();
  used_ = 0;
  return rest;
}

std::string_view reason_phrase(int status) {
  switch (status) {
    case 100:
      return "Continue";
    case 101:
      return "Switching Protocols";
    case 200:
      return "OK";
    case 201:
      return "Created";
    case 202:
      return "Accepted";
    case 204:
      return "No Content";
    case 206:
      return "Partial Content";
    case 301:
      return "Moved Permanently";
    case 302:
      return "Found";
    case 304:
      return "Not Modified";
    case 400:
      return "Bad Request";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 408:
      return "Request Time-out";
    case 413:
      return "Request Entity Too Large";
    case 426:
      return "Upgrade Required";
    case 500:
      return "Internal Server Error";
    case 501:
      return "Not Implemented";
    case 502:
      return "Bad Gateway";
    case 503:
      return "Service Unavailable";
    case 505:
      return "HTTP Version not supported";
    default:
      return "";
  }
}

namespace {

void append_fields(std::string& out, const std::vector<std::pair<std::string, std::string>>& fields,
                   std::string_view body) {
  for (const auto& [name, value] : fields) {
    out.append(name).append(": ").append(value).append(crlf);
  }
  out.append("content-length: ").append(std::to_string(body.size())).append("\r\n\r\n");
  out.append(body);
}

}  // namespace

std::string encode_request(std::string_view method, std::string_view target,
                           const std::vector<std::pair<std::string, std::string>>& fields,
                           std::string_view body) {
  std::string out;
  out.reserve(64 + body.size());
  out.append(method).append(" ").append(target).append(" HTTP/1.1\r\n");
  append_fields(out, fields, body);
  return out;
}

std::string encode_response(int status,
                            const std::vector<std::pair<std::string, std::string>>& fields,
                            std::string_view body) {
  std::string out;
  out.reserve(64 + body.size());
  out.append("HTTP/1.1 ").append(std::to_string(status)).append(" ");
  out.append(reason_phrase(status)).append(crlf);
  append_fields(out, fields, body);
  return out;
}

}  // namespace starling::net::http

namespace starling::net::ws {

decoded decode(std::string_view bytes, std::size_t limit, bool need_mask, frame& out,
               std::size_t& used) {
  if (bytes.size() < 2) return decoded::incomplete;
  const auto b0 = static_cast<std::uint8_t>(bytes[0]);
  const auto b1 = static_cast<std::uint8_t>(bytes[1]);
  const std::uint8_t op = b0 & 0x0f;
  const bool fin = (b0 & 0x80) != 0;
  const bool masked = (b1 & 0x80) != 0;
  const bool control = (op & 0x08) != 0;
  if ((op > binary && !control) || op > pong) return decoded::bad_frame;
  if (need_mask && !masked) return decoded::bad_frame;
  std::uint64_t length = b1 & 0x7f;
  std::size_t pos = 2;
  if (control && (!fin || length > 125)) return decoded::bad_frame;
  if (length >= 126) {
    const std::size_t n = length == 126 ? 2 : 8;
    if (bytes.size() < pos + n) return decoded::incomplete;
    length = 0;
    for (std::size_t i = 0; i < n; ++i) {
      length = (length << 8) | static_cast<std::uint8_t>(bytes[pos + i]);
    }
    pos += n;
  }
  if (length > limit) return decoded::too_large;
  std::array<std::uint8_t, 4> key{};
  if (masked) {
    if (bytes.size() < pos + 4) return decoded::incomplete;
    std::memcpy(key.data(), bytes.data() + pos, 4);
    pos += 4;
  }
  if (bytes.size() - pos < length) return decoded::incomplete;
  out.fin = fin;
  out.op = op;
  out.payload.assign(bytes.substr(pos, length));
  if (masked) {
    for (std::size_t i = 0; i < out.payload.size(); ++i) {
      out.payload[i] = static_cast<char>(static_cast<std::uint8_t>(out.payload[i]) ^ key[i % 4]);
    }
  }
  used = pos + length;
  return decoded::complete;
}

std::string encode(std::uint8_t op, std::string_view payload, std::optional<std::uint32_t> mask) {
  std::string out;
  out.reserve(payload.size() + 14);
  out.push_back(static_cast<char>(0x80 | op));
  const char mask_bit = mask ? static_cast<char>(0x80) : '\0';
  const std::uint64_t n = payload.size();
  if (n < 126) {
    out.push_back(static_cast<char>(mask_bit | static_cast<char>(n)));
  } else if (n <= 0xffff) {
    out.push_back(static_cast<char>(mask_bit | 126));
    out.push_back(static_cast<char>(n >> 8));
    out.push_back(static_cast<char>(n & 0xff));
  } else {
    out.push_back(static_cast<char>(mask_bit | 127));
    for (int shift = 56; shift >= 0; shift -= 8)
      out.push_back(static_cast<char>((n >> shift) & 0xff));
  }
  if (!mask) {
    out.append(payload);
    return out;
  }
  std::array<std::uint8_t, 4> key{};
  for (std::size_t i = 0; i < 4; ++i)
    key[i] = static_cast<std::uint8_t>(*mask >> (24 - 8 * i));
  out.append(reinterpret_cast<const char*>(key.data()), key.size());
  const std::size_t at = out.size();
  out.append(payload);
  for (std::size_t i = 0; i < payload.size(); ++i) {
    out[at + i] = static_cast<char>(static_cast<std::uint8_t>(out[at + i]) ^ key[i % 4]);
  }
  return out;
}

std::string accept_key(std::string_view key) {
  static constexpr std::string_view guid = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
  std::string text(key);
  text.append(guid);
  std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
  unsigned int size = 0;
  EVP_Digest(text.data(), text.size(), digest.data(), &size, EVP_sha1(), nullptr);
  std::array<unsigned char, 64> encoded{};
  const int n = EVP_EncodeBlock(encoded.data(), digest.data(), static_cast<int>(size));
  return {reinterpret_cast<const char*>(encoded.data()), static_cast<std::size_t>(n)};
}

}  // namespace starling::net::ws
