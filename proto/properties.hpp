// The extensible properties section of a message: correlation id, reply-to, headers.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

namespace postbox::proto {

/// Tags of the properties TLV (tag:u8 len:u32 value). Unknown tags are kept by
/// the broker and skipped by clients, so later versions can add properties.
enum class PropTag : uint8_t {
  correlation_id = 1,  // bytes
  reply_to = 2,        // queue name
  header = 3,          // key_len:u16 key value (value is the rest)
  // Version 2: read by the broker on SEND (kept in the message as sent).
  delay_ms = 4,   // u64: invisible until this many ms after the send
  due_ns = 5,     // u64: invisible until this CLOCK_REALTIME time
  ttl_ms = 6,     // u64: discarded (dead-lettered) this many ms after the send
  dedup_key = 7,  // 1..kMaxDedupKey bytes: at most one message with this key in the queue
  topic = 8,      // set by the broker on PUBLISH: the topic the message was published to
};
inline constexpr std::size_t kMaxDedupKey = 1024;

/// Decoded view of the properties a client cares about.
struct Properties {
  std::optional<std::string> correlation_id;
  std::optional<std::string> reply_to;
  std::vector<std::pair<std::string, std::string>> headers;  // in send order, duplicates kept
  std::optional<uint64_t> delay_ms;
  std::optional<uint64_t> due_ns;
  std::optional<uint64_t> ttl_ms;
  std::optional<std::string> dedup_key;
  std::optional<std::string> topic;  // read only: the broker sets it on PUBLISH

  bool empty() const noexcept {
    return !correlation_id && !reply_to && headers.empty() && !delay_ms && !due_ns && !ttl_ms &&
           !dedup_key && !topic;
  }
};

/// True when every field fits its length prefix (header keys up to 65535
/// bytes, each entry's value under 4 GiB); the encoders assert it.
bool properties_encodable(const Properties& p) noexcept;
/// Encodes to the TLV form carried on the wire.
std::vector<std::byte> encode_properties(const Properties& p);
/// Appends the TLV form to `out`.
void append_properties(const Properties& p, std::vector<std::byte>& out);
/// True when `tlv` is a well-formed sequence of entries (every length inside
/// the section, header entries with a key that fits). The broker checks this
/// on every send; it never interprets the section otherwise.
bool properties_well_formed(std::span<const std::byte> tlv) noexcept;
/// Decodes the known tags; nullopt when malformed.
std::optional<Properties> decode_properties(std::span<const std::byte> tlv);

/// The tags the broker acts on, as found in a SEND's properties (version 2).
struct Scheduling {
  std::optional<uint64_t> delay_ms;
  std::optional<uint64_t> due_ns;
  std::optional<uint64_t> ttl_ms;
  std::string_view dedup_key;        // empty: none; a view into the section
  std::size_t dedup_key_offset = 0;  // where the key's bytes start within the section
};
/// Finds the scheduling tags in a well-formed section. Returns an empty string
/// or a one-line reason naming the bad tag (a u64 tag that is not 8 bytes, a
/// dedup key empty or over kMaxDedupKey bytes).
std::string find_scheduling(std::span<const std::byte> tlv, Scheduling& out);
/// Appends one header entry (the broker's dead-letter history).
void append_header(std::string_view key, std::string_view value, std::string& out);
/// Appends one entry of `tag` with `value` (the broker's topic stamp).
void append_entry(PropTag tag, std::string_view value, std::string& out);

}  // namespace postbox::proto
