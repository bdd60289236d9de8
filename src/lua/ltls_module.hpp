#pragma once
// ltls.c: skynet's TLS module for http.tlshelper, over net/tls (docs/WEB.md).

#include <lua.hpp>

namespace starling::lua {

int open_ltls(lua_State* L);

}  // namespace starling::lua
