#include "lua/socket_buffer.hpp"

#include <algorithm>
#include <array>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <new>
#include <string_view>

#include "lua/protected.hpp"

namespace starling::lua {

namespace {

constexpr const char* buffer_metatable = "starling.socketbuffer";

/// The bytes of DATA messages not read yet, kept in the blocks they arrived in.
class read_buffer {
 public:
  read_buffer() = default;
  read_buffer(const read_buffer&) = delete;
  read_buffer& operator=(const read_buffer&) = delete;
  ~read_buffer() { clear(); }

  [[nodiscard]] std::size_t size() const noexcept { return size_; }

  /// Takes `block` (malloc'd).
  void push(char* block, std::size_t size) {
    if (size == 0) {
      // NOLINTNEXTLINE(*-no-malloc): message bodies are malloc'd (base/payload.hpp)
      std::free(block);
      return;
    }
    chunks_.push_back({block, size});
    size_ += size;
  }

  /// Pushes the first `n` bytes (n <= size()) as a Lua string and removes them.
  void pop_into(lua_State* L, std::size_t n) {
    chunk& front = chunks_.front();
    if (front.size - offset_ >= n) {
      lua_pushlstring(L, front.bytes + offset_, n);
      consume(n);
      return;
    }
    luaL_Buffer out;
    char* target = luaL_buffinitsize(L, &out, n);
    copy_prefix(target, n);
    luaL_pushresultsize(&out, n);
    consume(n);
  }

  /// The position of the first `sep`, or npos. A search that fails remembers how far no
  /// match can start, so a reader waiting for a long line costs one pass over its bytes, not
  /// one pass per packet.
  [[nodiscard]] std::size_t find(std::string_view sep) {
    if (sep.empty() || sep.size() > size_) return std::string_view::npos;
    const bool same = sep.size() == searched_for_size_ &&
                      sep == std::string_view(searched_for_.data(), searched_for_size_);
    std::size_t from = same ? searched_ : 0;
    std::size_t position = 0;
    for (std::size_t c = 0; c < chunks_.size(); ++c) {
      const std::size_t begin = c == 0 ? offset_ : 0;
      const std::size_t length = chunks_[c].size - begin;
      if (position + length <= from) {  // searched already
        position += length;
        continue;
      }
      for (std::size_t i = begin + (from > position ? from - position : 0); i < chunks_[c].size;
           ++i) {
        if (chunks_[c].bytes[i] == sep[0] && matches(c, i, sep)) {
          searched_ = 0;
          return position + (i - begin);
        }
      }
      position += length;
    }
    if (sep.size() <= searched_for_.size()) {  // longer separators are rare: not remembered
      std::copy(sep.begin(), sep.end(), searched_for_.begin());
      searched_for_size_ = sep.size();
      searched_ = size_ - (sep.size() - 1);  // a match may still start in the last bytes
    }
    return std::string_view::npos;
  }

  /// Removes the first `n` bytes (n <= size()).
  void discard(std::size_t n) noexcept { consume(n); }

  void clear() noexcept {
    for (chunk& c : chunks_) {
      // NOLINTNEXTLINE(*-no-malloc): message bodies are malloc'd (base/payload.hpp)
      std::free(c.bytes);
    }
    chunks_.clear();
    offset_ = 0;
    size_ = 0;
    searched_ = 0;
  }

 private:
  struct chunk {
    char* bytes;
    std::size_t size;
  };

  // Whether `sep` starts at byte `i` of chunk `c`, possibly running into later chunks.
  [[nodiscard]] bool matches(std::size_t c, std::size_t i, std::string_view sep) const {
    for (char expected : sep) {
      while (i == chunks_[c].size) {
        if (++c == chunks_.size()) return false;
        i = 0;
      }
      if (chunks_[c].bytes[i] != expected) return false;
      ++i;
    }
    return true;
  }

  void copy_prefix(char* target, std::size_t n) const {
    std::size_t offset = offset_;
    for (const chunk& c : chunks_) {
      if (n == 0) break;
      const std::size_t take = std::min(n, c.size - offset);
      std::memcpy(target, c.bytes + offset, take);
      target += take;
      n -= take;
      offset = 0;
    }
  }

