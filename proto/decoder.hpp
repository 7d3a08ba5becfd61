// Incremental frame decoder: splits a byte stream into frames, bounds-checked.
#pragma once

#include <cstddef>
#include <span>

#include "frame.hpp"

namespace postbox::proto {

struct Frame {
  FrameHeader header;
  std::span<const std::byte> body;  // points into the decoder's input
};

enum class DecodeStatus { frame, need_more, error };

struct DecodeResult {
  DecodeStatus status = DecodeStatus::need_more;
  Frame frame{};              // valid when status == frame
  std::size_t consumed = 0;   // bytes to drop from the front of the input (frame only)
  const char* error = nullptr;  // static text when status == error
};

/// Looks at the front of `input` and returns the first whole frame, need_more
/// when it is incomplete, or error when the header is invalid (body larger than
/// `max_body`, zero kind). The declared size is checked before any body byte is
/// awaited, so an oversized frame fails as soon as its header arrives.
DecodeResult decode_frame(std::span<const std::byte> input, uint32_t max_body) noexcept;

}  // namespace postbox::proto
