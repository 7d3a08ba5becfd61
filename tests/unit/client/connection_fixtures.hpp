// Helpers for tests that drive detail::Connection by hand: frames out, bytes in, a handshake.
#pragma once

#include <gtest/gtest.h>

#include <cstring>
#include <functional>
#include <span>
#include <string_view>
#include <utility>
#include <vector>

#include "client/connection.hpp"
#include "postbox/error.hpp"
#include "proto/frame.hpp"

namespace postbox::detail::testing {

inline std::span<const std::byte> bytes(std::string_view s) {
  return {reinterpret_cast<const std::byte*>(s.data()), s.size()};
}

/// The frames in `out`, split (header, body).
inline std::vector<std::pair<proto::FrameHeader, std::span<const std::byte>>> frames(
    const std::vector<std::byte>& out) {
  std::vector<std::pair<proto::FrameHeader, std::span<const std::byte>>> all;
  for (std::size_t at = 0; at < out.size();) {
    auto h = proto::decode_header(out.data() + at);
    all.push_back({h, std::span(out).subspan(at + proto::kHeaderSize, h.body_size)});
    at += proto::kHeaderSize + h.body_size;
  }
  return all;
}

/// The body of the only frame in `out`, which must be of `kind`.
inline std::span<const std::byte> only_body(const std::vector<std::byte>& out, proto::Kind kind) {
  auto all = frames(out);
  EXPECT_EQ(all.size(), 1u);
  if (all.empty()) return {};
  EXPECT_EQ(all[0].first.kind, kind);
  return all[0].second;
}

/// Hands `data` to the connection as if read from the socket.
inline void feed(Connection& c, std::span<const std::byte> data) {
  auto space = c.input_space();
  ASSERT_GE(space.size(), data.size());
  std::memcpy(space.data(), data.data(), data.size());
  c.commit_input(data.size());
}

/// Every complete reply fed so far.
inline std::vector<RawReply> replies(Connection& c) {
  std::vector<RawReply> out;
  while (auto r = c.next_reply()) out.push_back(std::move(*r));
  return out;
}

/// What `f` threw (Errc::ok when it threw nothing).
inline Error thrown(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e;
  }
  return Error(Errc::ok, "nothing thrown");
}

/// A connection that completed HELLO at `version`.
inline Connection negotiated(uint16_t version) {
  Connection c;
  RawReply hello;
  hello.server = {version, 1 << 20, 1 << 16, "test"};
  c.accept_hello(hello);
  return c;
}

}  // namespace postbox::detail::testing
