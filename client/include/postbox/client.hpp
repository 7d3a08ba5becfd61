// postbox::Client: a blocking connection to postboxd, with optional pipelining.
#pragma once

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
/// Jobs (protocol version 2): a receive with ReceiveOptions::ack leases the
/// message; settle the lease by Message::delivery_tag with ack() (done),
/// nack() (back to the queue), touch() (extend) or reject() (dead-letter).
/// consume() starts a push consumer whose messages deliveries() returns;
/// run_consumer() (postbox/consumer.hpp) is the loop around it. Against a
/// version 1 broker these throw Error(invalid_argument, "broker speaks
/// protocol version 1: ...") before anything is sent.
///
/// Publish/subscribe (protocol version 2, same rule for version 1): bind()
/// queues to topic patterns (`*` one word, `#` zero or more); publish() copies
/// a message into every queue bound to a matching pattern; subscribe() is a
/// temporary queue, its bindings and a consumer in one call; request() sends
/// or publishes with a private reply queue and waits for the matching reply
/// (run_responder() in postbox/responder.hpp is the other side).
///
/// Durable queues: declare() with QueueOptions::durable keeps a queue and its
/// messages in the broker's write-ahead log; its sends (and receives, acks...)
/// are answered once logged under the broker's fsync policy, and fail with
/// Errc::storage_error while the log cannot be written. status() reports the log.
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
  /// list() with the LIST reply's log size (nullopt from a broker without a log).
  QueueList queue_list();
  /// The broker's version, pid, uptime, connection and queue counts, and its
  /// write-ahead log: directory, fsync policy, size, counters and state.
  BrokerStatus status();
  /// Moves up to options.count ready messages (all by default) matching
  /// options.type from `source` to the end of `destination`, in queue order,
  /// keeping their type, priority, properties, payload, sender and enqueue
  /// time (delivery count restarts). Stops early when `destination` is full.
  /// Needs read on source and write on destination. Returns how many moved
  /// and, when the destination refused one, why it stopped.
  MoveResult move(std::string_view source, std::string_view destination,
                  const MoveOptions& options = {});

  // --- Data path --------------------------------------------------------

  /// Sends one message. The result converts to its id; when options.dedup_key
  /// made it a duplicate, duplicate() is true and id() is the held message's.
  SendResult send(std::string_view queue, std::string_view payload,
                  const SendOptions& options = {});
  /// Sends messages in one request, all or none; ids are consecutive from
  /// first_id (the result converts to it). An empty batch is invalid_argument.
  SendResult send_batch(std::string_view queue, std::span<const OutgoingMessage> messages,
                        Timeout timeout = kForever);
  /// Same, every payload with `options`' type, priority and properties.
  SendResult send_batch(std::string_view queue, std::span<const std::string> payloads,
                        const SendOptions& options = {});
  /// Receives one message; std::nullopt when none matched within the timeout.
  std::optional<Message> receive(std::string_view queue, const ReceiveOptions& options = {});
  /// Receives up to `max_count` messages (overriding options.max_count) that
  /// are available together; waits per options.timeout for the first. Empty
  /// when none matched.
  std::vector<Message> receive_many(std::string_view queue, uint32_t max_count,
                                    ReceiveOptions options = {});

  // --- Leases (receive with ack, consumers with ack) ---------------------
  //
  // A connection may settle its own leases and the detached leases of queues
  // it may read. The single-tag forms throw Error(Errc::no_such_lease) when
  // the tag names no such lease (expired, settled already, or not ours); the
  // batch forms settle what they can in one request and return the tags that
  // named none. A tag of 0 (a message received without ack) is invalid_argument.

  /// Done: the message is removed.
  void ack(uint64_t tag);
  std::vector<uint64_t> ack(std::span<const uint64_t> tags);
  /// Back to its place in the queue, after options.delay, with
  /// options.priority if given; its delivery count stays (next delivery + 1).
  void nack(uint64_t tag, const NackOptions& options = {});
  std::vector<uint64_t> nack(std::span<const uint64_t> tags, const NackOptions& options = {});
  /// Extends the lease to `lease` from now (nullopt: its original length).
  void touch(uint64_t tag, std::optional<std::chrono::milliseconds> lease = std::nullopt);
  std::vector<uint64_t> touch(std::span<const uint64_t> tags,
                              std::optional<std::chrono::milliseconds> lease = std::nullopt);
  /// To the queue's dead-letter queue with its history (dropped without one).
  void reject(uint64_t tag);
  std::vector<uint64_t> reject(std::span<const uint64_t> tags);

  // --- Push consumers ---------------------------------------------------

  /// Starts a push consumer and waits for the broker to accept it; returns
  /// its id. From then on the broker pushes matching messages (with ack: up
  /// to the prefetch unsettled at once; settling gives credit back), fairly
  /// across the consumers of the queue, the best match first. Messages
  /// arrive while any call reads from the connection and wait for
  /// deliveries(). Several consumers may run on one Client.
  uint32_t consume(std::string_view queue, const ConsumeOptions& options = {});
  /// Every message pushed to `consumer` and not yet returned, oldest first,
  /// waiting up to `timeout` for the first (kNoWait: only what is readable
  /// now). Empty when none came in time, or early when a signal interrupted
  /// the wait (EINTR), so a signal handler's flag can be checked. Writes
  /// buffered requests first. Throws the Error that ended the consumer
  /// (queue_removed, shutting_down) once its messages are taken; invalid_argument
  /// for an id that is not a consumer of this client.
  /// To wait in poll() instead: call deliveries(c, kNoWait) until it returns
  /// empty, then poll native_handle() for POLLIN.
  std::vector<Message> deliveries(uint32_t consumer, Timeout timeout = kForever);
  /// Stops `consumer` and forgets it: no message is pushed to it after this.
  /// Returns the messages pushed before the stop that deliveries() had not
  /// returned; with ack they stay leased to this connection (settle them).
  std::vector<Message> cancel(uint32_t consumer);

  // --- Publish/subscribe (protocol version 2) -----------------------------

  /// Binds `queue` to topic `pattern`; false when it already had that
  /// binding. Needs read permission on the queue (for a temporary queue:
  /// being its connection). A bad pattern (empty word, `a*`) is invalid_argument.
  bool bind(std::string_view queue, std::string_view pattern);
  /// Removes the binding; false when there was none.
  bool unbind(std::string_view queue, std::string_view pattern);
  /// The bindings of every queue the caller may read (of `queue` only, if
  /// given: no_such_queue when it does not exist), and the publish counters.
  Bindings bindings(std::optional<std::string_view> queue = std::nullopt);
  /// Copies one message into every queue bound to a pattern matching
  /// `topic`, each copy stamped with Message::topic. Never waits
  /// (options.timeout is ignored): a full queue with overflow reject fails
  /// the whole publish with queue_full naming it, and no queue gets a copy;
  /// drop-new queues drop theirs (PublishResult::dropped). Reaching no queue
  /// is not an error.
  PublishResult publish(std::string_view topic, std::string_view payload,
                        const SendOptions& options = {});
  /// Publishes messages in one request, all or none, in order.
  PublishResult publish_batch(std::string_view topic, std::span<const OutgoingMessage> messages);
  PublishResult publish_batch(std::string_view topic, std::span<const std::string> payloads,
                              const SendOptions& options = {});
  /// Declares a temporary queue (named by the broker), binds it to each
  /// pattern (at least one) and starts a consumer on it with `options`; the
  /// messages come from deliveries(sub.consumer). The queue and its bindings
  /// go when the connection closes (or cancel() the consumer and remove() the queue).
  Subscription subscribe(std::span<const std::string> patterns, const ConsumeOptions& options = {});
  Subscription subscribe(std::string_view pattern, const ConsumeOptions& options = {});
  /// subscribe() without the consumer: declares the temporary queue, binds
  /// it and returns its name (e.g. for run_responder()). When a bind fails
  /// the queue is removed again and the error thrown.
  std::string subscription_queue(std::span<const std::string> patterns);
  /// Sends (or publishes, see RequestOptions::to) `payload` with reply_to
  /// naming this client's reply queue (a temporary queue declared by the
  /// first request and kept for the connection) and a fresh correlation id,
  /// then receives from the reply queue until a reply with that id comes:
  /// returns it, or nullopt when options.timeout passed first. Replies with
  /// other ids (late answers to requests that timed out) are discarded.
  /// A publish that no queue took fails at once with Error(Errc::no_route)
  /// instead of waiting out the timeout; so does automatic when there is no
  /// queue of that name and nothing is bound to the topic.
  std::optional<Message> request(std::string_view target, std::string_view payload,
                                 const RequestOptions& options = {});
  /// The reply queue request() uses, declaring it if it does not exist yet.
  const std::string& reply_queue();

  // --- Pipelining -------------------------------------------------------

  /// Buffers a send without writing it; the reply's first_id is its id.
  Ticket start_send(std::string_view queue, std::string_view payload,
                    const SendOptions& options = {});
  Ticket start_send_batch(std::string_view queue, std::span<const OutgoingMessage> messages,
                          Timeout timeout = kForever);
  Ticket start_send_batch(std::string_view queue, std::span<const std::string> payloads,
                          const SendOptions& options = {});
  /// Buffers a publish; the Reply's `published` tells where it went.
  Ticket start_publish(std::string_view topic, std::string_view payload,
                       const SendOptions& options = {});
  Ticket start_publish_batch(std::string_view topic, std::span<const OutgoingMessage> messages);
  Ticket start_publish_batch(std::string_view topic, std::span<const std::string> payloads,
                             const SendOptions& options = {});
  /// Buffers a receive; options.max_count messages at most.
  Ticket start_receive(std::string_view queue, const ReceiveOptions& options = {});
  /// Buffer settles; the Reply's `settled` and `missing` tell the outcome.
  Ticket start_ack(std::span<const uint64_t> tags);
  Ticket start_nack(std::span<const uint64_t> tags, const NackOptions& options = {});
  Ticket start_touch(std::span<const uint64_t> tags,
                     std::optional<std::chrono::milliseconds> lease = std::nullopt);
  Ticket start_reject(std::span<const uint64_t> tags);
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
