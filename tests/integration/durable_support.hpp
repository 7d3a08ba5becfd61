// What the durable-queue integration tests share: declaring a durable queue and reading STAT and
// STATUS over raw frames (the library's options may lag the broker's protocol), numbered payloads.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <stdexcept>
#include <string>

#include "proto/frame.hpp"
#include "tests/support/frames.hpp"
#include "tests/support/raw_conn.hpp"

namespace postbox::testing {

/// One JSON request on a fresh connection; its reply's body, or throws (no
/// reply, or an ERROR frame, whose code and text it names).
inline nlohmann::json json_request(const std::string& socket, proto::Kind kind,
                                   const nlohmann::json& body) {
  RawConn c(socket);
  c.hello();
  c.send(json_frame(kind, body, 1));
  auto f = c.expect();
  if (!f) throw std::runtime_error("no reply to " + body.dump());
  if (f->header.kind == proto::Kind::error) {
    throw std::runtime_error("error " + std::to_string(static_cast<int>(error_code_of(*f))) +
                             " for " + body.dump());
  }
  return json_of(*f);
}

/// DECLARE {"queue": name, "durable": true}.
inline void declare_durable(const std::string& socket, const std::string& queue) {
  json_request(socket, proto::Kind::declare, {{"queue", queue}, {"durable", true}});
}

inline nlohmann::json stat_json(const std::string& socket, const std::string& queue) {
  return json_request(socket, proto::Kind::stat, {{"queue", queue}});
}

/// STATUS (protocol version 2): the broker and its log.
inline nlohmann::json status_json(const std::string& socket) {
  return json_request(socket, proto::Kind::status, nlohmann::json::object());
}

/// Payloads that carry a sequence number, so that a test can tell which
/// message a delivery is: "seq=<n>;" and filler up to `size` bytes.
inline std::string numbered(uint64_t seq, std::size_t size = 32) {
  std::string p = "seq=" + std::to_string(seq) + ";";
  if (p.size() < size) p.append(size - p.size(), 'x');
  return p;
}

/// The sequence number of a numbered() payload; nullopt for anything else.
inline std::optional<uint64_t> seq_of(const std::string& payload) {
  if (payload.rfind("seq=", 0) != 0) return std::nullopt;
  const auto end = payload.find(';');
  if (end == std::string::npos || end == 4) return std::nullopt;
  uint64_t n = 0;
  for (std::size_t i = 4; i < end; ++i) {
    if (payload[i] < '0' || payload[i] > '9') return std::nullopt;
    n = n * 10 + static_cast<uint64_t>(payload[i] - '0');
  }
  for (std::size_t i = end + 1; i < payload.size(); ++i)
    if (payload[i] != 'x') return std::nullopt;
  return n;
}

}  // namespace postbox::testing
