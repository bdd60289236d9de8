#include "lua/crypt_module.hpp"

#include <array>
#include <string>
#include <string_view>

#include "crypt/crypt.hpp"
#include "lua/protected.hpp"

namespace starling::lua {

namespace {

std::string_view check_view(lua_State* L, int index) {
  std::size_t size = 0;
  const char* s = luaL_checklstring(L, index, &size);
  return {s, size};
}

template <std::size_t N>
int push_bytes(lua_State* L, const std::array<char, N>& bytes) {
  lua_pushlstring(L, bytes.data(), bytes.size());
  return 1;
}

int push_string(lua_State* L, const std::string& s) {
  lua_pushlstring(L, s.data(), s.size());
  return 1;
}

// A function of one string argument whose result has a fixed size.
template <auto F>
int fixed1(lua_State* L) {
  const std::string_view a = check_view(L, 1);
  return push_bytes(L, native(L, [&] { return F(a); }));
}

template <auto F>
int fixed2(lua_State* L) {
  const std::string_view a = check_view(L, 1);
  const std::string_view b = check_view(L, 2);
  return push_bytes(L, native(L, [&] { return F(a, b); }));
}

template <auto F>
int string1(lua_State* L) {
  const std::string_view a = check_view(L, 1);
  return native(
      L, [&] { return F(a); }, push_string);
}

template <auto F>
int string2(lua_State* L) {
  const std::string_view a = check_view(L, 1);
  const std::string_view b = check_view(L, 2);
  return native(
      L, [&] { return F(a, b); }, push_string);
}

int randomkey(lua_State* L) {
  return push_bytes(L, native(L, [] { return crypt::randomkey(); }));
}

template <auto F>
int des(lua_State* L) {
  const std::string_view key = check_view(L, 1);
  const std::string_view text = check_view(L, 2);
  const lua_Integer mode = luaL_optinteger(L, 3, 0);
  return native(
      L, [&] { return F(key, text, mode); }, push_string);
}

// md5.core

int md5_exor(lua_State* L) {
  const std::string_view a = check_view(L, 1);
  const std::string_view b = check_view(L, 2);
  luaL_argcheck(L, a.size() == b.size(), 2, "lengths must be equal");
  if (a.empty()) {
    lua_pushliteral(L, "");
    return 1;
  }
  return native(
      L, [&] { return crypt::xor_str(a, b); }, push_string);
}

int md5_crypt(lua_State* L) {
  const std::string_view msg = check_view(L, 1);
  const std::string_view key = check_view(L, 2);
  if (lua_isnoneornil(L, 3)) {
    return native(
        L, [&] { return crypt::md5_crypt(msg, key, crypt::md5_default_seed()); }, push_string);
  }
  const std::string_view seed = check_view(L, 3);
  return native(
      L, [&] { return crypt::md5_crypt(msg, key, seed); }, push_string);
}

int md5_decrypt(lua_State* L) {
  const std::string_view cipher = check_view(L, 1);
  const std::string_view key = check_view(L, 2);
  luaL_argcheck(L, crypt::md5_cipher_valid(cipher), 1, "invalid cyphered string");
  return native(
      L, [&] { return crypt::md5_decrypt(cipher, key); }, push_string);
}

}  // namespace

int open_crypt(lua_State* L) {
  luaL_checkversion(L);
  const luaL_Reg functions[] = {
      {"base64decode", string1<crypt::base64decode>},
      {"base64encode", string1<crypt::base64encode>},
      {"desdecode", des<crypt::desdecode>},
      {"desencode", des<crypt::desencode>},
      {"dhexchange", fixed1<crypt::dhexchange>},
      {"dhsecret", fixed2<crypt::dhsecret>},
      {"hashkey", fixed1<crypt::hashkey>},
      {"hexdecode", string1<crypt::hexdecode>},
      {"hexencode", string1<crypt::hexencode>},
      {"hmac64", fixed2<crypt::hmac64>},
      {"hmac64_md5", fixed2<crypt::hmac64_md5>},
      {"hmac_hash", fixed2<crypt::hmac_hash>},
      {"hmac_sha1", fixed2<crypt::hmac_sha1>},
      {"randomkey", randomkey},
      {"sha1", fixed1<crypt::sha1>},
      {"xor_str", string2<crypt::xor_str>},
      {nullptr, nullptr},
  };
  luaL_newlib(L, functions);
  lua_createtable(L, 0, 2);
  lua_pushinteger(L, static_cast<lua_Integer>(crypt::padding::iso7816_4));
  lua_setfield(L, -2, "iso7816_4");
  lua_pushinteger(L, static_cast<lua_Integer>(crypt::padding::pkcs7));
  lua_setfield(L, -2, "pkcs7");
  lua_setfield(L, -2, "padding");
  return 1;
}

int open_md5_core(lua_State* L) {
  luaL_checkversion(L);
  const luaL_Reg functions[] = {
      {"sum", fixed1<crypt::md5>}, {"exor", md5_exor}, {"crypt", md5_crypt},
      {"decrypt", md5_decrypt},    {nullptr, nullptr},
  };
  luaL_newlib(L, functions);
  lua_pushliteral(L, "Copyright (C) 2003-2013 PUC-Rio");
  lua_setfield(L, -2, "_COPYRIGHT");
  lua_pushliteral(L, "Basic cryptographic facilities");
  lua_setfield(L, -2, "_DESCRIPTION");
  lua_pushliteral(L, "MD5 1.2");
  lua_setfield(L, -2, "_VERSION");
  return 1;
}

}  // namespace starling::lua
