#pragma once
// The bytes of a cluster link (docs/CLUSTER.md "The wire"), as skynet's nodes write them:
// request frames from the calling node, response frames back, and the reassembly of the
// messages that travel in pieces.
//
// A frame is a big-endian u16 body length, then the body; integers inside a body are u32
// little-endian. Encoders write whole frames (length included) into buffers the caller sizes
// with `size(i)`, so encoding allocates nothing and a frame can go straight into a socket
// buffer. Decoders take one body (no length) and return views into it. A peer's bytes are
// never trusted: a body that does not decode is an error value with skynet's text.
//
// Thread contract: the encoders and decoders are pure; an assembler belongs to the one owner
// of a connection (no locking).

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <variant>
#include <vector>

#include "base/payload.hpp"
#include "base/result.hpp"

namespace starling::net::cluster {

// ---- sizes ---------------------------------------------------------------------------------

/// Bytes of data in one piece of a split message. Requests split at this size and above,
/// replies only above it (skynet's asymmetry, kept for the bytes to match).
inline constexpr std::size_t piece_size = 32768;
/// A named destination is 1..255 bytes: its length is one byte on the wire.
inline constexpr std::size_t max_name_length = 255;
/// The longest trace tag.
inline constexpr std::size_t max_trace_tag = 32768;
/// Bytes of the length in front of every body.
inline constexpr std::size_t length_size = 2;
/// The largest frame an encoder writes: a whole request to a 255-byte name with the largest
/// payload that is not split.
inline constexpr std::size_t max_frame_size = length_size + 6 + max_name_length + piece_size - 1;
/// The largest message: a split message announces its total in a u32.
inline constexpr std::size_t max_message_size = 0xffffffffU;

// ---- errors --------------------------------------------------------------------------------

/// Why arguments or bytes were refused. describe() gives the text skynet's C module raises
/// (the response codes have no skynet text: skynet's decoder returns nothing for them).
struct wire_error {
  enum class code : std::uint8_t {
    bad_session,       ///< encoding: the session is not > 0 (detail: the session)
    bad_name,          ///< encoding: the name is not 1..255 bytes (name: the name)
    tag_too_long,      ///< encoding: a trace tag past max_trace_tag (detail: its length)
    too_large,         ///< encoding: a message past max_message_size (detail: its size)
    empty_body,        ///< request: no bytes at all
    short_body,        ///< request: a whole message or named header cut short (detail: size)
    bad_header_size,   ///< request: a numeric header that is not 13 bytes (detail: size)
    short_fragment,    ///< request: a fragment without its session
    unknown_kind,      ///< request: the first byte (detail: as a signed char, like skynet)
    short_response,    ///< response: fewer than 5 bytes (detail: size)
    bad_begin_size,    ///< response: a begin that is not 9 bytes (detail: size)
    unknown_response,  ///< response: the type byte (detail)
  };
  code what = code::empty_body;
  std::int64_t detail = 0;
  /// bad_name only: a view of the caller's name.
  std::string_view name;
};

/// Writes the text for `e` into `out` (cut to fit, not terminated); returns the full length.
/// A name is printed up to its first NUL byte, as skynet's "%s" does.
std::size_t describe(const wire_error& e, std::span<char> out) noexcept;
/// The text for `e`.
[[nodiscard]] std::string describe(const wire_error& e);

// ---- requests ------------------------------------------------------------------------------

/// Where a request goes: a handle on the remote node, or a name ("@name" registered with
/// cluster.register, ".name", a global name, a number written as a string).
using destination = std::variant<std::uint32_t, std::string_view>;

enum class request_kind : std::uint8_t { call, push };

/// The session a sender uses after `session`: skynet's counter wraps from 2^31-1 to 1.
[[nodiscard]] constexpr std::int32_t next_session(std::int32_t session) noexcept {
  const std::uint32_t next = static_cast<std::uint32_t>(session) + 1;
  return next > 0x7fffffffU ? 1 : static_cast<std::int32_t>(next);
}

/// One request as frames. Frame 0 is the whole request, or for a payload of piece_size bytes
/// or more the header of a split one; frames 1.. are then its pieces. A whole push carries
/// session 0 (no reply is wanted); a split push carries its real session so that the receiver
/// can match the pieces.
///
/// A view: the name and the payload must outlive it.
class request_frames {
 public:
  /// Checks, in skynet's order: the session (> 0), the name (1..255 bytes), the size.
  [[nodiscard]] static result<request_frames, wire_error> make(request_kind kind, destination to,
                                                               std::int32_t session,
                                                               std::span<const std::byte> payload);

