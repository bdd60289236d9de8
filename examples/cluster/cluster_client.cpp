#include "examples/cluster/cluster_client.hpp"

#include <fmt/format.h>

#include "cluster/cluster.hpp"

namespace starling::examples {

namespace {

std::string first_string(const reply& r) {
  seri::value_list values = r.values();
  return !values.empty() && values[0].is_string() ? values[0].as_string() : "(not a string)";
}

}  // namespace

task<> cluster_client::on_request(request req) {
  seri::reader args = req.reader();
  const std::string command(args.read_string());
  if (command == "run") {
    const bool ok = co_await run(std::string(args.read_string()));
    req.reply(ok);
  } else if (command == "register") {
    // Remote nodes reach this service as "@<name>".
    cluster::client cluster(*this);
    result<void> done = co_await cluster.register_name(std::string(args.read_string()));
    req.reply(static_cast<bool>(done));
  } else if (command == "echo") {
    req.reply(std::string(args.read_string()));
  } else {
    req.fail();
  }
}

task<bool> cluster_client::run(std::string node) {
  cluster::client cluster(*this);
  bool ok = true;

  result<reply> set = co_await cluster.call(node, "@sdb", "SET", "native", "from C++");
  ok = ok && set;
  log(fmt::format("client (C++): SET native -> {}",
                  set ? std::string_view("done") : describe(set.error())));

  result<reply> get = co_await cluster.call(node, "@sdb", "GET", "native");
  ok = ok && get && first_string(*get) == "from C++";
  log(fmt::format("client (C++): GET native -> {}",
                  get ? first_string(*get) : std::string(describe(get.error()))));

  result<void> sent = co_await cluster.send(node, "@sdb", "SET", "sent", "by a push");
  ok = ok && sent;
  result<reply> after = co_await cluster.call(node, "@sdb", "GET", "sent");
  ok = ok && after && first_string(*after) == "by a push";
  log(fmt::format("client (C++): GET sent -> {}",
                  after ? first_string(*after) : std::string(describe(after.error()))));

  result<handle_t> sdb = co_await cluster.query(node, "sdb");
  ok = ok && sdb;
  if (sdb) {
    result<reply> by_handle = co_await cluster.call(node, *sdb, "GET", "hello");
    ok = ok && by_handle && first_string(*by_handle) == "world";
    log(fmt::format(
        "client (C++): @sdb is :{:08x}; GET hello by handle -> {}", *sdb,
        by_handle ? first_string(*by_handle) : std::string(describe(by_handle.error()))));
  }

  result<reply> bad = co_await cluster.call(node, "@sdb", "DROP");
  ok = ok && !bad && bad.error() == errc::call_failed;
  log(fmt::format("client (C++): an unknown operation -> {}",
                  bad ? std::string_view("an answer") : describe(bad.error())));
  co_return ok;
}

}  // namespace starling::examples
