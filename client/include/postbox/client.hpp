// postbox::Client: a blocking connection to postboxd, with optional pipelining.
#pragma once

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

/// A synchronous client. Each call writes its request with one write() and
/// reads the reply on the calling thread. Failures throw postbox::Error; an
/// empty receive is not a failure and returns std::nullopt / an empty vector.
///
///   postbox::Client c(postbox::default_socket_path());
///   c.declare("jobs");
///   c.send("jobs", "hello");
///   if (auto m = c.receive("jobs")) std::cout << m->payload << '\n';
///
/// Pipelining: start_send()/start_receive() buffer requests without waiting,
/// flush() writes them all at once, wait() returns one request's reply
/// (replies to other requests that arrive first are kept for their wait()).
///
/// Not thread-safe: use one Client per thread, or guard it. A moved-from
/// Client may only be destroyed or assigned to.
class Client {
 public:
  /// Identifies a pipelined request until its wait().
  struct Ticket {
    uint32_t request_id = 0;
  };

  /// A client that is not connected yet; call connect().
  Client();
  /// Connects at once (see connect()).
  explicit Client(const std::string& socket_path, std::string_view client_name = "libpostbox");
  ~Client();
  Client(Client&&) noexcept;
  Client& operator=(Client&&) noexcept;

  /// Connects and performs the HELLO handshake. Throws Error(Errc::unreachable)
  /// when nothing listens at `socket_path`, Error(unsupported_version) when the
  /// broker does not speak our version. Closes any previous connection first.
  void connect(const std::string& socket_path = default_socket_path(),
               std::string_view client_name = "libpostbox");
  bool is_connected() const noexcept;
  /// The connection's socket descriptor (-1 when not connected), for poll()
  /// or for shutdown(SHUT_WR) from a signal handler to end a waiting
  /// receive cleanly. The Client keeps owning it: do not read, write or close it.
  int native_handle() const noexcept;
  /// Drops the connection; requests still pending are forgotten.
  void close() noexcept;
  /// The broker's limits and version; valid while connected.
  const ServerInfo& server_info() const;

  // --- Administration ---------------------------------------------------

  /// Creates `queue` or, unless options.exclusive, returns the existing one.
  DeclareResult declare(std::string_view queue, const QueueOptions& options = {});
  /// Deletes `queue` and its messages; waiting receivers fail with queue_removed.
  void remove(std::string_view queue);
  /// Drops every message of `queue`; returns how many.
  uint64_t purge(std::string_view queue);
  QueueStat stat(std::string_view queue);
  std::vector<QueueSummary> list();

  // --- Data path --------------------------------------------------------

  /// Sends one message; returns its id.
  uint64_t send(std::string_view queue, std::string_view payload, const SendOptions& options = {});
  /// Sends messages in one request, all or none; returns the first id (the
  /// others follow consecutively). An empty batch is invalid_argument.
  uint64_t send_batch(std::string_view queue, std::span<const OutgoingMessage> messages,
                      Timeout timeout = kForever);
  /// Same, every payload with `options`' type, priority and properties.
  uint64_t send_batch(std::string_view queue, std::span<const std::string> payloads,
                      const SendOptions& options = {});
  /// Receives one message; std::nullopt when none matched within the timeout.
  std::optional<Message> receive(std::string_view queue, const ReceiveOptions& options = {});
  /// Receives up to `max_count` messages (overriding options.max_count) that
  /// are available together; waits per options.timeout for the first. Empty
  /// when none matched.
  std::vector<Message> receive_many(std::string_view queue, uint32_t max_count,
                                    ReceiveOptions options = {});

  // --- Pipelining -------------------------------------------------------

  /// Buffers a send without writing it; the reply's first_id is its id.
  Ticket start_send(std::string_view queue, std::string_view payload,
                    const SendOptions& options = {});
  Ticket start_send_batch(std::string_view queue, std::span<const OutgoingMessage> messages,
                          Timeout timeout = kForever);
  Ticket start_send_batch(std::string_view queue, std::span<const std::string> payloads,
                          const SendOptions& options = {});
  /// Buffers a receive; options.max_count messages at most.
  Ticket start_receive(std::string_view queue, const ReceiveOptions& options = {});
  /// Writes every buffered request.
  void flush();
  /// Flushes, then blocks until `ticket`'s reply arrives. A failed request is
  /// a Reply with `error` set (no_message included); a lost connection throws.
  Reply wait(Ticket ticket);
  /// Requests started and not yet waited for.
  std::size_t pending() const noexcept;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace postbox
