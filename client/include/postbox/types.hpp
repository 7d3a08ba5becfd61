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
  uint64_t id = 0;           ///< assigned by the broker at send, unique per queue
  int64_t type = 1;          ///< msgrcv-style type, >= 1
  uint8_t priority = 0;      ///< 0..255, higher is delivered first
  std::string payload = {};  ///< binary-safe
  std::optional<std::string> correlation_id = std::nullopt;
  std::optional<std::string> reply_to = std::nullopt;
  Headers headers = {};
  uint32_t sender_pid = 0;
  uint32_t sender_uid = 0;
  uint64_t enqueue_time_ns = 0;  ///< CLOCK_REALTIME, ns since the epoch
  bool truncated = false;        ///< payload was cut to ReceiveOptions::max_size
  uint64_t delivery_tag = 0;     ///< 0: auto-acknowledged (no lease)
  uint32_t delivery_count = 1;
  /// The topic it was published to (set by the broker on PUBLISH copies); nullopt for a SEND.
  std::optional<std::string> topic = std::nullopt;
};

/// How to send one message (or every message of a batch sent with the same options).
struct SendOptions {
  int64_t type = 1;            ///< 1 .. 2^63-1
  uint8_t priority = 0;        ///< 0..255
  Timeout timeout = kForever;  ///< how long to wait while the queue is full
  std::optional<std::string> correlation_id = std::nullopt;
  std::optional<std::string> reply_to = std::nullopt;  ///< a queue name
  Headers headers = {};
  // Scheduling (protocol version 2; a version 1 broker refuses them with
  // invalid_argument before anything is sent). They travel as properties and
  // stay in the message as sent.
  /// Invisible to receivers until this long after the send.
  std::optional<std::chrono::milliseconds> delay = std::nullopt;
  /// Invisible until this time; with `delay` as well, the later of the two wins.
  std::optional<std::chrono::system_clock::time_point> due = std::nullopt;
  /// Discarded (or dead-lettered) this long after the send if still queued; >= 1 ms.
  std::optional<std::chrono::milliseconds> ttl = std::nullopt;
  /// 1..1024 bytes. While the queue holds a message with this key (ready,
  /// delayed or leased), a send with the same key adds nothing: SendResult
  /// lists it as a duplicate with the held message's id.
  std::optional<std::string> dedup_key = std::nullopt;
};

/// One message of a send_batch() with its own type, priority and properties.
struct OutgoingMessage {
  std::string payload = {};
  int64_t type = 1;
  uint8_t priority = 0;
  std::optional<std::string> correlation_id = std::nullopt;
  std::optional<std::string> reply_to = std::nullopt;
  Headers headers = {};
  std::optional<std::chrono::milliseconds> delay = std::nullopt;  ///< as in SendOptions
  std::optional<std::chrono::system_clock::time_point> due = std::nullopt;
  std::optional<std::chrono::milliseconds> ttl = std::nullopt;
  std::optional<std::string> dedup_key = std::nullopt;
};

/// A message of a send that was not added because the queue already held one
/// with its dedup_key.
struct SendDuplicate {
  uint32_t index = 0;        ///< its position in the send (0 for a single send)
  uint64_t existing_id = 0;  ///< the id of the held message
  bool operator==(const SendDuplicate&) const = default;
};

/// What a send did. Every message of it got an id slot, first_id ..
/// first_id + count - 1; duplicates (see SendOptions::dedup_key) were not
/// added, and id() names the held message for them instead.
struct SendResult {
  uint64_t first_id = 0;
  uint32_t count = 0;
  std::vector<SendDuplicate> duplicates = {};  ///< in index order

  /// The id of message `index`: its own, or the held message's for a duplicate.
  uint64_t id(uint32_t index = 0) const noexcept;
  /// True when message `index` was a duplicate and was not added.
  bool duplicate(uint32_t index = 0) const noexcept;
  /// first_id, what send() returned before results had duplicates, so code
  /// that takes the id keeps compiling. For a duplicate it names no message:
  /// ask id() then.
  operator uint64_t() const noexcept { return first_id; }
};

