// libpostbox's public value types: messages, send/receive/declare options, queue statistics.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

namespace postbox {

/// How long a request may wait in the broker: std::nullopt waits forever,
/// 0 fails at once (IPC_NOWAIT), anything else is a limit in milliseconds.
/// Values above ~49 days are clamped to the largest finite wire value.
using Timeout = std::optional<std::chrono::milliseconds>;
inline constexpr Timeout kForever = std::nullopt;
inline constexpr Timeout kNoWait = std::chrono::milliseconds(0);

/// Application headers in send order; duplicate keys are kept.
using Headers = std::vector<std::pair<std::string, std::string>>;

/// A message as received.
struct Message {
  uint64_t id = 0;       ///< assigned by the broker at send, unique per queue
  int64_t type = 1;      ///< msgrcv-style type, >= 1
  uint8_t priority = 0;  ///< 0..255, higher is delivered first
  std::string payload = {};   ///< binary-safe
  std::optional<std::string> correlation_id = std::nullopt;
  std::optional<std::string> reply_to = std::nullopt;
  Headers headers = {};
  uint32_t sender_pid = 0;
  uint32_t sender_uid = 0;
  uint64_t enqueue_time_ns = 0;  ///< CLOCK_REALTIME, ns since the epoch
  bool truncated = false;        ///< payload was cut to ReceiveOptions::max_size
  uint64_t delivery_tag = 0;     ///< 0: auto-acknowledged (no lease)
  uint32_t delivery_count = 1;
};

/// How to send one message (or every message of a batch sent with the same options).
struct SendOptions {
  int64_t type = 1;            ///< 1 .. 2^63-1
  uint8_t priority = 0;        ///< 0..255
  Timeout timeout = kForever;  ///< how long to wait while the queue is full
  std::optional<std::string> correlation_id = std::nullopt;
  std::optional<std::string> reply_to = std::nullopt;  ///< a queue name
  Headers headers = {};
};

/// One message of a send_batch() with its own type, priority and properties.
struct OutgoingMessage {
  std::string payload = {};
  int64_t type = 1;
  uint8_t priority = 0;
  std::optional<std::string> correlation_id = std::nullopt;
  std::optional<std::string> reply_to = std::nullopt;
  Headers headers = {};
};

/// Which message to take and how (msgrcv semantics).
struct ReceiveOptions {
  int64_t type =
      0;  ///< 0: any; >0: exactly this type (or any other with except); <0: lowest type <= |type|
  bool except = false;               ///< MSG_EXCEPT: the first message whose type is not `type`
  Timeout timeout = kForever;        ///< how long to wait for a matching message
  std::optional<uint32_t> max_size = std::nullopt;  ///< largest payload accepted; nullopt: no limit
  bool truncate = false;   ///< MSG_NOERROR: cut longer payloads instead of failing with too_big
  bool peek = false;       ///< return the message without removing it
  uint32_t max_count = 1;  ///< receive_many(): up to this many messages in one reply (>= 1)
};

/// What a queue does when a send finds it full.
enum class Overflow { reject, drop_oldest, drop_lowest_priority };
/// "reject", "drop-oldest", "drop-lowest-priority" (the wire and CLI spelling).
std::string_view to_string(Overflow o) noexcept;
std::optional<Overflow> parse_overflow(std::string_view s) noexcept;

/// Settings for declare(); unset fields take the broker's defaults.
struct QueueOptions {
  bool exclusive = false;  ///< fail with queue_exists when the queue already exists
  std::optional<uint64_t> max_messages = std::nullopt;
  std::optional<uint64_t> max_bytes = std::nullopt;
  std::optional<uint32_t> max_message_size = std::nullopt;
  std::optional<uint32_t> mode = std::nullopt;  ///< permission bits, e.g. 0660
  std::optional<Overflow> overflow = std::nullopt;
};

/// A queue's limits, counters and waiters (the STAT reply).
struct QueueStat {
  std::string name = {};
  uint64_t depth = 0;  ///< messages queued
  uint64_t bytes = 0;  ///< sum of their payload sizes
  uint64_t max_messages = 0;
  uint64_t max_bytes = 0;
  uint32_t max_message_size = 0;
  uint32_t mode = 0;
  Overflow overflow = Overflow::reject;
  uint32_t owner_uid = 0;
  uint32_t owner_gid = 0;
  uint64_t created_ns = 0;
  uint32_t last_send_pid = 0;
  uint64_t last_send_ns = 0;
  uint32_t last_receive_pid = 0;
  uint64_t last_receive_ns = 0;
  uint64_t sent_total = 0;
  uint64_t received_total = 0;
  uint64_t dropped_total = 0;
  uint64_t purged_total = 0;
  uint64_t blocked_senders = 0;
  uint64_t blocked_receivers = 0;
  std::map<unsigned, uint64_t> depth_per_priority = {};  ///< priority -> messages queued
};

/// The DECLARE reply.
struct DeclareResult {
  bool created = false;  ///< false: the queue existed (and exclusive was not set)
  QueueStat queue;
};

/// One row of list().
struct QueueSummary {
  std::string name = {};
  uint64_t depth = 0;
  uint64_t bytes = 0;
};

/// What the broker announced in its HELLO_OK.
struct ServerInfo {
  uint16_t version = 0;
  uint32_t max_frame_body = 0;
  uint32_t max_message_size = 0;  ///< broker-wide ceiling for any message
  std::string broker_version = {};
};

/// The outcome of one pipelined request (Client::wait()).
struct Reply {
  std::error_code error;          ///< empty on success, else a postbox::Errc
  std::string error_message = {};      ///< the broker's text for `error`, may be empty
  uint64_t first_id = 0;          ///< send: ids are first_id .. first_id + count - 1
  uint32_t count = 0;             ///< send: messages queued
  std::vector<Message> messages = {};  ///< receive: empty on no_message

  bool ok() const noexcept { return !error; }
  /// Throws postbox::Error for a failed request (no_message included).
  void throw_if_error() const;
};

}  // namespace postbox
