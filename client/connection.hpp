// The one client protocol engine: request ids, request encoding, reply decoding.
//
// Connection owns no socket and does no I/O, so the blocking Client and the
// Asio AsyncClient drive the same code: they write output() and erase what
// was written, read into input_space() and commit() it, then pull decoded
// replies with next_reply() until it returns nullopt. Replies carry the id of
// the request they answer, in whatever order the broker sends them.
//
// Push consumers: DELIVER frames, and the ERROR that ends a running consumer,
// answer no request of the transport's. next_reply() routes them into the
// consumer's buffer and never returns them; the transport takes them with
// take_deliveries() and learns of the end from consumer_end().
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "postbox/error.hpp"
#include "postbox/types.hpp"
#include "proto/frame.hpp"

namespace postbox::detail {

/// One decoded reply frame. Which fields are filled depends on `kind`.
struct RawReply {
  uint32_t request_id = 0;
  proto::Kind kind = proto::Kind::error;  // the reply kind, reply bit cleared; error for ERROR
  Reply reply;        // ERROR: error + error_message; SEND: first_id, count, duplicates;
                      // RECEIVE: messages; ACK/NACK/TOUCH/REJECT: settled, missing
  std::string json;   // admin replies (MOVE included)
  ServerInfo server;  // HELLO_OK
};

/// Checks a socket path fits sockaddr_un; throws Error(invalid_argument) if not.
void check_socket_path(const std::string& path);
/// A blocking AF_UNIX stream socket connected to `path` (close-on-exec).
/// Throws Error(unreachable) naming the path and the OS reason.
int connect_unix_socket(const std::string& path);

class Connection {
 public:
  /// Client name sent in HELLO when the caller gives none.
  static constexpr std::string_view kDefaultClientName = "libpostbox";

  // --- Requests: each appends one frame to output() and returns its id.
  // Invalid arguments throw Error(invalid_argument / too_big) before
  // anything is appended; so do version 2 requests (and options) on a
  // connection that negotiated version 1.

  uint32_t add_hello(std::string_view client_name);
  /// SEND, or with kind publish a PUBLISH to the topic `queue`: version 2
  /// only, and it never waits (the timeout is ignored, 0 on the wire).
  uint32_t add_send(std::string_view queue, std::string_view payload, const SendOptions& options,
                    proto::Kind kind = proto::Kind::send);
  uint32_t add_send_batch(std::string_view queue, std::span<const OutgoingMessage> messages,
                          Timeout timeout, proto::Kind kind = proto::Kind::send);
  uint32_t add_send_batch(std::string_view queue, std::span<const std::string> payloads,
                          const SendOptions& options, proto::Kind kind = proto::Kind::send);
  uint32_t add_receive(std::string_view queue, const ReceiveOptions& options);
  /// DECLARE, DELETE, PURGE, STAT, LIST, MOVE, BIND, UNBIND or BINDINGS with
  /// its JSON body (the last four need version 2).
  uint32_t add_admin(proto::Kind kind, const std::string& json);
  /// ACK, NACK, TOUCH, REJECT of one or more tags (none of them 0).
  uint32_t add_ack(std::span<const uint64_t> tags);
  uint32_t add_nack(std::span<const uint64_t> tags, const NackOptions& options);
  /// `lease`: the new length from now; nullopt: the lease's original length.
  uint32_t add_touch(std::span<const uint64_t> tags,
                     std::optional<std::chrono::milliseconds> lease);
  uint32_t add_reject(std::span<const uint64_t> tags);
  /// CONSUME; its id is the consumer's id from now on (deliveries carry it).
  uint32_t add_consume(std::string_view queue, const ConsumeOptions& options);
  /// CANCEL of a consumer started here that has not ended.
  uint32_t add_cancel(uint32_t consumer);

  /// Bytes waiting to be written; the transport erases what it wrote.
  std::vector<std::byte>& output() noexcept { return out_; }

  // --- Replies

  /// Free space to read into: at least kReadChunk bytes, and the whole rest
  /// of a partially received frame.
  std::span<std::byte> input_space();
  /// Marks `n` bytes of input_space() as received.
  void commit_input(std::size_t n) noexcept;
  /// The next complete reply, or nullopt when more bytes are needed. Throws
  /// Error(protocol_error) when the broker sent something malformed,
  /// including a DELIVER for no running consumer.
  std::optional<RawReply> next_reply();

  /// Checks the reply to add_hello() and records the broker's limits, which
  /// later frames are checked against. Throws Error for an ERROR reply
  /// (e.g. unsupported_version) or a version or limit we cannot use.
  void accept_hello(const RawReply& reply);
  const ServerInfo& server() const noexcept { return server_; }
  /// The protocol version replies are decoded with: the negotiated one, or
  /// ours before the handshake.
  uint16_t version() const noexcept;
  /// Throws Error(invalid_argument) naming `what` when the broker speaks
  /// version 1, which has no leases, delays, consumers or moves.
  void require_jobs(std::string_view what) const;

  // --- Push consumers (ids from add_consume)

  /// True while `consumer` is known: from add_consume() until forget_consumer().
  bool is_consumer(uint32_t consumer) const noexcept;
  /// True when messages pushed to `consumer` wait to be taken.
  bool has_deliveries(uint32_t consumer) const noexcept;
  /// Moves out the messages pushed to `consumer` so far, oldest first.
  std::vector<Message> take_deliveries(uint32_t consumer);
  /// True once nothing more will be pushed to `consumer`: its CANCEL was
  /// answered, or the broker ended it (then consumer_error() says why).
  bool consumer_ended(uint32_t consumer) const noexcept;
  /// The ERROR that ended `consumer` (queue_removed, shutting_down), if one did.
  const std::optional<Error>& consumer_error(uint32_t consumer) const;
  /// Drops what is known about `consumer` (its undelivered messages too).
  void forget_consumer(uint32_t consumer) noexcept;

  /// Bytes requested from each read: large enough to drain many small replies
  /// per syscall, small enough to stay in cache.
  static constexpr std::size_t kReadChunk = 64 * 1024;

 private:
  struct Consumer {
    bool confirmed = false;   // CONSUME_OK seen: an ERROR now ends it instead of answering
    bool cancelling = false;  // CANCEL sent
    bool ended = false;
    std::optional<Error> error;
    std::vector<Message> messages;
  };

  uint32_t next_id() noexcept;
  /// Throws unless `kind` is send, or publish on a version 2 connection.
  void check_send_kind(proto::Kind kind) const;
  uint32_t max_body() const noexcept;
  uint32_t reply_limit() const noexcept;
  void check_frame_size(std::size_t body_start) const;
  /// Throws too_big, removing the frame at `frame_start`, when its body is over the limit.
  void check_frame_or_undo(std::size_t frame_start);
  uint32_t add_settle(proto::Kind kind, std::span<const uint64_t> tags, uint32_t ms,
                      uint16_t priority);
  RawReply decode(proto::Kind kind, uint32_t request_id, std::span<const std::byte> body) const;
  /// Consumer bookkeeping for one decoded frame; true when it was absorbed
  /// (a DELIVER, or the ERROR that ends a running consumer).
  bool route(RawReply& reply);

  std::vector<std::byte> out_;
  std::vector<std::byte> in_;
  std::size_t in_begin_ = 0;  // first unparsed byte
  std::size_t in_end_ = 0;    // one past the last received byte
  uint32_t last_id_ = 0;
  ServerInfo server_;
  std::unordered_map<uint32_t, Consumer> consumers_;
  std::unordered_map<uint32_t, uint32_t> cancels_;  // CANCEL request id -> consumer
};

}  // namespace postbox::detail
