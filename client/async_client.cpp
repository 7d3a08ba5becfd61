// AsyncClient: drives detail::Connection over an Asio Unix socket, many requests in flight.
#include "postbox/async_client.hpp"

#include <utility>  // before Asio: Boost 1.74's coroutine support needs it

#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <exception>
#include <unordered_map>

#include "client/admin_json.hpp"
#include "client/connection.hpp"

namespace postbox {

namespace asio = boost::asio;
using detail::RawReply;
using proto::Kind;

namespace {

/// A stored completion handler, type-erased because each awaiting coroutine
/// brings its own handler type and those are move-only.
class Waiter {
 public:
  virtual ~Waiter() = default;
  virtual void complete(RawReply reply) = 0;
};

template <class Handler>
class HandlerWaiter final : public Waiter {
 public:
  HandlerWaiter(Handler h, AsyncClient::executor_type fallback)
      : handler_(std::move(h)), fallback_(std::move(fallback)) {}
  void complete(RawReply reply) override {
    // Never resume the waiter from inside the read handler: it could start
    // new requests while we are still walking the input buffer.
    auto ex = asio::get_associated_executor(handler_, fallback_);
    asio::post(ex, [h = std::move(handler_), r = std::move(reply)]() mutable {
      std::move(h)(std::move(r));
    });
  }

 private:
  Handler handler_;
  AsyncClient::executor_type fallback_;
};

RawReply failed_reply(const Error& e) {
  RawReply r;
  r.kind = Kind::error;
  r.reply.error = make_error_code(e.errc());
  r.reply.error_message = e.what();
  return r;
}

}  // namespace

// Design: one read loop (do_read) decodes every frame a read brings and hands
// each reply to its request's Pending slot; one write chain (do_write) sends
// whatever requests accumulated while the previous write was in flight, so
// requests made together leave in one write. A request's awaitable waits on
// its slot: if the reply came first it is taken at once, else the awaiting
// coroutine's handler is parked there. Everything runs on the executor, so no
// locks. A failure of the connection completes every parked handler.
struct AsyncClient::Impl : std::enable_shared_from_this<Impl> {
  struct Pending {
    Kind kind = Kind::error;
    std::optional<RawReply> reply;
    std::unique_ptr<Waiter> waiter;
    bool abandoned = false;  // its awaitable was destroyed unawaited
  };

  explicit Impl(executor_type ex) : executor(ex), socket(ex) {}

  executor_type executor;
  asio::local::stream_protocol::socket socket;
  detail::Connection conn;
  std::vector<std::byte> writing;  // the buffer of the write in flight
  bool write_in_flight = false;
  bool ready = false;            // HELLO_OK accepted
  std::optional<Error> failure;  // why the connection ended; sticky
  std::unordered_map<uint32_t, Pending> pending;
  // deliveries() waiting for a consumer's messages, at most one per consumer.
  std::unordered_map<uint32_t, std::unique_ptr<Waiter>> consumer_waiters;

  void require_usable() const {
    if (failure) throw *failure;
    if (!socket.is_open()) throw Error(Errc::disconnected, "not connected to the broker");
  }

  uint32_t start(uint32_t id, Kind kind) {
    pending[id].kind = kind;
    do_write();
    return id;
  }

  void do_write() {
    if (write_in_flight || conn.output().empty() || failure) return;
    write_in_flight = true;
    writing.clear();
    writing.swap(conn.output());
    asio::async_write(socket, asio::buffer(writing),
                      [self = shared_from_this()](boost::system::error_code ec, std::size_t) {
                        self->write_in_flight = false;
                        if (ec)
                          return self->fail(Errc::disconnected,
                                            "writing to the broker failed: " + ec.message());
                        self->do_write();
                      });
  }

  void do_read() {
    auto space = conn.input_space();
    socket.async_read_some(asio::buffer(space.data(), space.size()),
                           [self = shared_from_this()](boost::system::error_code ec,
                                                       std::size_t n) { self->on_read(ec, n); });
  }

