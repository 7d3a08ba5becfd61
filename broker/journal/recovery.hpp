// Recovery: replaying the segments of a journal directory into what the
// durable queues held, and cutting off a damaged tail.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <unordered_map>
#include <vector>

#include "broker/journal/queue_record.hpp"
#include "broker/message.hpp"

namespace postbox::broker::journal {

struct RecoveredMessage {
  uint32_t queue = 0;
  /// due_ns and expires_ns are still CLOCK_REALTIME here (0: none).
  MessagePtr message;
  bool leased = false;
  uint64_t segment = 0;  // where its latest ADD is
};

struct Replay {
  std::map<uint32_t, QueueImage> queues;  // by journal id
  std::unordered_map<uint64_t, RecoveredMessage> messages;
  uint64_t next_id = 1;  // past every message id seen
  struct SegmentInfo {
    uint64_t number = 0;
    uint64_t size = 0;
  };
  std::vector<SegmentInfo> segments;  // those kept, ascending
  uint64_t records = 0;
  /// Set when damage was found: what and where, and what was cut off.
  std::string damage;
  uint64_t dropped_bytes = 0;
  uint64_t dropped_segments = 0;
  std::vector<std::string> warnings;  // records that made no sense (skipped)
};

/// Replays every segment of `dir` in order, stopping at the first torn or
/// corrupt record: that segment is cut there (truncated and synced) and
/// every later segment is set aside as "<name>.dropped", since records after
/// damage cannot be applied without what it held. Throws std::system_error
/// on I/O errors.
Replay replay(const std::string& dir);

}  // namespace postbox::broker::journal
