#pragma once
// require "skynet.cluster.core": skynet's cluster codec for the Lua side of the cluster
// (skynet.cluster, clustersender, clusteragent), on top of net/cluster_wire. The functions,
// their arguments, results and error texts are skynet's; docs/CLUSTER.md lists them.
//
// Message buffers are malloc'd, like every message body of the runtime: a buffer this module
// returns (unpackrequest, concat) can go to skynet.rawcall / rawsend / ret, which take it
// over, and a buffer given to packrequest / packpush / append is freed here.

#include <lua.hpp>

namespace starling::lua {

/// Pushes the module table; returns 1.
int open_cluster_core(lua_State* L);

}  // namespace starling::lua