  void on_read(boost::system::error_code ec, std::size_t n) {
    if (failure) return;
    if (ec == asio::error::eof) return fail(Errc::disconnected, "the broker closed the connection");
    if (ec) return fail(Errc::disconnected, "reading from the broker failed: " + ec.message());
    conn.commit_input(n);
    try {
      while (auto r = conn.next_reply()) deliver(std::move(*r));
    } catch (const Error& e) {
      return fail(e.errc(), e.what());
    }
    wake_consumers();
    if (!failure) do_read();
  }

  /// True when deliveries(consumer) can complete without waiting.
  bool consumer_ready(uint32_t consumer) const {
    return conn.has_deliveries(consumer) || conn.consumer_ended(consumer);
  }

  /// What deliveries(consumer) completes with: its messages, else the error
  /// that ended it, else nothing (cancelled).
  RawReply take_for(uint32_t consumer) {
    RawReply r;
    r.kind = Kind::deliver;
    r.request_id = consumer;
    r.reply.messages = conn.take_deliveries(consumer);
    if (r.reply.messages.empty()) {
      if (const auto& e = conn.consumer_error(consumer)) {
        r.kind = Kind::error;
        r.reply.error = make_error_code(e->errc());
        r.reply.error_message = e->what();
      }
    }
    return r;
  }

  void wake_consumers() {
    for (auto it = consumer_waiters.begin(); it != consumer_waiters.end();) {
      if (!consumer_ready(it->first)) {
        ++it;
        continue;
      }
      auto waiter = std::move(it->second);
      uint32_t consumer = it->first;
      it = consumer_waiters.erase(it);
      waiter->complete(take_for(consumer));
    }
  }

  template <class Token>
  auto async_wait_consumer(uint32_t consumer, Token&& token) {
    return asio::async_initiate<Token, void(RawReply)>(
        [this, consumer](auto handler) {
          auto waiter =
              std::make_unique<HandlerWaiter<decltype(handler)>>(std::move(handler), executor);
          if (failure) return waiter->complete(failed_reply(*failure));
          if (consumer_ready(consumer)) return waiter->complete(take_for(consumer));
          consumer_waiters[consumer] = std::move(waiter);
        },
        token);
  }

  void deliver(RawReply r) {
    // Id 0 is a connection-wide error sent just before the broker closes.
    if (r.request_id == 0 && r.kind == Kind::error)
      throw Error(static_cast<Errc>(r.reply.error.value()), r.reply.error_message);
    auto it = pending.find(r.request_id);
    if (it == pending.end())
      throw Error(Errc::protocol_error, "reply to unknown request id " +
                                            std::to_string(r.request_id) + " from the broker");
    Pending& p = it->second;
    if (r.kind != Kind::error && r.kind != p.kind)
      throw Error(Errc::protocol_error, "reply of the wrong kind from the broker");
    if (p.abandoned) {
      pending.erase(it);
    } else if (p.waiter) {
      auto waiter = std::move(p.waiter);
      pending.erase(it);
      waiter->complete(std::move(r));
    } else {
      p.reply = std::move(r);
    }
  }

  /// Ends the connection: every request still waiting completes with `code`.
  void fail(Errc code, const std::string& message) {
    if (failure) return;
    failure.emplace(code, message);
    boost::system::error_code ignored;
    socket.close(ignored);
    auto waiting = std::move(pending);
    pending.clear();
    for (auto& [id, p] : waiting)
      if (p.waiter) p.waiter->complete(failed_reply(*failure));
    auto consumers = std::move(consumer_waiters);
    consumer_waiters.clear();
    for (auto& [id, w] : consumers) w->complete(failed_reply(*failure));
  }

