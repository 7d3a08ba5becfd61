// Request frames and reply decoding for raw-protocol tests.
#include "tests/support/frames.hpp"

#include <gtest/gtest.h>

#include "proto/decoder.hpp"
#include "proto/messages.hpp"

namespace postbox::testing {

Bytes send_frame(std::string_view queue, const std::vector<Out>& msgs, uint32_t rid,
                 proto::Kind kind) {
  Bytes out;
  std::vector<Bytes> props;
  for (const Out& m : msgs) props.push_back(proto::encode_properties(m.props));
  auto body = proto::begin_send({queue, 0, static_cast<uint32_t>(msgs.size())}, out, rid, kind);
  for (std::size_t i = 0; i < msgs.size(); ++i) {
    proto::OutgoingMessage m;
    m.type = msgs[i].type;
    m.priority = msgs[i].priority;
    m.properties = props[i];
    m.payload = std::as_bytes(std::span(msgs[i].payload.data(), msgs[i].payload.size()));
    proto::append_outgoing(m, out);
  }
  proto::finish_frame(out, body);
  return out;
}

Bytes receive_frame(std::string_view queue, uint32_t rid, uint32_t timeout_ms, uint32_t max_count,
                    uint16_t flags, uint32_t lease_ms, int64_t type) {
  Bytes out;
  proto::ReceiveRequest r;
  r.queue = queue;
  r.type = type;
  r.flags = flags;
  r.timeout_ms = timeout_ms;
  r.max_count = max_count;
  r.lease_ms = lease_ms;
  proto::encode(r, out, rid);
  return out;
}

Bytes json_frame(proto::Kind kind, const nlohmann::json& j, uint32_t rid) {
  Bytes out;
  proto::encode_json(kind, j.dump(), out, rid);
  return out;
}

std::vector<Got> messages_of(const RawFrame& f) {
  std::vector<Got> got;
  proto::ReceiveReplyReader r;
  EXPECT_TRUE(r.open(f.body));
  proto::DeliveredMessage d;
  while (r.next(d)) {
    Got g{d.id,
          d.type,
          d.priority,
          d.delivery_tag,
          d.delivery_count,
          std::string(reinterpret_cast<const char*>(d.payload.data()), d.payload.size()),
          {}};
    g.props = proto::decode_properties(d.properties).value_or(proto::Properties{});
    got.push_back(std::move(g));
  }
  EXPECT_FALSE(r.failed());
  return got;
}

std::vector<std::string> payloads_of(const std::vector<Got>& got) {
  std::vector<std::string> out;
  for (const Got& g : got) out.push_back(g.payload);
  return out;
}

proto::Errc error_code_of(const RawFrame& f) {
  if (f.header.kind != proto::Kind::error) return proto::Errc::ok;
  auto e = proto::decode_error(f.body);
  return e ? e->code : proto::Errc::internal_error;
}

nlohmann::json json_of(const RawFrame& f) {
  return nlohmann::json::parse(
      std::string(reinterpret_cast<const char*>(f.body.data()), f.body.size()));
}

std::string header(const proto::Properties& p, std::string_view key) {
  for (const auto& [k, v] : p.headers)
    if (k == key) return v;
  return "<missing " + std::string(key) + ">";
}

}  // namespace postbox::testing
