// Byte helpers for the proto tests: hex text <-> bytes, string views as byte spans.
#pragma once

#include <cctype>
#include <cstddef>
#include <cstdio>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace postbox::proto::test {

using Bytes = std::vector<std::byte>;

/// Parses hex byte pairs, ignoring whitespace: "0a 00 ff" -> {0x0a, 0x00, 0xff}.
inline Bytes from_hex(std::string_view hex) {
  Bytes out;
  int high = -1;
  for (char c : hex) {
    if (std::isspace(static_cast<unsigned char>(c))) continue;
    if (!std::isxdigit(static_cast<unsigned char>(c)))
      throw std::invalid_argument("from_hex: not a hex digit: " + std::string(1, c));
    int v = std::isdigit(static_cast<unsigned char>(c)) ? c - '0' : (std::tolower(c) - 'a' + 10);
    if (high < 0) {
      high = v;
    } else {
      out.push_back(static_cast<std::byte>(high * 16 + v));
      high = -1;
    }
  }
  if (high >= 0) throw std::invalid_argument("from_hex: odd number of digits");
  return out;
}

/// "0a 00 ff": what test failures print, so they compare with the document.
inline std::string to_hex(std::span<const std::byte> bytes) {
  std::string out;
  char buf[4];
  for (std::size_t i = 0; i < bytes.size(); ++i) {
    std::snprintf(buf, sizeof buf, "%02x", static_cast<unsigned>(bytes[i]));
    if (i) out += ' ';
    out += buf;
  }
  return out;
}

inline std::span<const std::byte> as_bytes(std::string_view s) {
  return {reinterpret_cast<const std::byte*>(s.data()), s.size()};
}

inline std::string_view as_text(std::span<const std::byte> b) {
  return {reinterpret_cast<const char*>(b.data()), b.size()};
}

/// The body of the single frame at the front of `frame` (header skipped).
inline std::span<const std::byte> body_of(const Bytes& frame, std::size_t header_size = 12) {
  return std::span<const std::byte>(frame).subspan(header_size);
}

}  // namespace postbox::proto::test
