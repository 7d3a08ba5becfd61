// Request frames and reply decoding for tests that speak the protocol through RawConn.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "proto/errc.hpp"
#include "proto/frame.hpp"
#include "proto/properties.hpp"
#include "tests/support/raw_conn.hpp"

namespace postbox::testing {

using Bytes = std::vector<std::byte>;

/// A message to send.
struct Out {
  int64_t type = 1;
  uint8_t priority = 0;
  std::string payload;
  proto::Properties props;
};

/// A message as a RECEIVE_OK or DELIVER frame carries it.
struct Got {
  uint64_t id = 0;
  int64_t type = 0;
  uint8_t priority = 0;
  uint64_t tag = 0;
  uint32_t delivery_count = 0;
  std::string payload;
  proto::Properties props;
};

/// A SEND of `msgs` to `queue`, or with kind publish a PUBLISH to that topic.
Bytes send_frame(std::string_view queue, const std::vector<Out>& msgs, uint32_t rid,
                 proto::Kind kind = proto::Kind::send);
Bytes receive_frame(std::string_view queue, uint32_t rid, uint32_t timeout_ms,
                    uint32_t max_count = 1, uint16_t flags = 0, uint32_t lease_ms = 0,
                    int64_t type = 0);
Bytes json_frame(proto::Kind kind, const nlohmann::json& j, uint32_t rid);

/// The messages of a RECEIVE_OK or DELIVER frame (a failed decode fails the test).
std::vector<Got> messages_of(const RawFrame& f);
/// Their payloads, in order.
std::vector<std::string> payloads_of(const std::vector<Got>& got);
/// ok unless `f` is an ERROR frame; internal_error for an undecodable one.
proto::Errc error_code_of(const RawFrame& f);
/// The JSON body of a reply.
nlohmann::json json_of(const RawFrame& f);
/// The value of header `key`, or "<missing KEY>".
std::string header(const proto::Properties& p, std::string_view key);

}  // namespace postbox::testing
