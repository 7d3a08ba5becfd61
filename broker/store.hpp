// QueueStore: the named queues of one broker; declare, find, delete, list; name validation.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "queue.hpp"

namespace postbox::broker {

/// 1-255 bytes of [A-Za-z0-9._-].
bool valid_queue_name(std::string_view name) noexcept;
/// A name as it may appear in a one-line error: printable, escaped, bounded.
std::string shown(std::string_view name);

/// A declare request: unset fields take the store's defaults (new queue) or
/// are left alone (existing queue).
struct DeclareSpec {
  std::string name;
  bool exclusive = false;
  std::optional<uint64_t> max_messages;
  std::optional<uint64_t> max_bytes;
  std::optional<uint32_t> max_message_size;
  std::optional<uint32_t> mode;
  std::optional<config::Overflow> overflow;
};

struct DeclareResult {
  Errc code = Errc::ok;
  std::string error;  // one line naming the queue and the problem when code != ok
  Queue* queue = nullptr;
  bool created = false;
};

class QueueStore {
 public:
  /// `defaults` apply to queues declared without limits; `ceiling` is the
  /// largest max_message_size any queue may have (frame limit).
  QueueStore(config::QueueLimits defaults, uint32_t message_size_ceiling);

  /// Creates or opens. Opening checks read or write permission; attributes
  /// given for an existing queue change it and need may_admin. exclusive fails
  /// with queue_exists when it exists.
  DeclareResult declare(const DeclareSpec& spec, const Credentials& who, uint64_t now_ns);
  Queue* find(std::string_view name) noexcept;
  /// Closes (waking all waiters with queue_removed) and destroys the queue.
  void remove(Queue& q);
  /// Every queue, sorted by name.
  std::vector<Queue*> all();
  std::size_t size() const noexcept { return queues_.size(); }
  uint32_t message_size_ceiling() const noexcept { return ceiling_; }
  const config::QueueLimits& defaults() const noexcept { return defaults_; }

 private:
  struct Hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const noexcept {
      return std::hash<std::string_view>{}(s);
    }
  };
  config::QueueLimits defaults_;
  uint32_t ceiling_;
  uint64_t next_id_ = 1;
  std::unordered_map<std::string, std::unique_ptr<Queue>, Hash, std::equal_to<>> queues_;
};

}  // namespace postbox::broker
