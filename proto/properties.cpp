// Properties TLV: encoding, structural validation and decoding of the known tags.
#include "proto/properties.hpp"

#include <cassert>
#include <limits>
#include <string>
#include <string_view>

#include "proto/wire.hpp"

namespace postbox::proto {

namespace {

constexpr std::size_t kEntryHeader = 1 + 4;  // tag:u8 len:u32
constexpr std::size_t kHeaderKeyPrefix = 2;  // key_len:u16 inside a header entry
constexpr std::size_t kMaxEntryValue = std::numeric_limits<uint32_t>::max();

void put_entry(Writer& w, PropTag tag, std::string_view value) {
  assert(value.size() <= kMaxEntryValue && "property value does not fit its u32 length");
  w.u8(static_cast<uint8_t>(tag));
  w.str32(value);
}

void put_header(Writer& w, std::string_view key, std::string_view value) {
  assert(key.size() <= std::numeric_limits<uint16_t>::max() && "header key longer than 65535");
  assert(kHeaderKeyPrefix + key.size() + value.size() <= kMaxEntryValue &&
         "header entry does not fit its u32 length");
  w.u8(static_cast<uint8_t>(PropTag::header));
  w.u32(static_cast<uint32_t>(kHeaderKeyPrefix + key.size() + value.size()));
  w.str16(key);
  w.str(value);
}

/// One entry of the section; value is a view into the section.
struct Entry {
  uint8_t tag = 0;
  std::span<const std::byte> value;
};

/// Walks the entries; every length is checked against what is left, so a
/// malformed section stops the walk instead of reading past it.
class EntryReader {
 public:
  explicit EntryReader(std::span<const std::byte> tlv) noexcept : r_(tlv) {}
  /// Next entry; false at the end or when malformed (then failed() is true).
  bool next(Entry& e) noexcept {
    if (r_.remaining() == 0) return false;
    e.tag = r_.u8();
    uint32_t len = r_.u32();
    e.value = r_.bytes(len);
    if (!r_.ok() || !entry_well_formed(e)) {
      failed_ = true;
      return false;
    }
    return true;
  }
  bool failed() const noexcept { return failed_; }

 private:
  static bool entry_well_formed(const Entry& e) noexcept {
    if (e.tag != static_cast<uint8_t>(PropTag::header)) return true;  // unknown tags: opaque
    Reader v(e.value);
    auto key_len = v.u16();
    return v.ok() && key_len <= v.remaining();
  }

