// Incremental frame decoder: header first, limit checked, then the body.
#include "proto/decoder.hpp"

namespace postbox::proto {

DecodeResult decode_frame(std::span<const std::byte> input, uint32_t max_body) noexcept {
  DecodeResult r;
  if (input.size() < kHeaderSize) return r;  // need_more
  FrameHeader h = decode_header(input.data());
  // Both checks happen before any body byte is awaited, so a peer cannot make
  // the broker buffer an oversized body only to reject it afterwards.
  if (static_cast<uint16_t>(h.kind) == 0) {
    r.status = DecodeStatus::error;
    r.error = "frame kind 0 is not a valid kind";
    return r;
  }
  if (h.body_size > max_body) {
    r.status = DecodeStatus::error;
    r.error = "frame body exceeds the maximum frame body size";
    return r;
  }
  if (input.size() - kHeaderSize < h.body_size) return r;  // need_more
  r.status = DecodeStatus::frame;
  r.frame.header = h;
  r.frame.body = input.subspan(kHeaderSize, h.body_size);
  r.consumed = kHeaderSize + h.body_size;
  return r;
}

}  // namespace postbox::proto
