// The journal's record format: what each record says, how it is framed and checked.
//
// A segment file is kSegmentMagic followed by records. A record is
//   length:u32  crc:u32  body[length]
// little-endian, where crc is the CRC32C of the length field and the body, and
// the body starts with its kind. Recovery reads records until the first one
// that is cut short (torn: the broker died mid-write) or whose CRC or body
// does not check out (corrupt), and keeps everything before it.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

namespace postbox::broker::journal {

inline constexpr std::array<char, 8> kSegmentMagic{'P', 'B', 'X', 'J', 'R', 'N', 'L', '1'};
inline constexpr std::size_t kRecordHeader = 8;
/// Larger than any message the broker accepts (frames are at most 256 MiB);
/// a length beyond it is damage, not a record.
inline constexpr uint32_t kMaxRecordBody = 1u << 30;

enum class RecordKind : uint8_t {
  begin = 1,   // first record of a segment
  queue = 2,   // a durable queue and its attributes (declared, changed, or snapshot)
  drop = 3,    // the queue was deleted, with its messages
  add = 4,     // a message entered a queue (or its state was copied forward)
  remove = 5,  // a message left for good (received, acked, expired, dropped, moved)
  lease = 6,   // delivered with ack: now leased, with this delivery count
  update = 7,  // priority, due time, delivery count or lease state changed
  purge = 8,   // every message of the queue that was not leased left
};

struct BeginRecord {
  uint64_t segment = 0;
  uint64_t next_id = 0;  // the broker's message id counter when the segment began
};
struct QueueRecord {
  uint32_t queue = 0;     // the journal's number for the queue
  std::string_view json;  // name and attributes (journal.cpp)
};
struct DropRecord {
  uint32_t queue = 0;
};
/// Times are CLOCK_REALTIME ns (0: none): monotonic times mean nothing after a restart.
struct AddRecord {
  uint32_t queue = 0;
  uint64_t id = 0;
  int64_t type = 1;
  uint8_t priority = 0;
  uint32_t sender_pid = 0;
  uint32_t sender_uid = 0;
  uint64_t enqueue_time_ns = 0;
  uint32_t delivery_count = 0;
  uint64_t due_wall_ns = 0;
  uint64_t expires_wall_ns = 0;
  uint32_t key_offset = 0;
  uint32_t key_size = 0;
  uint32_t props_size = 0;
  std::string_view data;  // properties then payload
};
struct RemoveRecord {
  uint64_t id = 0;
};
struct LeaseRecord {
  uint64_t id = 0;
  uint32_t delivery_count = 0;
};
struct UpdateRecord {
  uint64_t id = 0;
  uint8_t priority = 0;
  uint64_t due_wall_ns = 0;
  uint32_t delivery_count = 0;
  bool leased = false;
};
struct PurgeRecord {
  uint32_t queue = 0;
};

using Record = std::variant<BeginRecord, QueueRecord, DropRecord, AddRecord, RemoveRecord,
                            LeaseRecord, UpdateRecord, PurgeRecord>;

/// Appends `r`, framed, to `out`; returns the bytes added.
std::size_t append(const Record& r, std::string& out);
/// The body of a record whose frame checked out; nullopt if it is malformed
/// (unknown kind, wrong size, a field out of range).
std::optional<Record> decode(std::string_view body);

enum class ScanEnd {
  clean,    // every byte belongs to a good record
  torn,     // the last record is cut short
  corrupt,  // a record's length, CRC or body is wrong
};
struct ScanResult {
  std::size_t good_bytes = 0;  // the records before the damage (all of `bytes` when clean)
  std::size_t records = 0;
  ScanEnd end = ScanEnd::clean;
  std::string why;  // what was wrong, when not clean
  /// Zeros from good_bytes to the end: room the journal reserved ahead of its
  /// writes (Segment::reserve), not damage; the scan ends there, clean.
  std::size_t zero_tail = 0;
};
/// True if every byte is 0 (and for no bytes at all).
bool all_zero(std::string_view bytes) noexcept;
/// Calls `each(record)` for every good record of `bytes` (a segment after its
/// magic), in order, up to the first damage or the zeros at its end.
ScanResult scan(std::string_view bytes, const std::function<void(const Record&)>& each);

}  // namespace postbox::broker::journal