  /// Parks the awaiting coroutine's handler on slot `id`, or completes it at
  /// once when the reply (or a failure) is already there.
  template <class Token>
  auto async_wait_reply(uint32_t id, Token&& token) {
    return asio::async_initiate<Token, void(RawReply)>(
        [this, id](auto handler) {
          auto waiter =
              std::make_unique<HandlerWaiter<decltype(handler)>>(std::move(handler), executor);
          auto it = pending.find(id);
          if (it == pending.end())
            return waiter->complete(
                failed_reply(failure ? *failure : Error(Errc::disconnected, "")));
          it->second.waiter = std::move(waiter);
        },
        token);
  }

  /// Forgets slot `id` when its awaitable goes away without taking the reply.
  struct Slot {
    std::shared_ptr<Impl> impl;
    uint32_t id = 0;
    Slot(std::shared_ptr<Impl> i, uint32_t n) : impl(std::move(i)), id(n) {}
    Slot(Slot&& o) noexcept : impl(std::move(o.impl)), id(o.id) {}
    Slot& operator=(Slot&&) = delete;
    ~Slot() {
      if (!impl) return;
      auto it = impl->pending.find(id);
      if (it == impl->pending.end()) return;
      if (it->second.reply)
        impl->pending.erase(it);
      else
        it->second.abandoned = true;
    }
  };

  static Awaitable<RawReply> wait(Slot slot) {
    Impl& self = *slot.impl;
    auto it = self.pending.find(slot.id);
    if (it != self.pending.end() && it->second.reply) {
      RawReply r = std::move(*it->second.reply);
      self.pending.erase(it);
      co_return r;
    }
    co_return co_await self.async_wait_reply(slot.id, asio::use_awaitable);
  }

  /// The awaitable for a request started by `encode`, which returns its id;
  /// an encoding error is thrown from the co_await, like any other failure.
  template <class Encode>
  Awaitable<RawReply> request(Kind kind, Encode&& encode) {
    try {
      require_usable();
      if (!ready) throw Error(Errc::disconnected, "not connected to the broker");
      return wait(Slot(shared_from_this(), start(encode(), kind)));
    } catch (const Error& e) {
      return rethrow(e);
    }
  }