  /// Whether the payload travels as a header and pieces.
  [[nodiscard]] bool split() const noexcept { return payload_.size() >= piece_size; }
  /// Frames in all: 1, or the header and its pieces.
  [[nodiscard]] std::size_t count() const noexcept;
  /// Bytes of frame `index`, length included.
  [[nodiscard]] std::size_t size(std::size_t index) const noexcept;
  /// Writes frame `index` into `out`, which holds at least size(index) bytes; returns that size.
  std::size_t write(std::size_t index, std::span<std::byte> out) const noexcept;

 private:
  request_frames(request_kind kind, destination to, std::int32_t session,
                 std::span<const std::byte> payload) noexcept
      : kind_(kind), to_(to), session_(session), payload_(payload) {}

  request_kind kind_;
  destination to_;
  std::int32_t session_;
  std::span<const std::byte> payload_;
};

/// Bytes of the trace frame for a tag of `length` bytes.
[[nodiscard]] constexpr std::size_t trace_size(std::size_t length) noexcept {
  return length_size + 1 + length;
}
/// Writes the frame that tags the next request with `tag` into `out` (trace_size bytes at
/// least); returns its size, or tag_too_long.
[[nodiscard]] result<std::size_t, wire_error> write_trace(std::string_view tag,
                                                          std::span<std::byte> out) noexcept;

/// One decoded request body. Spans and names are views into the body.
struct request_part {
  enum class kind : std::uint8_t {
    message,   ///< a whole call (session != 0) or push (session 0)
    header,    ///< the start of a split call or push: `total` bytes follow in pieces
    fragment,  ///< a piece, more follow
    last,      ///< the last piece
    trace,     ///< a trace tag for the next request (`data`)
  };
  kind type = kind::message;
  destination to;  ///< message and header
  std::uint32_t session = 0;
  bool push = false;                ///< message: session 0; header: the push bit
  std::uint32_t total = 0;          ///< header
  std::span<const std::byte> data;  ///< message: the payload; pieces: their data; trace: the tag
};

/// Decodes one request body. Bytes past a named header are ignored, as skynet does.
[[nodiscard]] result<request_part, wire_error> decode_request(
    std::span<const std::byte> body) noexcept;

// ---- responses -----------------------------------------------------------------------------

/// One response as frames: an error (its text cut to piece_size bytes, never split), an ok
/// reply of at most piece_size bytes, or a larger ok reply as a begin frame announcing the
/// total and then its pieces (the last one marked as the end).
///
/// A view: the data must outlive it.
class response_frames {
 public:
  /// too_large for an ok reply past max_message_size.
  [[nodiscard]] static result<response_frames, wire_error> make(std::uint32_t session, bool ok,
                                                                std::span<const std::byte> data);

  [[nodiscard]] bool split() const noexcept { return ok_ && data_.size() > piece_size; }
  [[nodiscard]] std::size_t count() const noexcept;
  [[nodiscard]] std::size_t size(std::size_t index) const noexcept;
  std::size_t write(std::size_t index, std::span<std::byte> out) const noexcept;

 private:
  response_frames(std::uint32_t session, bool ok, std::span<const std::byte> data) noexcept
      : session_(session), ok_(ok), data_(data) {}

  std::uint32_t session_;
  bool ok_;
  std::span<const std::byte> data_;
};

/// One decoded response body; `data` is a view into it.
struct response_part {
  enum class kind : std::uint8_t {
    error = 0,  ///< the remote error text
    ok = 1,     ///< a whole reply
    begin = 2,  ///< a split reply starts: `total` bytes follow
    piece = 3,  ///< a piece, more follow
    end = 4,    ///< the last piece
  };
  kind type = kind::error;
  std::uint32_t session = 0;
  std::uint32_t total = 0;  ///< begin
  std::span<const std::byte> data;
};

/// Decodes one response body. skynet's caller treats a failure as a broken stream.
[[nodiscard]] result<response_part, wire_error> decode_response(
    std::span<const std::byte> body) noexcept;

// ---- reassembly ----------------------------------------------------------------------------

/// What one connection may hold of messages in pieces. A message past `max_message` is
/// refused when it ends; going past the other two is an overflow, after which the owner
/// should close the connection (its peer is not a well-behaved node).
struct assembly_limits {
  std::size_t max_message = std::size_t{64} * 1024 * 1024;
  std::size_t max_pending = 256;
  std::size_t max_buffered = std::size_t{256} * 1024 * 1024;
};

/// Where a rebuilt request goes: the destination, with the name owned.
using owned_destination = std::variant<std::uint32_t, std::string>;

namespace detail {

/// What both assemblers keep: the messages in progress by session, within the limits.
class split_store {
 public:
  struct entry {
    owned_destination to;  // requests only
    bool push = false;     // requests only
    std::uint32_t total = 0;
    bool broken = false;  // will be refused when it ends; holds no data
    std::vector<std::byte> data;
  };

