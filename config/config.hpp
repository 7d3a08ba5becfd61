// postboxd's settings: defaults, the optional JSON file, and validation.
#pragma once

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace postbox::config {

/// What a queue does when a send finds it full.
/// What a full queue does with a new message. drop_new differs from reject only
/// for publications (PUBLISH): the full queue's copy is dropped and counted,
/// and the others are served; a direct SEND is refused as under reject.
enum class Overflow { reject, drop_new, drop_oldest, drop_lowest_priority };
std::string_view to_string(Overflow o) noexcept;
std::optional<Overflow> parse_overflow(std::string_view s) noexcept;

/// When the durable log is flushed to disk (config key "fsync").
///   always:   a change to a durable queue is acknowledged after fdatasync
///             (group commit: one sync covers every record written meanwhile);
///   interval: after write(), with an fdatasync every fsync_interval_ms
///             (a crash of postboxd loses nothing acknowledged, a power loss
///             at most that interval);
///   never:    after write(); the kernel flushes when it likes.
enum class Fsync { always, interval, never };
std::string_view to_string(Fsync f) noexcept;
std::optional<Fsync> parse_fsync(std::string_view s) noexcept;

/// Limits and mode of a queue; also the defaults for queues declared without them.
struct QueueLimits {
  uint64_t max_messages = 1u << 20;      // our default, far above SysV's MSGMNB/MSGMAX
  uint64_t max_bytes = 256ull << 20;     // sum of payload sizes, like msg_qbytes
  uint32_t max_message_size = 1u << 20;  // SysV MSGMAX is 8192; we allow 1 MiB by default
  uint32_t mode = 0600;                  // like msgget's permission bits
  Overflow overflow = Overflow::reject;
  // Job dispatch.
  uint32_t max_deliveries = 0;  // deliveries before dead-lettering; 0 = unlimited
  std::string dead_letter;      // dead-letter queue's name; empty = none (discard)
  uint32_t lease_ms = 30000;    // default lease of an ack-mode receive (beanstalkd's TTR)
  uint64_t ttl_ms = 0;          // default message TTL; 0 = none
  bool durable = false;         // kept in the log across restarts (never for temporary queues)
};

/// A queue to declare at start-up (config key "queues").
struct QueueDecl {
  std::string name;
  std::optional<uint64_t> max_messages;
  std::optional<uint64_t> max_bytes;
  std::optional<uint32_t> max_message_size;
  std::optional<uint32_t> mode;
  std::optional<Overflow> overflow;
  std::optional<uint32_t> max_deliveries;
  std::optional<std::string> dead_letter;
  std::optional<uint32_t> lease_ms;
  std::optional<uint64_t> ttl_ms;
  std::optional<bool> durable;
};

struct Config {
  std::string socket_path;      // empty: paths::default_socket_path()
  uint32_t socket_mode = 0666;  // queues carry their own permissions
  std::string data_dir;         // empty: paths::default_data_dir()
  Fsync fsync = Fsync::always;
  uint32_t fsync_interval_ms = 1000;    // for Fsync::interval
  uint64_t segment_size = 64ull << 20;  // a log segment is sealed once it reaches this size
  // Durable sends are refused while the data directory's file system has less
  // free (0: never), so that receives and acks still find room for their records.
  uint64_t disk_free_limit = 64ull << 20;
  std::string log_level = "info";  // trace, debug, info, warn, error, critical, off
  QueueLimits queue_defaults;
  uint32_t max_connections = 1024;
  uint32_t max_frame_size = 16u << 20;        // largest frame body accepted
  uint64_t max_pending_output = 64ull << 20;  // per connection, before reading pauses
  uint32_t spin_us = 50;  // busy-poll this long after activity before blocking (0: never)
  std::vector<QueueDecl> queues;
};

/// Thrown for an unreadable or invalid config; what() names the file, the key
/// and what was expected, e.g. "postboxd.json: key 'queue_defaults.mode': expected an
/// integer 0..0777, got \"rw\"".
class ConfigError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// Reads a JSON file (comments allowed) over the defaults in `base`.
/// Keys present replace base's values ("queues" replaces the whole list);
/// the result has passed validate(). Unknown and repeated keys are errors.
Config load_file(const std::string& path, Config base = {});
/// Same, from text; `origin` names the source in errors.
Config load_string(const std::string& text, const std::string& origin, Config base = {});
/// Checks every range and cross-field rule (e.g. max_message_size <=
/// max_frame_size - 256, valid and unique queue names, no queue its own
/// dead-letter queue, by its own key or through queue_defaults); throws ConfigError
/// starting "config: ". Call it again after flags change a loaded Config.
void validate(const Config& c);

}  // namespace postbox::config
