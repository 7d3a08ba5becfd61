// DECLARE, DELETE, PURGE, STAT, LIST: the administrative requests, with JSON bodies.

#include "broker/admin_json.hpp"
#include "broker/clock.hpp"
#include "broker/handlers.hpp"
#include "proto/messages.hpp"

namespace postbox::broker {

using nlohmann::json;
using proto::Errc;
using proto::Kind;

namespace {

/// Parses the body as a JSON object, or answers invalid_argument.
std::optional<json> parse_body(Session& s, const proto::Frame& f, const char* what) {
  auto text = std::string_view(reinterpret_cast<const char*>(f.body.data()), f.body.size());
  if (text.empty()) text = "{}";  // LIST has nothing to say
  json body = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (body.is_discarded() || !body.is_object()) {
    s.reply_error(f.header.request_id, Errc::invalid_argument,
                  std::string(what) + " body must be a JSON object");
    return std::nullopt;
  }
  return body;
}

void reply_json(Session& s, const proto::Frame& f, const json& j) {
  const std::string text = j.dump();
  const uint32_t limit = s.context().config.max_frame_size;
  if (text.size() > limit) {
    // The client was promised no frame above the limit (HELLO_OK).
    return s.reply_error(f.header.request_id, Errc::resource_limit,
                         "the reply of " + std::to_string(text.size()) +
                             " bytes exceeds max_frame_size " + std::to_string(limit));
  }
  proto::encode_json(proto::reply_kind(f.header.kind), text, s.output(), f.header.request_id);
}

/// The queue named by the body's "queue" key, or nullptr after replying.
Queue* queue_of(Session& s, const proto::Frame& f, const char* what) {
  auto body = parse_body(s, f, what);
  if (!body) return nullptr;
  auto it = body->find("queue");
  if (it == body->end() || !it->is_string()) {
    s.reply_error(f.header.request_id, Errc::invalid_argument,
                  std::string(what) + ": key 'queue' (a string) is required");
    return nullptr;
  }
  return find_queue_or_reply(s, f.header.request_id, it->get<std::string>());
}

void deny(Session& s, uint32_t rid, const char* action, const Queue& q) {
  s.reply_error(rid, Errc::permission_denied,
                "permission denied: uid " + std::to_string(s.peer().uid) + " may not " + action +
                    " " + quoted_queue(q.name()) + " (owner uid " +
                    std::to_string(q.attributes().owner.uid) + ")");
}

}  // namespace

// DECLARE {"queue", "exclusive"?, "max_messages"?, "max_bytes"?, "max_message_size"?, "mode"?,
// "overflow"?}
void handle_declare(Session& s, const proto::Frame& f) {
  auto body = parse_body(s, f, "DECLARE");
  if (!body) return;
  auto parsed = parse_declare(*body);
  if (auto* err = std::get_if<std::string>(&parsed)) {
    return s.reply_error(f.header.request_id, Errc::invalid_argument, *err);
  }
  auto r = s.context().store.declare(std::get<DeclareSpec>(parsed), s.peer(), realtime_ns());
  if (r.code != Errc::ok) return s.reply_error(f.header.request_id, r.code, r.error);
  reply_json(s, f, {{"created", r.created}, {"queue", stat_json(*r.queue)}});
}

// DELETE {"queue"}
void handle_delete(Session& s, const proto::Frame& f) {
  Queue* q = queue_of(s, f, "DELETE");
  if (!q) return;
  if (!may_admin(q->attributes().owner, s.peer()))
    return deny(s, f.header.request_id, "delete", *q);
  s.context().store.remove(*q);
  reply_json(s, f, json::object());
}

// PURGE {"queue"}
void handle_purge(Session& s, const proto::Frame& f) {
  Queue* q = queue_of(s, f, "PURGE");
  if (!q) return;
  if (!may_admin(q->attributes().owner, s.peer())) return deny(s, f.header.request_id, "purge", *q);
  reply_json(s, f, {{"purged", q->purge()}});
}

// STAT {"queue"}
void handle_stat(Session& s, const proto::Frame& f) {
  Queue* q = queue_of(s, f, "STAT");
  if (!q) return;
  if (!may_read(q->attributes().owner, s.peer())) return deny(s, f.header.request_id, "stat", *q);
  reply_json(s, f, stat_json(*q));
}

// LIST {}
void handle_list(Session& s, const proto::Frame& f) {
  if (!parse_body(s, f, "LIST")) return;
  json queues = json::array();
  for (Queue* q : s.context().store.all()) {
    if (!may_read(q->attributes().owner, s.peer())) continue;
    queues.push_back({{"name", q->name()}, {"depth", q->depth()}, {"bytes", q->bytes()}});
  }
  reply_json(s, f, {{"queues", queues}});
}

}  // namespace postbox::broker
