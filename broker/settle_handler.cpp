// ACK, NACK, TOUCH, REJECT: settle leases by delivery tag, many per request.
#include <algorithm>
#include <vector>

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
  // Every lease first, then each queue touched serves its waiters once: a
  // consumer acking a batch gets its credit back in one delivery, not one per tag.
  std::vector<Queue*> touched;
  if (kind != Kind::touch && s.context().journal.failing()) {
    // All or nothing: refused before any lease is settled.
    for (uint32_t i = 0; i < req->count(); ++i) {
      Message* m = s.find_lease(req->tag_at(i));
      if (m && !log_writable_or_reply(s, f.header.request_id, *m->leased_from)) return;
    }
  }
  for (uint32_t i = 0; i < req->count(); ++i) {
    const uint64_t tag = req->tag_at(i);
    Message* m = s.find_lease(tag);
    if (!m) {
      reply.missing.push_back(tag);
      continue;
    }
    Queue& q = *m->leased_from;
    if (touched.empty() || touched.back() != &q) touched.push_back(&q);
    switch (kind) {
      case Kind::ack:
        q.ack(*m, /*serve=*/false);
        break;
      case Kind::nack:
        q.nack(*m, req->ms, priority, /*serve=*/false);
        break;
      case Kind::touch:
        q.touch(*m, req->ms);
        break;
      default:
        q.reject(*m, /*serve=*/false);
        break;
    }
    ++reply.settled;
  }
  std::sort(touched.begin(), touched.end());
  touched.erase(std::unique(touched.begin(), touched.end()), touched.end());
  for (Queue* q : touched) {
    q->resume();
    s.hold_for(*q);
  }
  proto::encode(kind, reply, s.output(), f.header.request_id);
}

}  // namespace postbox::broker
