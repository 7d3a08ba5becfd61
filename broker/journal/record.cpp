// Encoding, decoding and scanning journal records (record.hpp has the format).
#include "broker/journal/record.hpp"

#include <algorithm>
#include <cstring>
#include <span>

#include "broker/journal/crc32c.hpp"

namespace postbox::broker::journal {
namespace {

class Writer {
 public:
  explicit Writer(std::string& out) : out_(out) {}
  template <class T>
  void put(T v) {
    static_assert(std::is_trivially_copyable_v<T>);
    char buf[sizeof(T)];
    std::memcpy(buf, &v, sizeof(T));  // x86-64 and aarch64 Linux: little-endian
    out_.append(buf, sizeof(T));
  }
  void bytes(std::string_view s) { out_.append(s); }

 private:
  std::string& out_;
};

class Reader {
 public:
  explicit Reader(std::string_view in) : in_(in) {}
  template <class T>
  bool get(T& v) {
    if (in_.size() < sizeof(T)) return false;
    std::memcpy(&v, in_.data(), sizeof(T));
    in_.remove_prefix(sizeof(T));
    return true;
  }
  std::string_view rest() {
    std::string_view r = in_;
    in_ = {};
    return r;
  }
  bool done() const noexcept { return in_.empty(); }

 private:
  std::string_view in_;
};

void encode_body(const Record& r, Writer& w) {
  std::visit(
      [&w](const auto& rec) {
        using T = std::decay_t<decltype(rec)>;
        if constexpr (std::is_same_v<T, BeginRecord>) {
          w.put(RecordKind::begin);
          w.put(rec.segment);
          w.put(rec.next_id);
        } else if constexpr (std::is_same_v<T, QueueRecord>) {
          w.put(RecordKind::queue);
          w.put(rec.queue);
          w.bytes(rec.json);
        } else if constexpr (std::is_same_v<T, DropRecord>) {
          w.put(RecordKind::drop);
          w.put(rec.queue);
        } else if constexpr (std::is_same_v<T, AddRecord>) {
          w.put(RecordKind::add);
          w.put(rec.queue);
          w.put(rec.id);
          w.put(rec.type);
          w.put(rec.priority);
          w.put(rec.sender_pid);
          w.put(rec.sender_uid);
          w.put(rec.enqueue_time_ns);
          w.put(rec.delivery_count);
          w.put(rec.due_wall_ns);
          w.put(rec.expires_wall_ns);
          w.put(rec.key_offset);
          w.put(rec.key_size);
          w.put(rec.props_size);
          w.bytes(rec.data);
        } else if constexpr (std::is_same_v<T, RemoveRecord>) {
          w.put(RecordKind::remove);
          w.put(rec.id);
        } else if constexpr (std::is_same_v<T, LeaseRecord>) {
          w.put(RecordKind::lease);
          w.put(rec.id);
          w.put(rec.delivery_count);
        } else if constexpr (std::is_same_v<T, UpdateRecord>) {
          w.put(RecordKind::update);
          w.put(rec.id);
          w.put(rec.priority);
          w.put(rec.due_wall_ns);
          w.put(rec.delivery_count);
          w.put(static_cast<uint8_t>(rec.leased ? 1 : 0));
        } else if constexpr (std::is_same_v<T, PurgeRecord>) {
          w.put(RecordKind::purge);
          w.put(rec.queue);
        }
      },
      r);
}

uint32_t frame_crc(uint32_t length, std::string_view body) {
  char len[4];
  std::memcpy(len, &length, 4);
  uint32_t crc = crc32c(std::as_bytes(std::span(len, 4)));
  return crc32c(std::as_bytes(std::span(body.data(), body.size())), crc);
}

std::optional<Record> decode_add(Reader& r) {
  AddRecord a;
  if (!(r.get(a.queue) && r.get(a.id) && r.get(a.type) && r.get(a.priority) &&
        r.get(a.sender_pid) && r.get(a.sender_uid) && r.get(a.enqueue_time_ns) &&
        r.get(a.delivery_count) && r.get(a.due_wall_ns) && r.get(a.expires_wall_ns) &&
        r.get(a.key_offset) && r.get(a.key_size) && r.get(a.props_size))) {
    return std::nullopt;
  }
  a.data = r.rest();
  if (a.type < 1 || a.props_size > a.data.size()) return std::nullopt;
  if (a.key_size > 0 && (uint64_t{a.key_offset} + a.key_size > a.props_size)) return std::nullopt;
  return a;
}

}  // namespace

std::size_t append(const Record& r, std::string& out) {
  const std::size_t start = out.size();
  out.append(kRecordHeader, '\0');
  Writer w(out);
  encode_body(r, w);
  const auto length = static_cast<uint32_t>(out.size() - start - kRecordHeader);
  const uint32_t crc = frame_crc(length, std::string_view(out).substr(start + kRecordHeader));
  std::memcpy(out.data() + start, &length, 4);
  std::memcpy(out.data() + start + 4, &crc, 4);
  return out.size() - start;
}

std::optional<Record> decode(std::string_view body) {
  Reader r(body);
  uint8_t kind = 0;
  if (!r.get(kind)) return std::nullopt;
  std::optional<Record> out;
  switch (static_cast<RecordKind>(kind)) {
    case RecordKind::begin: {
      BeginRecord b;
      if (r.get(b.segment) && r.get(b.next_id)) out = b;
      break;
    }
    case RecordKind::queue: {
      QueueRecord q;
      if (r.get(q.queue)) {
        q.json = r.rest();
        out = q;
      }
      break;
    }
    case RecordKind::drop: {
      DropRecord d;
      if (r.get(d.queue)) out = d;
      break;
    }
    case RecordKind::add:
      out = decode_add(r);
      break;
    case RecordKind::remove: {
      RemoveRecord x;
      if (r.get(x.id)) out = x;
      break;
    }
    case RecordKind::lease: {
      LeaseRecord l;
      if (r.get(l.id) && r.get(l.delivery_count)) out = l;
      break;
    }
    case RecordKind::update: {
      UpdateRecord u;
      uint8_t leased = 0;
      if (r.get(u.id) && r.get(u.priority) && r.get(u.due_wall_ns) && r.get(u.delivery_count) &&
          r.get(leased) && leased <= 1) {
        u.leased = leased == 1;
        out = u;
      }
      break;
    }
    case RecordKind::purge: {
      PurgeRecord p;
      if (r.get(p.queue)) out = p;
      break;
    }
  }
  if (out && !r.done()) return std::nullopt;  // trailing bytes: not what was written
  return out;
}

bool all_zero(std::string_view bytes) noexcept {
  return std::all_of(bytes.begin(), bytes.end(), [](char c) { return c == 0; });
}

ScanResult scan(std::string_view bytes, const std::function<void(const Record&)>& each) {
  ScanResult res;
  std::size_t pos = 0;
  while (pos < bytes.size()) {
    const std::size_t left = bytes.size() - pos;
    // A record's length is never 0, so this stops at the first non-zero byte
    // of almost every record.
    if (all_zero(bytes.substr(pos))) {
      res.zero_tail = left;
      break;
    }
    if (left < kRecordHeader) {
      res.end = ScanEnd::torn;
      res.why = "a record header cut short (" + std::to_string(left) + " of 8 bytes)";
      break;
    }
    uint32_t length = 0;
    uint32_t crc = 0;
    std::memcpy(&length, bytes.data() + pos, 4);
    std::memcpy(&crc, bytes.data() + pos + 4, 4);
    if (length == 0 || length > kMaxRecordBody) {
      res.end = ScanEnd::corrupt;
      res.why = "a record length of " + std::to_string(length);
      break;
    }
    if (length > left - kRecordHeader) {
      // Only the CRC can tell a torn last record from a damaged length; a
      // torn write is what a crash leaves, so that is how it is reported.
      res.end = ScanEnd::torn;
      res.why = "a record of " + std::to_string(length) + " bytes with only " +
                std::to_string(left - kRecordHeader) + " present";
      break;
    }
    const std::string_view body = bytes.substr(pos + kRecordHeader, length);
    if (frame_crc(length, body) != crc) {
      res.end = ScanEnd::corrupt;
      res.why = "a CRC mismatch in a record of " + std::to_string(length) + " bytes";
      break;
    }
    auto rec = decode(body);
    if (!rec) {
      res.end = ScanEnd::corrupt;
      res.why = "a malformed record body (kind " +
                std::to_string(static_cast<unsigned>(static_cast<uint8_t>(body[0]))) + ")";
      break;
    }
    each(*rec);
    pos += kRecordHeader + length;
    ++res.records;
  }
  res.good_bytes = pos;
  return res;
}

}  // namespace postbox::broker::journal
