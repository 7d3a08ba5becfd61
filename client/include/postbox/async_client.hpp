// postbox::AsyncClient: the Client operations as Asio awaitables, pipelined on one connection.
#pragma once

#include <utility>  // before Asio: Boost 1.74's coroutine support needs it

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "postbox/error.hpp"
#include "postbox/paths.hpp"
#include "postbox/types.hpp"

namespace postbox {

/// An asynchronous client for consumers that live in an Asio event loop.
///
/// Every operation encodes its request when called (so arguments may be
/// temporaries) and returns an awaitable that waits for the reply. Requests
/// are written as soon as possible, coalesced into one write while a write is
/// in flight; many may be outstanding at once, from one coroutine or many,
/// and each awaitable completes when its own reply arrives, in any order.
/// Failures throw postbox::Error from the co_await; an empty receive returns
/// std::nullopt / an empty vector.
///
/// g++ 12 destroys a braced temporary twice when it is an argument in the
/// same expression as a co_await (`co_await c.send("q", "x", {.correlation_id
/// = "c"})` double-frees). Name such options in a variable first.
///
///   boost::asio::co_spawn(io, [&]() -> boost::asio::awaitable<void> {
///     postbox::AsyncClient c(io.get_executor());
///     co_await c.connect();
///     auto a = c.send("jobs", "one");  // both requests are on the wire
///     auto b = c.send("jobs", "two");  // before either reply is awaited
///     co_await a; co_await b;
///   }, boost::asio::detached);
///
/// Thread rules: call it and await it only from threads running its executor,
/// one at a time (use a strand executor for a multi-threaded io_context).
/// An awaitable that is destroyed without being awaited forgets its reply.
class AsyncClient {
 public:
  using executor_type = boost::asio::any_io_executor;
  template <class T>
  using Awaitable = boost::asio::awaitable<T, executor_type>;

  explicit AsyncClient(executor_type executor);
  /// Closes the connection; awaitables still waiting fail with Errc::disconnected.
  ~AsyncClient();
  AsyncClient(const AsyncClient&) = delete;
  AsyncClient& operator=(const AsyncClient&) = delete;

  executor_type get_executor() const noexcept;

  /// Connects and performs the HELLO handshake (see Client::connect()); a
  /// previous connection is closed first. The client must outlive the awaitable.
  Awaitable<void> connect(std::string socket_path = default_socket_path(),
                          std::string client_name = "libpostbox");
  bool is_connected() const noexcept;
  /// Drops the connection; awaitables still waiting fail with Errc::disconnected.
  void close() noexcept;
  /// The broker's limits and version; valid once connect() has completed.
  const ServerInfo& server_info() const;

  Awaitable<DeclareResult> declare(std::string_view queue, const QueueOptions& options = {});
  Awaitable<void> remove(std::string_view queue);
  Awaitable<uint64_t> purge(std::string_view queue);
  Awaitable<QueueStat> stat(std::string_view queue);
  Awaitable<std::vector<QueueSummary>> list();
  /// See Client::queue_list() and Client::status().
  Awaitable<QueueList> queue_list();
  Awaitable<BrokerStatus> status();
  /// See Client::move().
  Awaitable<MoveResult> move(std::string_view source, std::string_view destination,
                             const MoveOptions& options = {});

  /// Returns the message's id (see send_result() for duplicates).
  Awaitable<uint64_t> send(std::string_view queue, std::string_view payload,
                           const SendOptions& options = {});
  /// All or none; returns the first id.
  Awaitable<uint64_t> send_batch(std::string_view queue, std::span<const OutgoingMessage> messages,
                                 Timeout timeout = kForever);
  Awaitable<uint64_t> send_batch(std::string_view queue, std::span<const std::string> payloads,
                                 const SendOptions& options = {});
  /// The same sends with the whole outcome, duplicates included (an
  /// awaitable of uint64_t does not convert, so these are separate names).
  Awaitable<SendResult> send_result(std::string_view queue, std::string_view payload,
                                    const SendOptions& options = {});
  Awaitable<SendResult> send_batch_result(std::string_view queue,
                                          std::span<const OutgoingMessage> messages,
                                          Timeout timeout = kForever);
  /// std::nullopt when no message matched within the timeout.
  Awaitable<std::optional<Message>> receive(std::string_view queue,
                                            const ReceiveOptions& options = {});
  /// Up to `max_count` messages; empty when none matched within the timeout.
  Awaitable<std::vector<Message>> receive_many(std::string_view queue, uint32_t max_count,
                                               ReceiveOptions options = {});

  // Leases, as in Client: the single-tag forms throw Error(no_such_lease) for
  // a tag that names no lease; the batch forms return those tags.
  Awaitable<void> ack(uint64_t tag);
  Awaitable<std::vector<uint64_t>> ack(std::span<const uint64_t> tags);
  Awaitable<void> nack(uint64_t tag, NackOptions options = {});
  Awaitable<std::vector<uint64_t>> nack(std::span<const uint64_t> tags, NackOptions options = {});
  Awaitable<void> touch(uint64_t tag, std::optional<std::chrono::milliseconds> lease = {});
  Awaitable<std::vector<uint64_t>> touch(std::span<const uint64_t> tags,
                                         std::optional<std::chrono::milliseconds> lease = {});
  Awaitable<void> reject(uint64_t tag);
  Awaitable<std::vector<uint64_t>> reject(std::span<const uint64_t> tags);

  /// Push consumers, as in Client: consume() completes once the broker
  /// accepted it and returns its id; deliveries() completes with every
  /// message pushed to it and not yet returned, as soon as there is one
  /// (one deliveries() may wait per consumer); it throws the Error that ended
  /// the consumer once its messages are taken. cancel() stops it and returns
  /// what deliveries() had not returned; a deliveries() still waiting then
  /// completes empty.
  Awaitable<uint32_t> consume(std::string_view queue, const ConsumeOptions& options = {});
  Awaitable<std::vector<Message>> deliveries(uint32_t consumer);
  Awaitable<std::vector<Message>> cancel(uint32_t consumer);

  /// Publish/subscribe, as in Client (protocol version 2).
  Awaitable<bool> bind(std::string_view queue, std::string_view pattern);
  Awaitable<bool> unbind(std::string_view queue, std::string_view pattern);
  Awaitable<Bindings> bindings(std::optional<std::string> queue = std::nullopt);
  Awaitable<PublishResult> publish(std::string_view topic, std::string_view payload,
                                   const SendOptions& options = {});
  Awaitable<PublishResult> publish_batch(std::string_view topic,
                                         std::span<const OutgoingMessage> messages);
  Awaitable<PublishResult> publish_batch(std::string_view topic,
                                         std::span<const std::string> payloads,
                                         const SendOptions& options = {});
  /// A temporary queue bound to each pattern, with a consumer on it; its
  /// messages come from deliveries(sub.consumer). The patterns are copied at the call.
  Awaitable<Subscription> subscribe(std::vector<std::string> patterns, ConsumeOptions options = {});

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace postbox
