#include "lua/mongo_module.hpp"

#include <array>
#include <cstdint>
#include <cstring>
#include <string_view>

#include "lua/protected.hpp"
#include "seri/mongo_wire.hpp"

namespace starling::lua {

namespace {

namespace wire = seri::mongo;

void put32(char* at, std::uint32_t v) {
  for (int i = 0; i < 4; ++i)
    at[i] = static_cast<char>((v >> (8 * i)) & 0xff);
}

// op_msg(id, flags, document) -> the request: header, flagBits, one kind-0 section. The
// document is a bson userdata (its bytes come from its __tostring) or a string of bytes.
int op_msg(lua_State* L) {
  const auto id = static_cast<std::uint32_t>(luaL_checkinteger(L, 1));
  const auto flags = static_cast<std::uint32_t>(luaL_checkinteger(L, 2));
  if (lua_type(L, 3) != LUA_TUSERDATA && lua_type(L, 3) != LUA_TSTRING) {
    return luaL_error(L, "opmsg require cmd document");
  }
  std::size_t size = 0;
  const char* doc = luaL_tolstring(L, 3, &size);  // pushes the bytes
  if (size < 5 || size > 0x7fffffff - wire::header_size) {
    return luaL_error(L, "opmsg require cmd document");
  }
  std::array<char, wire::header_size> head{};
  put32(head.data(), static_cast<std::uint32_t>(wire::header_size + size));
  put32(head.data() + 4, id);
  put32(head.data() + 8, 0);
  put32(head.data() + 12, static_cast<std::uint32_t>(wire::op_msg));
  put32(head.data() + 16, flags);
  head[20] = 0;  // section kind 0: the body
  luaL_Buffer b;
  luaL_buffinitsize(L, &b, head.size() + size);
  luaL_addlstring(&b, head.data(), head.size());
  luaL_addlstring(&b, doc, size);
  luaL_pushresult(&b);
  return 1;
}

// length(first 4 bytes) -> how many bytes of the message follow.
int length(lua_State* L) {
  std::size_t size = 0;
  const auto* s = reinterpret_cast<const unsigned char*>(luaL_checklstring(L, 1, &size));
  luaL_argcheck(L, size == 4, 1, "need the 4 bytes of a length field");
  std::uint32_t v = 0;
  for (std::size_t i = 0; i < 4; ++i)
    v |= static_cast<std::uint32_t>(s[i]) << (8 * i);
  std::int32_t n = 0;
  std::memcpy(&n, &v, sizeof n);
  lua_pushinteger(L, static_cast<lua_Integer>(n) - 4);
  return 1;
}

// reply(message after the length) -> true, responseTo, document pointer | false. The pointer
// points into the string, which the caller keeps alive while it decodes.
int reply(lua_State* L) {
  std::size_t size = 0;
  const char* s = luaL_checklstring(L, 1, &size);
  const wire::reply r = native(L, [&] { return wire::parse_reply(std::string_view(s, size)); });
  switch (r.status) {
    case wire::reply_status::ok:
      lua_pushboolean(L, 1);
      lua_pushinteger(L, r.response_to);
      lua_pushlightuserdata(L, const_cast<char*>(s + r.doc_offset));
      return 3;
    case wire::reply_status::too_short:
      lua_pushboolean(L, 0);
      return 1;
    case wire::reply_status::bad_opcode:
      return luaL_error(L, "Unsupported opcode:%d", static_cast<int>(r.detail));
    case wire::reply_status::checksum:
      return luaL_error(L, "Unsupported OP_MSG flag checksumPresent");
    case wire::reply_status::bad_flags:
      return luaL_error(L, "Unsupported OP_MSG flag:%d", static_cast<int>(r.detail));
    case wire::reply_status::bad_section:
      return luaL_error(L, "Unsupported OP_MSG payload type: %d", static_cast<int>(r.detail));
    case wire::reply_status::truncated:
      return luaL_error(L, "Truncated OP_MSG reply: the document runs past the message");
    case wire::reply_status::extra_sections:
      return luaL_error(L, "Unsupported OP_MSG reply: >1 section");
  }
  return luaL_error(L, "Invalid OP_MSG reply");
}

}  // namespace

int open_mongo_driver(lua_State* L) {
  luaL_checkversion(L);
  const luaL_Reg functions[] = {
      {"op_msg", op_msg}, {"length", length}, {"reply", reply}, {nullptr, nullptr}};
  luaL_newlib(L, functions);
  return 1;
}

}  // namespace starling::lua