  void consume(std::size_t n) noexcept {
    size_ -= n;
    searched_ = searched_ > n ? searched_ - n : 0;
    while (n != 0) {
      chunk& front = chunks_.front();
      const std::size_t left = front.size - offset_;
      if (n < left) {
        offset_ += n;
        return;
      }
      n -= left;
      // NOLINTNEXTLINE(*-no-malloc): message bodies are malloc'd (base/payload.hpp)
      std::free(front.bytes);
      chunks_.pop_front();
      offset_ = 0;
    }
  }

  std::deque<chunk> chunks_;
  std::size_t offset_ = 0;  // into the front chunk
  std::size_t size_ = 0;
  std::array<char, 16> searched_for_{};  // the separator of the last failed find
  std::size_t searched_for_size_ = 0;
  std::size_t searched_ = 0;  // no match of it starts before this position
};

read_buffer& check_buffer(lua_State* L, int index) {
  return *static_cast<read_buffer*>(luaL_checkudata(L, index, buffer_metatable));
}

int buffer_gc(lua_State* L) {
  check_buffer(L, 1).~read_buffer();
  return 0;
}

int l_buffer(lua_State* L) {
  void* storage = lua_newuserdatauv(L, sizeof(read_buffer), 0);
  luaL_getmetatable(L, buffer_metatable);  // may raise: nothing is constructed yet
  native(L, [&] { new (storage) read_buffer(); });
  lua_setmetatable(L, -2);  // raises nothing: its __gc destroys the buffer from now on
  return 1;
}

// push(buffer, pool, msg, sz) -> total size; the buffer takes msg. `pool` is accepted for
// skynet's signature: buffers manage their own storage.
int l_push(lua_State* L) {
  read_buffer& buffer = check_buffer(L, 1);
  void* block = lua_touserdata(L, 3);
  const lua_Integer size = luaL_checkinteger(L, 4);
  if (block == nullptr || size < 0) return luaL_error(L, "Invalid socket data");
  native(L, [&] {
    try {
      buffer.push(static_cast<char*>(block), static_cast<std::size_t>(size));
    } catch (...) {
      // NOLINTNEXTLINE(*-no-malloc): message bodies are malloc'd (base/payload.hpp)
      std::free(block);  // the buffer took the block, even when it could not keep it
      throw;
    }
  });
  lua_pushinteger(L, static_cast<lua_Integer>(buffer.size()));
  return 1;
}

// pop(buffer, pool, n) -> string or nil (fewer than n bytes, or n == 0), bytes left
int l_pop(lua_State* L) {
  read_buffer& buffer = check_buffer(L, 1);
  const lua_Integer n = luaL_checkinteger(L, 3);
  if (n <= 0 || static_cast<std::size_t>(n) > buffer.size()) {
    lua_pushnil(L);
  } else {
    buffer.pop_into(L, static_cast<std::size_t>(n));
  }
  lua_pushinteger(L, static_cast<lua_Integer>(buffer.size()));
  return 2;
}

int l_readall(lua_State* L) {
  read_buffer& buffer = check_buffer(L, 1);
  if (buffer.size() == 0) {
    lua_pushliteral(L, "");
  } else {
    buffer.pop_into(L, buffer.size());
  }
  return 1;
}

// readline(buffer, pool, sep): the line without `sep`, or nothing. With a pool that is not a
// table it only tests: true when a whole line is there.
int l_readline(lua_State* L) {
  read_buffer& buffer = check_buffer(L, 1);
  const bool take = lua_istable(L, 2);
  std::size_t sep_size = 0;
  const char* sep = luaL_optlstring(L, 3, "\n", &sep_size);
  const std::size_t at = buffer.find(std::string_view(sep, sep_size));
  if (at == std::string_view::npos) return 0;
  if (!take) {
    lua_pushboolean(L, 1);
    return 1;
  }
  if (at == 0) {
    lua_pushliteral(L, "");
  } else {
    buffer.pop_into(L, at);
  }
  buffer.discard(sep_size);
  return 1;
}

int l_clear(lua_State* L) {
  check_buffer(L, 1).clear();
  return 0;
}

}  // namespace

const luaL_Reg read_buffer_functions[] = {
    {"buffer", l_buffer},     {"push", l_push},   {"pop", l_pop},     {"readall", l_readall},
    {"readline", l_readline}, {"clear", l_clear}, {nullptr, nullptr},
};

void open_read_buffers(lua_State* L) {
  if (luaL_newmetatable(L, buffer_metatable) != 0) {
    lua_pushcfunction(L, buffer_gc);
    lua_setfield(L, -2, "__gc");
  }
  lua_pop(L, 1);
}

}  // namespace starling::lua