  static Awaitable<RawReply> rethrow(Error e) {
    throw e;
    co_return RawReply{};
  }
};

namespace {

/// Awaits `reply`, throws if it failed, and converts it with `convert`. The
/// public operations are plain functions that encode at once and return this
/// coroutine, so their arguments need not outlive the call.
template <class Convert>
auto then(AsyncClient::Awaitable<RawReply> reply, Convert convert)
    -> AsyncClient::Awaitable<decltype(convert(std::declval<RawReply&>()))> {
  RawReply r = co_await std::move(reply);
  r.reply.throw_if_error();
  co_return convert(r);
}

}  // namespace

AsyncClient::AsyncClient(executor_type executor) : impl_(std::make_shared<Impl>(executor)) {}

AsyncClient::~AsyncClient() {
  close();
}

AsyncClient::executor_type AsyncClient::get_executor() const noexcept {
  return impl_->executor;
}

AsyncClient::Awaitable<void> AsyncClient::connect(std::string socket_path,
                                                  std::string client_name) {
  // A fresh Impl per connection: handlers of the old socket still running
  // see only the old state, and its waiters fail with disconnected.
  impl_->fail(Errc::disconnected, "connection closed by the client");
  impl_ = std::make_shared<Impl>(impl_->executor);
  auto impl = impl_;
  detail::check_socket_path(socket_path);
  boost::system::error_code ec;
  co_await impl->socket.async_connect(asio::local::stream_protocol::endpoint(socket_path),
                                      asio::redirect_error(asio::use_awaitable, ec));
  if (ec) {
    boost::system::error_code ignored;
    impl->socket.close(ignored);
    throw Error(Errc::unreachable,
                "cannot connect to broker at " + socket_path + ": " + ec.message());
  }
  impl->do_read();
  uint32_t id = impl->start(impl->conn.add_hello(client_name), Kind::hello);
  RawReply r = co_await Impl::wait(Impl::Slot(impl, id));
  try {
    impl->conn.accept_hello(r);
  } catch (const Error& e) {
    impl->fail(e.errc(), e.what());
    throw;
  }
  impl->ready = true;
}

bool AsyncClient::is_connected() const noexcept {
  return impl_->ready && !impl_->failure;
}

void AsyncClient::close() noexcept {
  impl_->fail(Errc::disconnected, "connection closed by the client");
}

const ServerInfo& AsyncClient::server_info() const {
  impl_->require_usable();
  return impl_->conn.server();
}

// --- Administration -------------------------------------------------------------

AsyncClient::Awaitable<DeclareResult> AsyncClient::declare(std::string_view queue,
                                                           const QueueOptions& options) {
  auto json = detail::declare_request(queue, options);
  return then(impl_->request(Kind::declare,
                             [&] {
                               if (detail::declare_needs_jobs(options))
                                 impl_->conn.require_jobs(
                                     "declare with max_deliveries, dead_letter, lease, ttl, "
                                     "temporary, durable or drop-new");
                               return impl_->conn.add_admin(Kind::declare, json);
                             }),
              [](RawReply& r) { return detail::parse_declare_reply(r.json); });
}

AsyncClient::Awaitable<void> AsyncClient::remove(std::string_view queue) {
  auto json = detail::queue_request(queue);
  return then(
      impl_->request(Kind::remove, [&] { return impl_->conn.add_admin(Kind::remove, json); }),
      [](RawReply& r) { detail::parse_delete_reply(r.json); });
}

AsyncClient::Awaitable<uint64_t> AsyncClient::purge(std::string_view queue) {
  auto json = detail::queue_request(queue);
  return then(impl_->request(Kind::purge, [&] { return impl_->conn.add_admin(Kind::purge, json); }),
              [](RawReply& r) { return detail::parse_purge_reply(r.json); });
}

AsyncClient::Awaitable<QueueStat> AsyncClient::stat(std::string_view queue) {
  auto json = detail::queue_request(queue);
  return then(impl_->request(Kind::stat, [&] { return impl_->conn.add_admin(Kind::stat, json); }),
              [](RawReply& r) { return detail::parse_stat_reply(r.json); });
}

AsyncClient::Awaitable<std::vector<QueueSummary>> AsyncClient::list() {
  return then(
      impl_->request(Kind::list,
                     [&] { return impl_->conn.add_admin(Kind::list, detail::list_request()); }),
      [](RawReply& r) { return detail::parse_list_reply(r.json); });
}

AsyncClient::Awaitable<QueueList> AsyncClient::queue_list() {
  return then(
      impl_->request(Kind::list,
                     [&] { return impl_->conn.add_admin(Kind::list, detail::list_request()); }),
      [](RawReply& r) { return detail::parse_queue_list_reply(r.json); });
}

AsyncClient::Awaitable<BrokerStatus> AsyncClient::status() {
  return then(
      impl_->request(Kind::status,
                     [&] { return impl_->conn.add_admin(Kind::status, detail::status_request()); }),
      [](RawReply& r) { return detail::parse_status_reply(r.json); });
}

AsyncClient::Awaitable<MoveResult> AsyncClient::move(std::string_view source,
                                                     std::string_view destination,
                                                     const MoveOptions& options) {
  auto json = detail::move_request(source, destination, options);
  return then(impl_->request(Kind::move, [&] { return impl_->conn.add_admin(Kind::move, json); }),
              [](RawReply& r) { return detail::parse_move_reply(r.json); });
}

// --- Data path ------------------------------------------------------------------

namespace {

uint64_t first_id(RawReply& r) {
  return r.reply.first_id;
}

SendResult send_result_of(RawReply& r) {
  return r.reply.send_result();
}

}  // namespace

AsyncClient::Awaitable<uint64_t> AsyncClient::send(std::string_view queue, std::string_view payload,
                                                   const SendOptions& options) {
  return then(
      impl_->request(Kind::send, [&] { return impl_->conn.add_send(queue, payload, options); }),
      first_id);
}

AsyncClient::Awaitable<uint64_t> AsyncClient::send_batch(std::string_view queue,
                                                         std::span<const OutgoingMessage> messages,
                                                         Timeout timeout) {
  return then(impl_->request(Kind::send,
                             [&] { return impl_->conn.add_send_batch(queue, messages, timeout); }),
              first_id);
}

AsyncClient::Awaitable<uint64_t> AsyncClient::send_batch(std::string_view queue,
                                                         std::span<const std::string> payloads,
                                                         const SendOptions& options) {
  return then(impl_->request(Kind::send,
                             [&] { return impl_->conn.add_send_batch(queue, payloads, options); }),
              first_id);
}

AsyncClient::Awaitable<SendResult> AsyncClient::send_result(std::string_view queue,
                                                            std::string_view payload,
                                                            const SendOptions& options) {
  return then(
      impl_->request(Kind::send, [&] { return impl_->conn.add_send(queue, payload, options); }),
      send_result_of);
}

AsyncClient::Awaitable<SendResult> AsyncClient::send_batch_result(
    std::string_view queue, std::span<const OutgoingMessage> messages, Timeout timeout) {
  return then(impl_->request(Kind::send,
                             [&] { return impl_->conn.add_send_batch(queue, messages, timeout); }),
              send_result_of);
}

namespace {

/// no_message is an empty result, not a failure.
AsyncClient::Awaitable<std::vector<Message>> messages_of(AsyncClient::Awaitable<RawReply> reply) {
  RawReply r = co_await std::move(reply);
  if (r.reply.error == make_error_code(Errc::no_message)) co_return std::vector<Message>{};
  r.reply.throw_if_error();
  co_return std::move(r.reply.messages);
}

AsyncClient::Awaitable<std::optional<Message>> first_message(
    AsyncClient::Awaitable<std::vector<Message>> messages) {
  auto m = co_await std::move(messages);
  if (m.empty()) co_return std::nullopt;
  co_return std::move(m.front());
}

}  // namespace

AsyncClient::Awaitable<std::optional<Message>> AsyncClient::receive(std::string_view queue,
                                                                    const ReceiveOptions& options) {
  ReceiveOptions one = options;
  one.max_count = 1;
  return first_message(receive_many(queue, 1, one));
}

AsyncClient::Awaitable<std::vector<Message>> AsyncClient::receive_many(std::string_view queue,
                                                                       uint32_t max_count,
                                                                       ReceiveOptions options) {
  options.max_count = max_count;
  return messages_of(
      impl_->request(Kind::receive, [&] { return impl_->conn.add_receive(queue, options); }));
}

// --- Leases ---------------------------------------------------------------------

namespace {

std::vector<uint64_t> missing_tags(RawReply& r) {
  return std::move(r.reply.missing);
}

/// The single-tag forms: a missing lease is an error.
auto one_tag(uint64_t tag) {
  return [tag](RawReply& r) {
    if (!r.reply.missing.empty())
      throw Error(Errc::no_such_lease,
                  "no lease with tag " + std::to_string(tag) +
                      " (expired, settled already, or not this connection's to settle)");
  };
}

}  // namespace

AsyncClient::Awaitable<void> AsyncClient::ack(uint64_t tag) {
  return then(impl_->request(Kind::ack,
                             [&] {
                               return impl_->conn.add_ack({&tag, 1});
                             }),
              one_tag(tag));
}

AsyncClient::Awaitable<std::vector<uint64_t>> AsyncClient::ack(std::span<const uint64_t> tags) {
  return then(impl_->request(Kind::ack, [&] { return impl_->conn.add_ack(tags); }), missing_tags);
}

AsyncClient::Awaitable<void> AsyncClient::nack(uint64_t tag, NackOptions options) {
  return then(impl_->request(Kind::nack,
                             [&] {
                               return impl_->conn.add_nack({&tag, 1}, options);
                             }),
              one_tag(tag));
}

AsyncClient::Awaitable<std::vector<uint64_t>> AsyncClient::nack(std::span<const uint64_t> tags,
                                                                NackOptions options) {
  return then(impl_->request(Kind::nack, [&] { return impl_->conn.add_nack(tags, options); }),
              missing_tags);
}

AsyncClient::Awaitable<void> AsyncClient::touch(uint64_t tag,
                                                std::optional<std::chrono::milliseconds> lease) {
  return then(impl_->request(Kind::touch,
                             [&] {
                               return impl_->conn.add_touch({&tag, 1}, lease);
                             }),
              one_tag(tag));
}

AsyncClient::Awaitable<std::vector<uint64_t>> AsyncClient::touch(
    std::span<const uint64_t> tags, std::optional<std::chrono::milliseconds> lease) {
  return then(impl_->request(Kind::touch, [&] { return impl_->conn.add_touch(tags, lease); }),
              missing_tags);
}

AsyncClient::Awaitable<void> AsyncClient::reject(uint64_t tag) {
  return then(impl_->request(Kind::reject,
                             [&] {
                               return impl_->conn.add_reject({&tag, 1});
                             }),
              one_tag(tag));
}

AsyncClient::Awaitable<std::vector<uint64_t>> AsyncClient::reject(std::span<const uint64_t> tags) {
  return then(impl_->request(Kind::reject, [&] { return impl_->conn.add_reject(tags); }),
              missing_tags);
}

// --- Push consumers -------------------------------------------------------------

AsyncClient::Awaitable<uint32_t> AsyncClient::consume(std::string_view queue,
                                                      const ConsumeOptions& options) {
  return then(
      impl_->request(Kind::consume, [&] { return impl_->conn.add_consume(queue, options); }),
      [](RawReply& r) { return r.request_id; });
}

namespace {

AsyncClient::Awaitable<std::vector<Message>> deliveries_of(AsyncClient::Awaitable<RawReply> r) {
  RawReply reply = co_await std::move(r);
  reply.reply.throw_if_error();
  co_return std::move(reply.reply.messages);
}

}  // namespace

AsyncClient::Awaitable<std::vector<Message>> AsyncClient::deliveries(uint32_t consumer) {
  auto wait = [](std::shared_ptr<Impl> impl, uint32_t id) -> Awaitable<RawReply> {
    impl->require_usable();
    if (!impl->conn.is_consumer(id))
      throw Error(Errc::invalid_argument,
                  "consumer " + std::to_string(id) + " is not running on this client");
    if (impl->consumer_waiters.contains(id))
      throw Error(Errc::invalid_argument,
                  "a deliveries() of consumer " + std::to_string(id) + " is already waiting");
    co_return co_await impl->async_wait_consumer(id, asio::use_awaitable);
  };
  return deliveries_of(wait(impl_, consumer));
}

AsyncClient::Awaitable<std::vector<Message>> AsyncClient::cancel(uint32_t consumer) {
  auto run = [](std::shared_ptr<Impl> impl, uint32_t id) -> Awaitable<std::vector<Message>> {
    impl->require_usable();
    if (!impl->conn.is_consumer(id))
      throw Error(Errc::invalid_argument,
                  "consumer " + std::to_string(id) + " is not running on this client");
    if (!impl->conn.consumer_ended(id)) {
      // An ERROR instead of CANCEL_OK: the broker had just ended it itself.
      co_await impl->request(Kind::cancel, [&] { return impl->conn.add_cancel(id); });
    }
    std::vector<Message> rest = impl->conn.take_deliveries(id);
    impl->conn.forget_consumer(id);
    if (auto it = impl->consumer_waiters.find(id); it != impl->consumer_waiters.end()) {
      auto waiter = std::move(it->second);
      impl->consumer_waiters.erase(it);
      RawReply none;
      none.kind = Kind::deliver;
      waiter->complete(std::move(none));
    }
    co_return rest;
  };
  return run(impl_, consumer);
}

// --- Publish/subscribe ----------------------------------------------------------

AsyncClient::Awaitable<bool> AsyncClient::bind(std::string_view queue, std::string_view pattern) {
  auto json = detail::bind_request(queue, pattern);
  return then(impl_->request(Kind::bind, [&] { return impl_->conn.add_admin(Kind::bind, json); }),
              [](RawReply& r) { return detail::parse_bind_reply(r.json); });
}

AsyncClient::Awaitable<bool> AsyncClient::unbind(std::string_view queue, std::string_view pattern) {
  auto json = detail::bind_request(queue, pattern);
  return then(
      impl_->request(Kind::unbind, [&] { return impl_->conn.add_admin(Kind::unbind, json); }),
      [](RawReply& r) { return detail::parse_unbind_reply(r.json); });
}

AsyncClient::Awaitable<Bindings> AsyncClient::bindings(std::optional<std::string> queue) {
  auto json = detail::bindings_request(queue);
  return then(
      impl_->request(Kind::bindings, [&] { return impl_->conn.add_admin(Kind::bindings, json); }),
      [](RawReply& r) { return detail::parse_bindings_reply(r.json); });
}

namespace {

PublishResult published(RawReply& r) {
  return r.reply.published;
}

}  // namespace

AsyncClient::Awaitable<PublishResult> AsyncClient::publish(std::string_view topic,
                                                           std::string_view payload,
                                                           const SendOptions& options) {
  return then(
      impl_->request(Kind::publish,
                     [&] { return impl_->conn.add_send(topic, payload, options, Kind::publish); }),
      published);
}

AsyncClient::Awaitable<PublishResult> AsyncClient::publish_batch(
    std::string_view topic, std::span<const OutgoingMessage> messages) {
  return then(
      impl_->request(
          Kind::publish,
          [&] { return impl_->conn.add_send_batch(topic, messages, kNoWait, Kind::publish); }),
      published);
}

AsyncClient::Awaitable<PublishResult> AsyncClient::publish_batch(
    std::string_view topic, std::span<const std::string> payloads, const SendOptions& options) {
  return then(
      impl_->request(
          Kind::publish,
          [&] { return impl_->conn.add_send_batch(topic, payloads, options, Kind::publish); }),
      published);
}

// g++ 12 with the sanitizers warns that this coroutine's frame is freed by a
// mismatched delete: a false positive on Asio's frame allocator (GCC PR 109224).
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
AsyncClient::Awaitable<Subscription> AsyncClient::subscribe(std::vector<std::string> patterns,
                                                            ConsumeOptions options) {
  if (patterns.empty())
    throw Error(Errc::invalid_argument, "a subscription needs at least one pattern");
  QueueOptions temporary;
  temporary.temporary = true;
  DeclareResult d = co_await declare("", temporary);
  Subscription sub{d.queue.name, 0};
  std::exception_ptr failed;
  try {
    for (const auto& p : patterns) co_await bind(sub.queue, p);
  } catch (const Error&) {
    failed = std::current_exception();  // no co_await inside a handler
  }
  if (failed) {
    // As Client::subscription_queue(): a bad pattern leaves no queue behind.
    try {
      if (is_connected()) co_await remove(sub.queue);
    } catch (const Error&) {
    }
    std::rethrow_exception(failed);
  }
  sub.consumer = co_await consume(sub.queue, options);
  co_return sub;
}
#pragma GCC diagnostic pop

}  // namespace postbox
