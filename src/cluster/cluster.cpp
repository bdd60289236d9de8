#include "cluster/cluster.hpp"

#include <cstdlib>
#include <exception>

namespace starling::cluster {

namespace {

// A message for a clustersender: (cmd, target, msg, size), msg a malloc'd block that the
// sender's packrequest/packpush frees, as skynet.pack's blocks are.
struct sender_message {
  payload body;
  void* block = nullptr;  // ours until the message is delivered

  sender_message(std::string_view cmd, const remote_address& target, payload args) {
    const std::size_t size = args.size();
    if (size == 0) {
      body = std::visit([&](const auto& t) { return seri::pack(cmd, t, ""); }, target);
      return;
    }
    block = args.release_malloced();
    body = std::visit(
        [&](const auto& t) {
          return seri::pack(cmd, t, seri::light_userdata{reinterpret_cast<std::uintptr_t>(block)},
                            static_cast<std::int64_t>(size));
        },
        target);
  }
  sender_message(const sender_message&) = delete;
  sender_message& operator=(const sender_message&) = delete;
  ~sender_message() { std::free(block); }  // NOLINT(*-no-malloc): the block comes from malloc

  void delivered() noexcept { block = nullptr; }
};

// The first value of a reply as an integer; nullopt for nil, a bad body or another type.
std::optional<std::int64_t> first_integer(const reply& r) {
  try {
    seri::value_list values = r.values();
    if (!values.empty() && values[0].is_integer()) return values[0].as_integer();
  } catch (const std::exception&) {
    // a malformed body counts as no value
  }
  return std::nullopt;
}

}  // namespace

task<result<handle_t>> client::clusterd() {
  if (clusterd_ == 0) {
    result<reply> r = co_await self_.call(".service", "LAUNCH", "clusterd");
    if (!r) co_return r.error();
    const std::optional<std::int64_t> h = first_integer(*r);
    if (!h || *h <= 0) co_return errc::call_failed;
    clusterd_ = static_cast<handle_t>(*h);
  }
  co_return clusterd_;
}

task<result<handle_t>> client::sender(const std::string& node) {
  if (auto it = senders_.find(node); it != senders_.end()) co_return it->second;
  result<handle_t> d = co_await clusterd();
  if (!d) co_return d.error();
  result<reply> r = co_await self_.call(*d, "sender", node);
  if (!r) co_return r.error();
  const std::optional<std::int64_t> h = first_integer(*r);
  if (!h) co_return errc::call_failed;  // the node is down (its entry is false)
  senders_[node] = static_cast<handle_t>(*h);
  co_return static_cast<handle_t>(*h);
}

void client::forget_sender(const std::string& node) {
  senders_.erase(node);
}

task<result<reply>> client::call_packed(std::string node, remote_address target, payload args) {
  result<handle_t> s = co_await sender(node);
  if (!s) co_return errc::call_failed;
  sender_message msg("req", target, std::move(args));
  result<reply> r = co_await self_.rawcall(*s, ptype::lua, std::move(msg.body));
  if (r || r.error() != errc::invalid_address) {
    msg.delivered();
  } else {
    forget_sender(node);  // the sender is gone (its node went away with clusterd)
  }
  if (!r) co_return errc::call_failed;
  co_return std::move(*r);
}

task<result<void>> client::send_packed(std::string node, remote_address target, payload args) {
  result<handle_t> s = co_await sender(node);
  if (!s) co_return errc::call_failed;
  sender_message msg("push", target, std::move(args));
  if (!self_.send_raw(*s, ptype::lua, std::move(msg.body))) {
    forget_sender(node);
    co_return errc::call_failed;
  }
  msg.delivered();
  co_return result<void>{};
}

task<result<handle_t>> client::query(std::string node, std::string name) {
  result<reply> r = co_await call_packed(std::move(node), handle_t{0}, seri::pack(name));
  if (!r) co_return r.error();
  const std::optional<std::int64_t> h = first_integer(*r);
  if (!h) co_return errc::call_failed;
  co_return static_cast<handle_t>(*h);
}

task<result<void>> client::register_name(std::string name, handle_t service) {
  result<handle_t> d = co_await clusterd();
  if (!d) co_return d.error();
  result<reply> r =
      co_await self_.call(*d, "register", name, service != 0 ? service : self_.self());
  if (!r) co_return r.error();
  co_return result<void>{};
}

task<result<void>> client::unregister_name(std::string name) {
  result<handle_t> d = co_await clusterd();
  if (!d) co_return d.error();
  result<reply> r = co_await self_.call(*d, "unregister", name);
  if (!r) co_return r.error();
  co_return result<void>{};
}

task<result<handle_t>> client::proxy(std::string node, remote_address target) {
  result<handle_t> d = co_await clusterd();
  if (!d) co_return d.error();
  result<reply> r = co_await self_.rawcall(
      *d, ptype::lua,
      std::visit([&](const auto& t) { return seri::pack("proxy", node, t); }, target));
  if (!r) co_return r.error();
  const std::optional<std::int64_t> h = first_integer(*r);
  if (!h) co_return errc::call_failed;
  co_return static_cast<handle_t>(*h);
}

task<result<int>> client::open(int port) {
  result<handle_t> d = co_await clusterd();
  if (!d) co_return d.error();
  result<reply> r = co_await self_.call(*d, "listen", "0.0.0.0", port);
  if (!r) co_return r.error();
  try {
    seri::value_list values = r->values();
    if (values.size() >= 2 && values[1].is_integer()) {
      co_return static_cast<int>(values[1].as_integer());
    }
  } catch (const std::exception&) {
    // falls through to the failure below
  }
  co_return errc::call_failed;
}

task<result<void>> client::open(std::string node) {
  result<handle_t> d = co_await clusterd();
  if (!d) co_return d.error();
  result<reply> r = co_await self_.call(*d, "listen", node, nullptr);
  if (!r) co_return r.error();
  co_return result<void>{};
}

task<result<void>> client::reload(std::vector<node_entry> entries) {
  result<handle_t> d = co_await clusterd();
  if (!d) co_return d.error();
  seri::table t;
  for (auto& [name, address] : entries) {
    t.hash.emplace_back(seri::value(std::move(name)),
                        address ? seri::value(std::move(*address)) : seri::value(false));
  }
  result<reply> r = co_await self_.call(*d, "reload", t);
  if (!r) co_return r.error();
  // The node table changed: senders may have been closed or moved.
  senders_.clear();
  co_return result<void>{};
}

}  // namespace starling::cluster
