// Frame header encode/decode: 12 bytes, little-endian, fixed layout.
#include "proto/frame.hpp"

#include <span>

#include "proto/wire.hpp"

namespace postbox::proto {

void encode_header(const FrameHeader& h, std::byte* out) noexcept {
  std::memcpy(out + 0, &h.body_size, 4);
  auto kind = static_cast<uint16_t>(h.kind);
  std::memcpy(out + 4, &kind, 2);
  std::memcpy(out + 6, &h.flags, 2);
  std::memcpy(out + 8, &h.request_id, 4);
}

FrameHeader decode_header(const std::byte* in) noexcept {
  Reader r(std::span<const std::byte>(in, kHeaderSize));
  FrameHeader h;
  h.body_size = r.u32();
  h.kind = static_cast<Kind>(r.u16());
  h.flags = r.u16();
  h.request_id = r.u32();
  return h;
}

}  // namespace postbox::proto