/// Which message to take and how (msgrcv semantics).
struct ReceiveOptions {
  int64_t type =
      0;  ///< 0: any; >0: exactly this type (or any other with except); <0: lowest type <= |type|
  bool except = false;         ///< MSG_EXCEPT: the first message whose type is not `type`
  Timeout timeout = kForever;  ///< how long to wait for a matching message
  std::optional<uint32_t> max_size = std::nullopt;  ///< largest payload accepted; nullopt: no limit
  bool truncate = false;   ///< MSG_NOERROR: cut longer payloads instead of failing with too_big
  bool peek = false;       ///< return the message without removing it
  uint32_t max_count = 1;  ///< receive_many(): up to this many messages in one reply (>= 1)
  // Leases (protocol version 2). With ack, a delivered message is leased to
  // this connection instead of removed: Message::delivery_tag names the lease
  // for Client::ack/nack/touch/reject. An unsettled lease returns the message
  // to its place when it expires, or when the connection closes.
  bool ack = false;
  /// With ack: the lease outlives the connection and ends only when settled or
  /// expired, so another connection (e.g. `postbox ack TAG`) may settle it.
  bool detached = false;
  /// With ack: the lease's length, 1 ms .. ~49 days; nullopt: the queue's default.
  std::optional<std::chrono::milliseconds> lease = std::nullopt;
};

/// How nack() returns a leased message to its queue.
struct NackOptions {
  std::chrono::milliseconds delay{0};              ///< invisible this long first (0: ready at once)
  std::optional<uint8_t> priority = std::nullopt;  ///< a new priority; nullopt keeps it
};

/// A push consumer (Client::consume): the broker sends matching messages as
/// they arrive instead of one RECEIVE per message. Selector as in ReceiveOptions.
struct ConsumeOptions {
  int64_t type = 0;
  bool except = false;
  bool truncate = false;
  std::optional<uint32_t> max_size = std::nullopt;  ///< largest payload accepted; nullopt: no limit
  /// Lease every pushed message (settle each by its delivery_tag) instead of
  /// removing it when pushed.
  bool ack = false;
  /// With ack: the most unsettled messages pushed at once (>= 1); nullopt:
  /// kDefaultPrefetch. Without ack it must stay unset: the broker pushes as
  /// fast as the connection reads.
  std::optional<uint32_t> prefetch = std::nullopt;
  /// With ack: each lease's length; nullopt: the queue's default.
  std::optional<std::chrono::milliseconds> lease = std::nullopt;

  static constexpr uint32_t kDefaultPrefetch = 64;
};

/// Which messages move() takes: ready ones in queue order.
struct MoveOptions {
  std::optional<uint64_t> count = std::nullopt;  ///< at most this many; nullopt: all
  int64_t type = 0;                              ///< a receive selector without except (0: any)
};

/// What move() did.
struct MoveResult {
  uint64_t moved = 0;   ///< messages taken from the source
  uint64_t merged = 0;  ///< of those, merged into a destination message holding their dedup key
  /// "" when the move did not stop early; else the name of the error that
  /// stopped it with matching messages left, e.g. "queue_full" (the
  /// destination refused the next one, which stays in the source).
  std::string stopped = {};
};

/// What a queue does when a send (or a publish) finds it full. drop_new
/// (protocol version 2) drops a publication's copy for that queue and acts as
/// reject for a direct send.
enum class Overflow { reject, drop_oldest, drop_lowest_priority, drop_new };
/// "reject", "drop-oldest", "drop-lowest-priority", "drop-new" (the wire and CLI spelling).
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
  // Protocol version 2:
  /// A message delivered this many times and returned again goes to the
  /// dead-letter queue (0: unlimited).
  std::optional<uint32_t> max_deliveries = std::nullopt;
  /// Where rejected, too often delivered and expired messages go; "" for none.
  std::optional<std::string> dead_letter = std::nullopt;
  /// Lease length of receives and consumers that give none; >= 1 ms.
  std::optional<std::chrono::milliseconds> lease = std::nullopt;
  /// TTL of messages sent without one; 0 for none.
  std::optional<std::chrono::milliseconds> ttl = std::nullopt;
  /// A queue of this connection only, deleted with its bindings when the
  /// connection closes; others may send or publish into it but not take from
  /// it. With an empty name the broker picks one ("tmp.<connection>.<n>",
  /// see DeclareResult::queue.name); an existing name fails with queue_exists.
  bool temporary = false;
  /// Kept in the broker's write-ahead log: the queue, its attributes and its
  /// messages survive a restart or crash of postboxd, and a send is answered
  /// only once its record is written under the broker's fsync policy. Fixed
  /// when the queue is created (an existing queue of the other kind fails with
  /// invalid_argument); a temporary queue cannot be durable.
  bool durable = false;
};

