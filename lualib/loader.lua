-- The loader lives in C++ (src/lua/loader.cpp); this file is what config `lualoader` names.
require("skynet.loader")(...)
