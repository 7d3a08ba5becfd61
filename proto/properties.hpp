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
};

/// Decoded view of the properties a client cares about.
struct Properties {
  std::optional<std::string> correlation_id;
  std::optional<std::string> reply_to;
  std::vector<std::pair<std::string, std::string>> headers;  // in send order, duplicates kept

  bool empty() const noexcept { return !correlation_id && !reply_to && headers.empty(); }
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

}  // namespace postbox::proto
