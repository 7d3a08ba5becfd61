// RawConn: frames over a plain Unix socket, for tests that speak the protocol byte by byte.
#pragma once

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "proto/decoder.hpp"
#include "proto/frame.hpp"

namespace postbox::testing {

struct RawFrame {
  proto::FrameHeader header;
  std::vector<std::byte> body;
};

class RawConn {
 public:
  /// Connects to `socket_path`; throws on failure.
  explicit RawConn(const std::string& socket_path);
  ~RawConn();
  RawConn(const RawConn&) = delete;
  RawConn& operator=(const RawConn&) = delete;

  /// Writes bytes as they are (whole frames, parts of frames, garbage).
  void send(const std::vector<std::byte>& bytes);
  /// Writes `chunk` again and again without blocking until the socket
  /// refuses more (the peer stopped reading) or `cap` bytes went out;
  /// returns how many whole chunks were written.
  std::size_t send_until_blocked(const std::vector<std::byte>& chunk, std::size_t cap);
  /// Sends HELLO and expects HELLO_OK.
  void hello();
  /// The next frame, or nullopt if the broker closed the connection first
  /// or nothing came within `limit`.
  std::optional<RawFrame> expect(std::chrono::milliseconds limit = std::chrono::seconds(10));
  /// True when the broker closes the connection (EOF) within `limit`,
  /// discarding any frames before it.
  bool closed_by_peer(std::chrono::milliseconds limit = std::chrono::seconds(10));

 private:
  bool fill(std::chrono::milliseconds limit);
  int fd_ = -1;
  std::vector<std::byte> in_;
  bool eof_ = false;
};

}  // namespace postbox::testing
