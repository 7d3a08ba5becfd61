// ACK, NACK, TOUCH, REJECT: settle leases by delivery tag, many per request.
#include "broker/handlers.hpp"
#include "proto/jobs.hpp"

namespace postbox::broker {

using proto::Errc;
using proto::Kind;

namespace {
const char* name_of(Kind k) {
  switch (k) {
    case Kind::ack:
      return "ACK";
    case Kind::nack:
      return "NACK";
    case Kind::touch:
      return "TOUCH";
    default:
      return "REJECT";
  }
}
}  // namespace

// body: ms:u32 priority:u16 count:u32 tags[count]:u64
void handle_settle(Session& s, const proto::Frame& f) {
  const Kind kind = f.header.kind;
  auto req = proto::decode_settle(kind, f.body);
  if (!req) return s.fail_protocol(f.header.request_id, std::string("malformed ") + name_of(kind));
  proto::SettleReply reply;
  std::optional<uint8_t> priority;
  if (req->priority != proto::kKeepPriority) priority = static_cast<uint8_t>(req->priority);
  for (uint32_t i = 0; i < req->count(); ++i) {
    const uint64_t tag = req->tag_at(i);
    // Looked up one at a time: settling one may deliver (and lease) others.
    Message* m = s.find_lease(tag);
    if (!m) {
      reply.missing.push_back(tag);
      continue;
    }
    Queue& q = *m->leased_from;
    switch (kind) {
      case Kind::ack:
        q.ack(*m);
        break;
      case Kind::nack:
        q.nack(*m, req->ms, priority);
        break;
      case Kind::touch:
        q.touch(*m, req->ms);
        break;
      default:
        q.reject(*m);
        break;
    }
    ++reply.settled;
  }
  proto::encode(kind, reply, s.output(), f.header.request_id);
}

}  // namespace postbox::broker
