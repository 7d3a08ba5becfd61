// The one client protocol engine: request ids, request encoding, reply decoding.
//
// Connection owns no socket and does no I/O, so the blocking Client and the
// Asio AsyncClient drive the same code: they write output() and erase what
// was written, read into input_space() and commit() it, then pull decoded
// replies with next_reply() until it returns nullopt. Replies carry the id of
// the request they answer, in whatever order the broker sends them.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "postbox/types.hpp"
#include "proto/frame.hpp"

namespace postbox::detail {

/// One decoded reply frame. Which fields are filled depends on `kind`.
struct RawReply {
  uint32_t request_id = 0;
  proto::Kind kind = proto::Kind::error;  // the reply kind, reply bit cleared; error for ERROR
  Reply reply;        // ERROR: error + error_message; SEND: first_id, count; RECEIVE: messages
  std::string json;   // admin replies
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
  // anything is appended.

  uint32_t add_hello(std::string_view client_name);
  uint32_t add_send(std::string_view queue, std::string_view payload, const SendOptions& options);
  uint32_t add_send_batch(std::string_view queue, std::span<const OutgoingMessage> messages,
                          Timeout timeout);
  uint32_t add_send_batch(std::string_view queue, std::span<const std::string> payloads,
                          const SendOptions& options);
  uint32_t add_receive(std::string_view queue, const ReceiveOptions& options);
  /// DECLARE, DELETE, PURGE, STAT or LIST with its JSON body.
  uint32_t add_admin(proto::Kind kind, const std::string& json);

  /// Bytes waiting to be written; the transport erases what it wrote.
  std::vector<std::byte>& output() noexcept { return out_; }

  // --- Replies

  /// Free space to read into: at least kReadChunk bytes, and the whole rest
  /// of a partially received frame.
  std::span<std::byte> input_space();
  /// Marks `n` bytes of input_space() as received.
  void commit_input(std::size_t n) noexcept;
  /// The next complete reply, or nullopt when more bytes are needed. Throws
  /// Error(protocol_error) when the broker sent something malformed.
  std::optional<RawReply> next_reply();

  /// Checks the reply to add_hello() and records the broker's limits, which
  /// later frames are checked against. Throws Error for an ERROR reply
  /// (e.g. unsupported_version) or a version or limit we cannot use.
  void accept_hello(const RawReply& reply);
  const ServerInfo& server() const noexcept { return server_; }

  /// Bytes requested from each read: large enough to drain many small replies
  /// per syscall, small enough to stay in cache.
  static constexpr std::size_t kReadChunk = 64 * 1024;

 private:
  uint32_t next_id() noexcept;
  uint32_t max_body() const noexcept;
  uint32_t reply_limit() const noexcept;
  void check_frame_size(std::size_t body_start) const;
  /// Throws too_big, removing the frame at `frame_start`, when its body is over the limit.
  void check_frame_or_undo(std::size_t frame_start);
  RawReply decode(proto::Kind kind, uint32_t request_id, std::span<const std::byte> body) const;

  std::vector<std::byte> out_;
  std::vector<std::byte> in_;
  std::size_t in_begin_ = 0;  // first unparsed byte
  std::size_t in_end_ = 0;    // one past the last received byte
  uint32_t last_id_ = 0;
  ServerInfo server_;
};

}  // namespace postbox::detail