/// One push consumer of a queue, as STAT reports it.
struct ConsumerStat {
  uint32_t consumer = 0;    ///< its id (the CONSUME's request id) on its connection
  uint64_t connection = 0;  ///< the broker's number for that connection
  uint32_t pid = 0;         ///< the consuming process
  int64_t type = 0;
  bool except = false;
  bool ack = false;
  uint32_t prefetch = 0;
  uint64_t unacked = 0;  ///< messages pushed to it and not settled yet
  bool operator==(const ConsumerStat&) const = default;
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
  // Protocol version 2 (zero / empty from a version 1 broker). depth counts
  // ready messages only; the limits count ready + delayed + leased.
  uint32_t max_deliveries = 0;   ///< 0: unlimited
  std::string dead_letter = {};  ///< "": none
  uint64_t lease_ms = 0;         ///< default lease length
  uint64_t ttl_ms = 0;           ///< default TTL, 0: none
  uint64_t leased = 0;           ///< delivered with ack and not settled
  uint64_t delayed = 0;          ///< waiting for their due time
  uint64_t acked_total = 0;
  uint64_t nacked_total = 0;
  uint64_t redelivered_total = 0;  ///< deliveries with delivery_count > 1
  uint64_t lease_expired_total = 0;
  uint64_t expired_total = 0;        ///< TTL ran out
  uint64_t dead_lettered_total = 0;  ///< sent to the dead-letter queue
  uint64_t discarded_total = 0;  ///< would have been dead-lettered, but there was none (or full)
  uint64_t deduplicated_total = 0;
  uint64_t moved_in_total = 0;
  uint64_t moved_out_total = 0;
  std::vector<ConsumerStat> consumers = {};
  bool temporary = false;                  ///< a temporary queue of some connection
  std::vector<std::string> bindings = {};  ///< its topic patterns, in no particular order
  uint64_t published_total = 0;            ///< messages it took from publishes (in sent_total too)
  // Durable queues (false / 0 from a broker without them).
  bool durable = false;
  uint64_t log_bytes = 0;  ///< bytes of the log records that hold its messages now
  double log_share = 0;    ///< log_bytes / the log's total bytes, 0..1 (0 for an empty log)
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
  uint64_t bindings = 0;  ///< how many topic patterns it is bound to (0 from a version 1 broker)
  bool durable = false;   ///< kept in the broker's log (false from a broker without one)
};

/// The size of the broker's write-ahead log on disk.
struct LogSize {
  uint64_t bytes = 0;     ///< of every segment file
  uint64_t segments = 0;  ///< segment files
  bool operator==(const LogSize&) const = default;
};

/// The LIST reply in full: the rows of list() and the log's size.
struct QueueList {
  std::vector<QueueSummary> queues = {};
  std::optional<LogSize> log = std::nullopt;  ///< nullopt from a broker without a log
};

/// The write-ahead log as STATUS reports it.
struct LogStatus {
  std::string data_dir = {};  ///< the broker's data directory (segments under journal/)
  std::string fsync = {};     ///< "always", "interval" or "never"
  uint64_t fsync_interval_ms = 0;
  uint64_t segment_size = 0;  ///< bytes per segment file before a new one is started
  /// Durable sends are refused while the log's file system has less free (0: never).
  uint64_t disk_free_limit = 0;
  uint64_t free_bytes = 0;  ///< free in the log's file system at the last check (0: no log yet)
  uint64_t bytes = 0;       ///< of every segment file
  uint64_t segments = 0;
  uint64_t live_bytes = 0;          ///< of the records still needed (the rest awaits compaction)
  uint64_t records_total = 0;       ///< records appended since the start
  uint64_t writes_total = 0;        ///< write() calls on segment files
  uint64_t syncs_total = 0;         ///< fdatasync() calls on segment files
  uint64_t recovered_messages = 0;  ///< messages restored from the log at the start
  uint64_t recovery_ms = 0;         ///< how long that recovery took
  /// "ok"; "failing": writes fail and durable changes are refused; "low_space":
  /// free_bytes < disk_free_limit, durable sends are refused, the rest goes on.
  std::string state = {};
  std::string error = {};  ///< why it is failing or low on space ("" when ok)
};