  Reader r_;
  bool failed_ = false;
};

std::string as_string(std::span<const std::byte> b) {
  return {reinterpret_cast<const char*>(b.data()), b.size()};
}

}  // namespace

bool properties_encodable(const Properties& p) noexcept {
  auto fits = [](std::size_t n) { return n <= kMaxEntryValue; };
  if (p.correlation_id && !fits(p.correlation_id->size())) return false;
  if (p.reply_to && !fits(p.reply_to->size())) return false;
  if (p.dedup_key && !fits(p.dedup_key->size())) return false;
  for (const auto& [key, value] : p.headers) {
    if (key.size() > std::numeric_limits<uint16_t>::max()) return false;
    if (!fits(kHeaderKeyPrefix + key.size() + value.size())) return false;
  }
  return true;
}

std::vector<std::byte> encode_properties(const Properties& p) {
  std::vector<std::byte> out;
  append_properties(p, out);
  return out;
}

void append_properties(const Properties& p, std::vector<std::byte>& out) {
  Writer w(out);
  if (p.correlation_id) put_entry(w, PropTag::correlation_id, *p.correlation_id);
  if (p.reply_to) put_entry(w, PropTag::reply_to, *p.reply_to);
  for (const auto& [key, value] : p.headers) put_header(w, key, value);
  auto put_u64 = [&](PropTag tag, uint64_t v) {
    w.u8(static_cast<uint8_t>(tag));
    w.u32(8);
    w.u64(v);
  };
  if (p.delay_ms) put_u64(PropTag::delay_ms, *p.delay_ms);
  if (p.due_ns) put_u64(PropTag::due_ns, *p.due_ns);
  if (p.ttl_ms) put_u64(PropTag::ttl_ms, *p.ttl_ms);
  if (p.dedup_key) put_entry(w, PropTag::dedup_key, *p.dedup_key);
  if (p.topic) put_entry(w, PropTag::topic, *p.topic);
}

bool properties_well_formed(std::span<const std::byte> tlv) noexcept {
  EntryReader entries(tlv);
  Entry e;
  while (entries.next(e)) {
  }
  return !entries.failed();
}

std::optional<Properties> decode_properties(std::span<const std::byte> tlv) {
  Properties p;
  EntryReader entries(tlv);
  Entry e;
  while (entries.next(e)) {
    switch (static_cast<PropTag>(e.tag)) {
      case PropTag::correlation_id:
        p.correlation_id = as_string(e.value);  // a repeated tag: the last one wins
        break;
      case PropTag::reply_to:
        p.reply_to = as_string(e.value);
        break;
      case PropTag::header: {
        Reader v(e.value);
        auto key = v.str16();
        auto rest = v.bytes(v.remaining());
        p.headers.emplace_back(std::string(key), as_string(rest));
        break;
      }
      case PropTag::delay_ms:
      case PropTag::due_ns:
      case PropTag::ttl_ms: {
        Reader v(e.value);
        const uint64_t n = v.u64();
        if (!v.done()) break;  // not ours to judge on delivery: skipped like an unknown tag
        auto tag = static_cast<PropTag>(e.tag);
        (tag == PropTag::delay_ms ? p.delay_ms : tag == PropTag::due_ns ? p.due_ns : p.ttl_ms) = n;
        break;
      }
      case PropTag::dedup_key:
        p.dedup_key = as_string(e.value);
        break;
      case PropTag::topic:
        p.topic = as_string(e.value);
        break;
      default:
        break;  // unknown tags are for later versions: skipped, not an error
    }
  }
  if (entries.failed()) return std::nullopt;
  return p;
}

std::string find_scheduling(std::span<const std::byte> tlv, Scheduling& out) {
  EntryReader entries(tlv);
  Entry e;
  while (entries.next(e)) {
    const auto tag = static_cast<PropTag>(e.tag);
    if (tag == PropTag::delay_ms || tag == PropTag::due_ns || tag == PropTag::ttl_ms) {
      const char* name = tag == PropTag::delay_ms ? "delay_ms"
                         : tag == PropTag::due_ns ? "due_ns"
                                                  : "ttl_ms";
      Reader v(e.value);
      const uint64_t n = v.u64();
      if (!v.done()) {
        return std::string("property ") + name + " (tag " + std::to_string(e.tag) +
               ") must be 8 bytes, got " + std::to_string(e.value.size());
      }
      (tag == PropTag::delay_ms ? out.delay_ms
       : tag == PropTag::due_ns ? out.due_ns
                                : out.ttl_ms) = n;
    } else if (tag == PropTag::dedup_key) {
      if (e.value.empty() || e.value.size() > kMaxDedupKey) {
        return "property dedup_key (tag 7) must be 1.." + std::to_string(kMaxDedupKey) +
               " bytes, got " + std::to_string(e.value.size());
      }
      out.dedup_key = {reinterpret_cast<const char*>(e.value.data()), e.value.size()};
      out.dedup_key_offset = static_cast<std::size_t>(e.value.data() - tlv.data());
    }
  }
  return {};
}

void append_entry(PropTag tag, std::string_view value, std::string& out) {
  std::vector<std::byte> tmp;
  Writer w(tmp);
  put_entry(w, tag, value);
  out.append(reinterpret_cast<const char*>(tmp.data()), tmp.size());
}

void append_header(std::string_view key, std::string_view value, std::string& out) {
  std::vector<std::byte> tmp;
  Writer w(tmp);
  put_header(w, key, value);
  out.append(reinterpret_cast<const char*>(tmp.data()), tmp.size());
}

}  // namespace postbox::proto