  explicit split_store(assembly_limits limits) : limits_(limits) {}

  /// The entry for a message announced with `total` bytes; null on overflow. An entry that
  /// exists already is broken: its header came twice.
  entry* start(std::uint32_t session, std::uint32_t total);
  /// The entry a piece of `session` goes to; a piece with no header gets a broken one, as
  /// skynet collects it in a list that cannot join. Null on overflow.
  entry* piece_entry(std::uint32_t session);
  /// The entry of `session`, or null.
  entry* find(std::uint32_t session) noexcept;
  /// Appends a piece; false on overflow. Data past the announced total breaks the entry.
  bool append(entry& e, std::span<const std::byte> piece);
  /// Takes the entry of `session` out, if there is one, into `out`.
  bool finish(std::uint32_t session, entry& out);
  void erase(std::uint32_t session) noexcept;
  void clear() noexcept;

  [[nodiscard]] std::size_t pending() const noexcept { return entries_.size(); }
  [[nodiscard]] std::size_t buffered() const noexcept { return buffered_; }

 private:
  void drop_data(entry& e) noexcept;

  assembly_limits limits_;
  std::unordered_map<std::uint32_t, entry> entries_;
  std::size_t buffered_ = 0;
};

}  // namespace detail

/// The receiving side's view of split requests: pieces are matched by session, so the pieces
/// of several requests, and whole requests, may arrive interleaved.
class request_assembler {
 public:
  struct outcome {
    enum class status : std::uint8_t {
      pending,    ///< nothing to do yet
      complete,   ///< a whole request: `to`, `push`, `message`
      invalid,    ///< a split request that cannot be rebuilt: the total differs, the header
                  ///< came twice, a piece had no header, or it is too large. skynet answers
                  ///< "Invalid large req", even to a push
      no_header,  ///< a last piece that nothing announced: skynet answers "Invalid name"
      overflow,   ///< past max_pending or max_buffered: close the connection
    };
    status what = status::pending;
    std::uint32_t session = 0;
    bool push = false;
    owned_destination to;
    payload message;
  };

  explicit request_assembler(assembly_limits limits = {}) : store_(limits) {}

  /// Takes one decoded part. A whole message completes at once (its payload copied, so it may
  /// outlive the body); a trace changes nothing.
  outcome feed(const request_part& part);
  /// Requests in progress.
  [[nodiscard]] std::size_t pending() const noexcept { return store_.pending(); }
  /// Bytes held for them.
  [[nodiscard]] std::size_t buffered() const noexcept { return store_.buffered(); }
  /// Forgets everything (the connection closed).
  void clear() noexcept { store_.clear(); }

 private:
  detail::split_store store_;
};

/// The calling side's view of split replies. Feed only the parts of sessions someone waits
/// for (skynet logs and drops the others before collecting).
class response_assembler {
 public:
  struct outcome {
    enum class status : std::uint8_t {
      pending,   ///< nothing to do yet
      ok,        ///< the whole reply: `data`
      error,     ///< the remote error text: `data`; anything collected is dropped
      invalid,   ///< a split reply that cannot be rebuilt (skynet's caller gets an empty reply)
      overflow,  ///< past max_pending or max_buffered: close the connection
    };
    status what = status::pending;
    std::uint32_t session = 0;
    payload data;
  };

  explicit response_assembler(assembly_limits limits = {}) : store_(limits) {}

  outcome feed(const response_part& part);
  /// Drops what was collected for `session` (its caller gave up).
  void forget(std::uint32_t session) noexcept { store_.erase(session); }
  [[nodiscard]] std::size_t pending() const noexcept { return store_.pending(); }
  [[nodiscard]] std::size_t buffered() const noexcept { return store_.buffered(); }
  void clear() noexcept { store_.clear(); }

 private:
  detail::split_store store_;
};

}  // namespace starling::net::cluster