/// The STATUS reply: the broker process and its log.
struct BrokerStatus {
  std::string version = {};  ///< the broker's build, e.g. "0.1.0"
  uint32_t pid = 0;
  uint64_t uptime_ms = 0;
  uint64_t connections = 0;  ///< client connections open now
  uint64_t queues = 0;
  uint64_t durable_queues = 0;
  LogStatus log = {};
};

/// What a publish did. A publication no queue took (queues == 0) is not an
/// error: nothing was bound, or every match was denied or dropped.
struct PublishResult {
  uint32_t queues = 0;   ///< queues that took a copy
  uint32_t denied = 0;   ///< matching queues the publisher may not write to (they got nothing)
  uint32_t dropped = 0;  ///< matching drop-new queues that were full and dropped their copy
  bool operator==(const PublishResult&) const = default;
};

/// One binding: `queue` receives what is published to topics matching `pattern`.
struct Binding {
  std::string queue = {};
  std::string pattern = {};
  bool operator==(const Binding&) const = default;
};

/// The BINDINGS reply: the bindings of the queues the caller may read (of one
/// queue if asked), and the broker-wide publish counters.
struct Bindings {
  std::vector<Binding> bindings = {};  ///< in no particular order
  uint64_t published_total = 0;        ///< publishes that succeeded
  uint64_t unroutable_total = 0;       ///< of those, the ones no queue took
  uint64_t denied_total = 0;           ///< copies not made: the publisher may not write the queue
  uint64_t dropped_total = 0;          ///< copies dropped by full drop-new queues
  uint64_t copies_total = 0;           ///< copies queued, one per queue per publication
};

/// A subscription made by Client::subscribe(): a temporary queue of the
/// connection, bound to the patterns, with a push consumer on it.
struct Subscription {
  std::string queue = {};  ///< the broker-named temporary queue
  uint32_t consumer = 0;   ///< for Client::deliveries() and cancel()
};

/// Where Client::request() sends.
enum class RequestTarget {
  automatic,  ///< to the queue of that name if it exists, else published to the topic
  queue,      ///< always a send to the queue of that name
  topic,      ///< always a publish to the topic
};

/// How Client::request() asks. The request carries reply_to (the client's
/// reply queue) and a fresh correlation_id; other properties are the caller's.
struct RequestOptions {
  /// How long to wait for the reply, including time spent waiting for room in a full queue.
  std::chrono::milliseconds timeout{5000};
  int64_t type = 1;
  uint8_t priority = 0;
  Headers headers = {};
  RequestTarget to = RequestTarget::automatic;
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
  std::error_code error;               ///< empty on success, else a postbox::Errc
  std::string error_message = {};      ///< the broker's text for `error`, may be empty
  uint64_t first_id = 0;               ///< send: ids are first_id .. first_id + count - 1
  uint32_t count = 0;                  ///< send: id slots, one per message (duplicates included)
  std::vector<Message> messages = {};  ///< receive: empty on no_message
  std::vector<SendDuplicate> duplicates = {};  ///< send: messages not added (dedup_key held)
  uint32_t settled = 0;                        ///< ack/nack/touch/reject: leases settled
  std::vector<uint64_t> missing = {};          ///< ack/nack/touch/reject: tags that named no lease
  PublishResult published = {};                ///< publish: where the copies went

  bool ok() const noexcept { return !error; }
  /// Throws postbox::Error for a failed request (no_message included).
  void throw_if_error() const;
  /// A send's outcome: first_id, count and duplicates.
  SendResult send_result() const { return {first_id, count, duplicates}; }
};

}  // namespace postbox
