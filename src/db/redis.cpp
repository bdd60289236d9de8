#include "db/redis.hpp"

#include <stdexcept>
#include <utility>

namespace starling::db {

namespace {

/// Reads one reply (a command's).
class reply_reader final : public channel::reader {
 public:
  parse_status parse(std::string_view unread, std::size_t& used) override {
    switch (parser_.parse(unread, used)) {
      case resp::parser::status::need_more:
        return parse_status::need_more;
      case resp::parser::status::failed:
        return parse_status::failed;
      case resp::parser::status::done:
        break;
    }
    reply = parser_.take();
    return parse_status::done;
  }
  [[nodiscard]] std::string failure() const override { return parser_.error(); }

  resp::value reply;

 private:
  resp::parser parser_;
};

/// Reads the replies of a pipeline, keeping each as soon as it is complete.
class batch_reader final : public channel::reader {
 public:
  explicit batch_reader(std::size_t count) : count_(count) { replies.reserve(count); }

  parse_status parse(std::string_view unread, std::size_t& used) override {
    used = 0;
    while (replies.size() < count_) {
      std::size_t step = 0;
      const resp::parser::status s = parser_.parse(unread.substr(used), step);
      used += step;
      if (s == resp::parser::status::need_more) return parse_status::need_more;
      if (s == resp::parser::status::failed) return parse_status::failed;
      replies.push_back(parser_.take());
    }
    return parse_status::done;
  }
  [[nodiscard]] std::string failure() const override { return parser_.error(); }

  std::vector<resp::value> replies;

 private:
  resp::parser parser_;
  std::size_t count_;
};

channel::options channel_options(const redis_options& o, channel::auth_hook auth) {
  channel::options c;
  c.server = o.server;
  c.backups = o.backups;
  c.auth = std::move(auth);
  c.nodelay = true;
  c.timeout = o.timeout;
  c.overload = o.overload;
  return c;
}

/// Sends one command of the handshake; an error reply fails it with the reply's text.
task<result<void>> checked(channel::handshake& h, payload command) {
  reply_reader r;
  const result<void> sent = co_await h.request(std::move(command), r);
  if (!sent) co_return sent;
  if (r.reply.is_error()) co_return h.fail(std::move(r.reply.text));
  co_return result<void>{};
}

/// AUTH, then SELECT, as configured.
task<result<void>> login(const redis_options& o, channel::handshake& h) {
  if (!o.password.empty()) {
    std::vector<std::string_view> args{"AUTH"};
    if (!o.username.empty()) args.push_back(o.username);
    args.push_back(o.password);
    const result<void> authed = co_await checked(h, resp::encode_command(args));
    if (!authed) co_return authed;
  }
  if (o.db) {
    const std::string db = std::to_string(*o.db);
    const std::vector<std::string_view> args{"SELECT", db};
    const result<void> selected = co_await checked(h, resp::encode_command(args));
    if (!selected) co_return selected;
  }
  co_return result<void>{};
}

/// Re-sends the subscriptions of `names` (no reply awaited).
result<void> resubscribe(channel::handshake& h, std::string_view verb,
                         const std::set<std::string>& names) {
  if (names.empty()) return {};
  std::vector<std::string_view> args{verb};
  args.insert(args.end(), names.begin(), names.end());
  return h.send(resp::encode_command(args));
}

}  // namespace

// ---- commands ----------------------------------------------------------------------------

redis::redis(actor& owner, redis_options options)
    : options_(std::move(options)),
      channel_(owner,
               channel_options(
                   options_, options_.password.empty() && !options_.db
                                 ? channel::auth_hook()
                                 : [this](channel::handshake& h) { return authenticate(h); })) {}

task<result<void>> redis::connect() {
  return channel_.connect(true);
}

task<result<resp::value>> redis::run(payload bytes) {
  reply_reader r;
  const result<void> done = co_await channel_.request(std::move(bytes), r);
  if (!done) co_return done.error();
  co_return std::move(r.reply);
}

task<result<std::vector<resp::value>>> redis::pipeline(const batch& commands) {
  if (commands.empty()) throw std::logic_error("redis pipeline is empty");
  batch_reader r(commands.size());
  const result<void> done =
      co_await channel_.request(payload::copy_of(std::string_view(commands.bytes_)), r);
  if (!done) co_return done.error();
  co_return std::move(r.replies);
}

task<result<void>> redis::authenticate(channel::handshake& h) {
  return login(options_, h);
}

// ---- pub/sub -----------------------------------------------------------------------------

subscriber::subscriber(actor& owner, redis_options options)
    : options_(std::move(options)),
      channel_(owner, channel_options(options_,
                                      [this](channel::handshake& h) { return authenticate(h); })) {}

task<result<void>> subscriber::connect() {
  return channel_.connect(true);
}

task<result<void>> subscriber::subscribe(std::vector<std::string> channels) {
  channels_.insert(channels.begin(), channels.end());
  return post("SUBSCRIBE", std::move(channels));
}

task<result<void>> subscriber::psubscribe(std::vector<std::string> patterns) {
  patterns_.insert(patterns.begin(), patterns.end());
  return post("PSUBSCRIBE", std::move(patterns));
}

task<result<void>> subscriber::unsubscribe(std::vector<std::string> channels) {
  for (const std::string& c : channels)
    channels_.erase(c);
  return post("UNSUBSCRIBE", std::move(channels));
}

task<result<void>> subscriber::punsubscribe(std::vector<std::string> patterns) {
  for (const std::string& p : patterns)
    patterns_.erase(p);
  return post("PUNSUBSCRIBE", std::move(patterns));
}

task<result<void>> subscriber::post(std::string_view verb, std::vector<std::string> names) {
  if (names.empty()) co_return result<void>{};
  std::vector<std::string_view> args{verb};
  args.insert(args.end(), names.begin(), names.end());
  // A reconnect inside send() has already re-sent the names (they are recorded): redis then
  // confirms twice, and next_message() skips confirmations.
  co_return co_await channel_.send(resp::encode_command(args));
}

task<result<message>> subscriber::next_message() {
  for (;;) {
    reply_reader r;
    const result<void> got = co_await channel_.response(r);
    if (!got) co_return got.error();
    resp::value& v = r.reply;
    if (!v.is_array() || v.elements.empty()) continue;
    std::vector<resp::value>& e = v.elements;
    if (e[0].is("message") && e.size() == 3) {
      co_return message{std::move(e[1].text), std::move(e[2].text), {}};
    }
    if (e[0].is("pmessage") && e.size() == 4) {
      co_return message{std::move(e[2].text), std::move(e[3].text), std::move(e[1].text)};
    }
    // subscribe / unsubscribe confirmations and anything else: not a message
  }
}

task<result<void>> subscriber::authenticate(channel::handshake& h) {
  const result<void> logged_in = co_await login(options_, h);
  if (!logged_in) co_return logged_in;
  // The confirmations are read by next_message(), which skips them.
  const result<void> patterns = resubscribe(h, "PSUBSCRIBE", patterns_);
  if (!patterns) co_return patterns;
  co_return resubscribe(h, "SUBSCRIBE", channels_);
}

}  // namespace starling::db
