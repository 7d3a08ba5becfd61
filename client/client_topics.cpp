// Client's publish/subscribe calls: bindings, publish, subscribe, and request/reply on top.
#include <chrono>

#include "client/admin_json.hpp"
#include "client/client_impl.hpp"
#include "client/request.hpp"

namespace postbox {

using proto::Kind;

namespace {

std::string in_quotes(std::string_view s) {
  return "'" + std::string(s) + "'";
}

/// What is left of a request's time, for the next wait (0: look once, do not wait).
std::chrono::milliseconds left_until(std::chrono::steady_clock::time_point deadline) {
  auto left =
      std::chrono::ceil<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
  return std::max(left, std::chrono::milliseconds(0));
}

/// A request published where no queue took it: nobody can answer, so
/// request() says so at once instead of waiting out its timeout.
[[noreturn]] void no_route(std::string_view target, const PublishResult& r, bool tried_queue) {
  std::string text = tried_queue
                         ? "no queue " + in_quotes(target) +
                               ", and no queue took the request published to that topic"
                         : "no queue took the request published to topic " + in_quotes(target);
  if (r.denied > 0)
    text += " (" + std::to_string(r.denied) + " matching queue(s) not writable by you)";
  if (r.dropped > 0)
    text += " (" + std::to_string(r.dropped) + " matching queue(s) full, drop-new)";
  throw Error(Errc::no_route, text);
}

}  // namespace

// --- Bindings -----------------------------------------------------------------------

bool Client::bind(std::string_view queue, std::string_view pattern) {
  return detail::parse_bind_reply(impl_->admin(Kind::bind, detail::bind_request(queue, pattern)));
}

bool Client::unbind(std::string_view queue, std::string_view pattern) {
  return detail::parse_unbind_reply(
      impl_->admin(Kind::unbind, detail::bind_request(queue, pattern)));
}

Bindings Client::bindings(std::optional<std::string_view> queue) {
  return detail::parse_bindings_reply(
      impl_->admin(Kind::bindings, detail::bindings_request(queue)));
}

// --- Publish --------------------------------------------------------------------------

PublishResult Client::publish(std::string_view topic, std::string_view payload,
                              const SendOptions& options) {
  Reply r = wait(start_publish(topic, payload, options));
  r.throw_if_error();
  return r.published;
}

PublishResult Client::publish_batch(std::string_view topic,
                                    std::span<const OutgoingMessage> messages) {
  Reply r = wait(start_publish_batch(topic, messages));
  r.throw_if_error();
  return r.published;
}

PublishResult Client::publish_batch(std::string_view topic, std::span<const std::string> payloads,
                                    const SendOptions& options) {
  Reply r = wait(start_publish_batch(topic, payloads, options));
  r.throw_if_error();
  return r.published;
}

Client::Ticket Client::start_publish(std::string_view topic, std::string_view payload,
                                     const SendOptions& options) {
  impl_->require_connected();
  return {
      impl_->started(impl_->conn.add_send(topic, payload, options, Kind::publish), Kind::publish)};
}

Client::Ticket Client::start_publish_batch(std::string_view topic,
                                           std::span<const OutgoingMessage> messages) {
  impl_->require_connected();
  return {impl_->started(impl_->conn.add_send_batch(topic, messages, kNoWait, Kind::publish),
                         Kind::publish)};
}

Client::Ticket Client::start_publish_batch(std::string_view topic,
                                           std::span<const std::string> payloads,
                                           const SendOptions& options) {
  impl_->require_connected();
  return {impl_->started(impl_->conn.add_send_batch(topic, payloads, options, Kind::publish),
                         Kind::publish)};
}

// --- Subscriptions --------------------------------------------------------------------

std::string Client::subscription_queue(std::span<const std::string> patterns) {
  impl_->require_connected();
  impl_->conn.require_jobs("subscribe");
  if (patterns.empty())
    throw Error(Errc::invalid_argument, "a subscription needs at least one pattern");
  QueueOptions temporary;
  temporary.temporary = true;
  std::string queue = declare("", temporary).queue.name;
  try {
    for (const auto& p : patterns) bind(queue, p);
  } catch (const Error&) {
    // A bad pattern: leave nothing half made behind (it would die with the
    // connection anyway, and a lost connection has removed it already). The
    // bind's error is the one to report, whatever the removal says.
    try {
      if (is_connected()) remove(queue);
    } catch (const Error&) {
    }
    throw;
  }
  return queue;
}

Subscription Client::subscribe(std::span<const std::string> patterns,
                               const ConsumeOptions& options) {
  std::string queue = subscription_queue(patterns);
  uint32_t consumer = consume(queue, options);
  return {std::move(queue), consumer};
}

Subscription Client::subscribe(std::string_view pattern, const ConsumeOptions& options) {
  const std::string one(pattern);
  return subscribe(std::span<const std::string>(&one, 1), options);
}

// --- Request/reply --------------------------------------------------------------------

const std::string& Client::reply_queue() {
  impl_->require_connected();
  if (!impl_->reply_queue) {
    impl_->conn.require_jobs("request");
    QueueOptions temporary;
    temporary.temporary = true;
    impl_->reply_queue = declare("", temporary).queue.name;
    impl_->nonce = detail::random_nonce();
  }
  return *impl_->reply_queue;
}

std::optional<Message> Client::request(std::string_view target, std::string_view payload,
                                       const RequestOptions& options) {
  impl_->require_connected();
  impl_->conn.require_jobs("request");
  if (options.timeout.count() < 0) throw Error(Errc::invalid_argument, "timeout is negative");
  const auto deadline = std::chrono::steady_clock::now() + options.timeout;
  const std::string replies = reply_queue();
  const std::string id = detail::correlation_id(impl_->nonce, ++impl_->requests_made);

  SendOptions send;
  send.type = options.type;
  send.priority = options.priority;
  send.headers = options.headers;
  send.correlation_id = id;
  send.reply_to = replies;
  send.timeout = left_until(deadline);  // a full queue may take some of the time

  RequestTarget to = options.to;
  if (to == RequestTarget::automatic && !detail::could_be_queue_name(target))
    to = RequestTarget::topic;
  bool sent = false;
  if (to != RequestTarget::topic) {
    try {
      this->send(target, payload, send);
      sent = true;
    } catch (const Error& e) {
      if (to == RequestTarget::queue || e.errc() != Errc::no_such_queue) throw;
    }
  }
  if (!sent) {
    PublishResult r = publish(target, payload, send);
    if (r.queues == 0) no_route(target, r, to == RequestTarget::automatic);
  }

  for (;;) {
    ReceiveOptions wait;
    wait.timeout = left_until(deadline);
    std::optional<Message> m = receive(replies, wait);
    if (!m) return std::nullopt;
    if (m->correlation_id == id) return m;
    // Late answers to requests that gave up: nobody wants them any more.
  }
}

}  // namespace postbox
