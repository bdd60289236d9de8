#pragma once
// snlua: the service that hosts one Lua 5.4 state (docs/LUA.md).
//
// init() only queues the launch parameter to the service itself, so `LAUNCH snlua ...` returns
// at once; the first message builds the state on a worker: standard libraries, the skynet
// modules as preloads, the code cache, then the loader (config `lualoader`) runs the service
// file. Later messages go to the callback the Lua code installed (skynet.start installs the
// C++ scheduler, lua/scheduler.hpp).

#include <atomic>
#include <cstddef>
#include <lua.hpp>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "core/module_registry.hpp"
#include "core/service.hpp"
#include "lua/scheduler.hpp"
#include "lua/small_heap.hpp"

namespace starling::lua {

/// The modules built into the binary that `require` finds by name (skynet, skynet.core, ...):
/// tests/lua/bindings_test.cpp holds every one of them to the memory-limit test.
std::span<const luaL_Reg> native_modules() noexcept;

class snlua final : public service {
 public:
  snlua() = default;
  ~snlua() override;

  bool init(context& self, std::string_view param) override;
  void dispatch(context& self, message& msg) override;
  /// SIGNAL: the Lua code running now raises `signal <number>` (stops endless loops).
  void signal(context& self, int number) override;
  [[nodiscard]] std::size_t memory_in_use() const noexcept override {
    return used_.load(std::memory_order_relaxed);
  }
  [[nodiscard]] std::size_t blocks_in_use() const noexcept override {
    return blocks_.load(std::memory_order_relaxed);
  }

 private:
  static void* allocate(void* ud, void* block, std::size_t old_size, std::size_t new_size);
  static int boot_protected(lua_State* L);
  void boot(context& self);
  void fail_boot(context& self);

  struct state_closer {
    void operator()(lua_State* L) const { lua_close(L); }
  };

  context* self_ = nullptr;
  std::string param_;
  std::atomic<std::size_t> used_{0};    // read by SIGNAL 1 and skynet.memory from other threads
  std::atomic<std::size_t> blocks_{0};  // live blocks, read by skynet.memory
  std::size_t limit_ = 0;               // 0: none
  std::size_t warn_at_ = std::size_t{32} << 20;  // doubles after each warning
  small_heap heap_;                              // outlives the state, whose blocks it holds
  // The state closes before the scheduler goes: finalizers may still reach it.
  std::unique_ptr<scheduler> scheduler_;
  std::atomic<scheduler*> booted_{nullptr};  // scheduler_ once the boot finished (for SIGNAL)
  std::unique_ptr<lua_State, state_closer> state_;
};

/// Registers the `snlua` module.
void register_snlua(module_registry& modules);

}  // namespace starling::lua
