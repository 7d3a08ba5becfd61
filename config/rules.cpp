// The rules every Config obeys: ranges, message size against frame size, queue names,
// dead-letter queues.
#include "config/rules.hpp"

#include <map>
#include <string>
#include <vector>

#include "config/limits.hpp"
#include "config/problem.hpp"

namespace postbox::config::detail {
namespace {

void check_range(const std::string& path, uint64_t value, Range r) {
  if (value < r.min || value > r.max) fail(path, expected_integer(r), std::to_string(value));
}

void check_mode(const std::string& path, uint64_t mode) {
  if (mode > kMaxMode) fail(path, kModeExpected, octal(mode));
}

/// `ceiling` is max_frame_size - kFrameHeaderRoom.
void check_message_size(const std::string& path, uint64_t size, uint64_t ceiling) {
  check_range(path, size, kMessageSizeRange);
  if (size > ceiling) {
    fail(path,
         "at most " + std::to_string(ceiling) + " (max_frame_size - " +
             std::to_string(kFrameHeaderRoom) + ", room for the frame's headers)",
         std::to_string(size));
  }
}

void check_dead_letter(const std::string& path, const std::string& name) {
  if (!name.empty() && !valid_queue_name(name)) fail(path, kDeadLetterExpected, quoted(name));
}

constexpr std::string_view kInheritedHint =
    R"x( from queue_defaults.dead_letter; give this queue its own "dead_letter" ("" for none))x";

/// A queue that dead-letters into itself would put rejected, over-delivered and expired
/// messages straight back, so they would never leave it. Checked on the queue's effective
/// value, its own or inherited from queue_defaults.
void check_not_own_dead_letter(const QueueDecl& q, const std::string& path,
                               const QueueLimits& defaults) {
  const std::string key = path + ".dead_letter";
  if (q.dead_letter) {
    if (*q.dead_letter == q.name) fail(key, kOwnDeadLetterExpected, quoted(q.name));
  } else if (defaults.dead_letter == q.name) {
    fail(key, kOwnDeadLetterExpected, quoted(q.name) + std::string(kInheritedHint));
  }
}

void check_queue(const QueueDecl& q, const std::string& path, uint64_t ceiling,
                 const QueueLimits& defaults) {
  if (!valid_queue_name(q.name)) fail(path + ".name", kNameExpected, quoted(q.name));
  if (q.max_messages) check_range(path + ".max_messages", *q.max_messages, kMaxMessagesRange);
  if (q.max_bytes) check_range(path + ".max_bytes", *q.max_bytes, kMaxBytesRange);
  if (q.max_message_size)
    check_message_size(path + ".max_message_size", *q.max_message_size, ceiling);
  if (q.mode) check_mode(path + ".mode", *q.mode);
  if (q.dead_letter) check_dead_letter(path + ".dead_letter", *q.dead_letter);
  check_not_own_dead_letter(q, path, defaults);
  if (q.lease_ms) check_range(path + ".lease_ms", *q.lease_ms, kLeaseRange);
  if (q.ttl_ms) check_range(path + ".ttl_ms", *q.ttl_ms, kTtlRange);
}

void check_queues(const std::vector<QueueDecl>& queues, uint64_t ceiling,
                  const QueueLimits& defaults) {
  std::map<std::string_view, std::size_t> seen;  // name -> first index
  for (std::size_t i = 0; i < queues.size(); ++i) {
    const std::string path = "queues[" + std::to_string(i) + "]";
    check_queue(queues[i], path, ceiling, defaults);
    auto [it, inserted] = seen.emplace(queues[i].name, i);
    if (!inserted) {
      throw Problem("key '" + path + ".name': duplicate queue name \"" + queues[i].name +
                    "\" (also queues[" + std::to_string(it->second) + "])");
    }
  }
}

}  // namespace

void check_rules(const Config& c) {
  if (c.socket_path.size() > kMaxSocketPath) {
    fail("socket", "a path of at most " + std::to_string(kMaxSocketPath) + " bytes (sun_path)",
         "a path of " + std::to_string(c.socket_path.size()) + " bytes");
  }
  check_mode("socket_mode", c.socket_mode);
  bool known_level = false;
  for (auto level : kLogLevels) known_level = known_level || c.log_level == level;
  if (!known_level) fail("log_level", "one of " + join(kLogLevels), quoted(c.log_level));
  check_range("max_connections", c.max_connections, kConnectionsRange);
  check_range("max_frame_size", c.max_frame_size, kFrameSizeRange);
  check_range("max_pending_output", c.max_pending_output, kPendingOutputRange);
  check_range("spin_us", c.spin_us, kSpinRange);
  check_range("fsync_interval_ms", c.fsync_interval_ms, kFsyncIntervalRange);
  check_range("segment_size", c.segment_size, kSegmentSizeRange);
  check_range("disk_free_limit", c.disk_free_limit, kDiskFreeLimitRange);
  const uint64_t ceiling = c.max_frame_size - kFrameHeaderRoom;  // >= 3840: range checked above
  const QueueLimits& d = c.queue_defaults;
  check_range("queue_defaults.max_messages", d.max_messages, kMaxMessagesRange);
  check_range("queue_defaults.max_bytes", d.max_bytes, kMaxBytesRange);
  check_message_size("queue_defaults.max_message_size", d.max_message_size, ceiling);
  check_mode("queue_defaults.mode", d.mode);
  // max_deliveries needs no check: every u32 is meaningful (kMaxDeliveriesRange).
  check_dead_letter("queue_defaults.dead_letter", d.dead_letter);
  check_range("queue_defaults.lease_ms", d.lease_ms, kLeaseRange);
  check_range("queue_defaults.ttl_ms", d.ttl_ms, kTtlRange);
  check_queues(c.queues, ceiling, d);
}

bool valid_queue_name(std::string_view name) noexcept {
  if (name.empty() || name.size() > kMaxQueueName) return false;
  for (char ch : name) {
    bool ok = (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
              ch == '.' || ch == '_' || ch == '-';
    if (!ok) return false;
  }
  return true;
}

}  // namespace postbox::config::detail
