// DECLARE, DELETE, PURGE, STAT, LIST: the administrative requests, with JSON bodies.

#include <unistd.h>

#include <algorithm>

#include "broker/admin_json.hpp"
#include "broker/clock.hpp"
#include "broker/consumer.hpp"
#include "broker/handlers.hpp"
#include "proto/messages.hpp"

namespace postbox::broker {

using nlohmann::json;
using proto::Errc;
using proto::Kind;

namespace {

/// The queue named by the body's "queue" key, or nullptr after replying.
Queue* queue_of(Session& s, const proto::Frame& f, const char* what) {
  auto body = parse_json_body(s, f, what);
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

std::optional<json> parse_json_body(Session& s, const proto::Frame& f, const char* what) {
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

/// The stat object with the queue's push consumers (oldest first) and bindings.
json queue_stat(Session& s, Queue& q) {
  json j = stat_json(q);
  const uint64_t log_total = s.context().journal.status().bytes;
  j["log_share"] = log_total == 0
                       ? 0.0
                       : static_cast<double>(q.log_state().bytes) / static_cast<double>(log_total);
  j["bindings"] = s.context().store.topics().bindings_of(&q);
  // drop-new differs from reject only for PUBLISH, which version 1 lacks.
  if (s.version() < proto::kVersionJobs &&
      q.attributes().limits.overflow == config::Overflow::drop_new)
    j["overflow"] = "reject";
  std::vector<const Consumer*> found;
  auto [first, last] = s.context().consumers.equal_range(&q);
  for (auto it = first; it != last; ++it) found.push_back(it->second);
  std::sort(found.begin(), found.end(), [](const Consumer* a, const Consumer* b) {
    return a->session().id() != b->session().id() ? a->session().id() < b->session().id()
                                                  : a->id() < b->id();
  });
  for (const Consumer* c : found) {
    j["consumers"].push_back({{"consumer", c->id()},
                              {"connection", c->session().id()},
                              {"pid", c->session().peer().pid},
                              {"type", c->spec.selector.type},
                              {"except", c->spec.selector.is_except()},
                              {"ack", c->ack()},
                              {"prefetch", c->prefetch()},
                              {"unacked", c->unacked()}});
  }
  return j;
}

// DECLARE {"queue", "exclusive"?, "max_messages"?, "max_bytes"?, "max_message_size"?, "mode"?,
// "overflow"?}
void handle_declare(Session& s, const proto::Frame& f) {
  auto body = parse_json_body(s, f, "DECLARE");
  if (!body) return;
  auto parsed = parse_declare(*body);
  if (auto* err = std::get_if<std::string>(&parsed)) {
    return s.reply_error(f.header.request_id, Errc::invalid_argument, *err);
  }
  DeclareSpec& spec = std::get<DeclareSpec>(parsed);
  if (s.version() < proto::kVersionJobs) {
    // Version 1 knows none of the job keys: to it they are unknown keys.
    for (const auto& [key, unused] : body->items()) {
      if (key == "max_deliveries" || key == "dead_letter" || key == "lease_ms" || key == "ttl_ms" ||
          key == "temporary" || key == "durable") {
        return s.reply_error(f.header.request_id, Errc::invalid_argument,
                             "DECLARE: unknown key '" + key + "' (protocol version 2 only)");
      }
    }
  }
  if (spec.temporary) spec.temporary_for = s.id();
  auto r = s.context().store.declare(spec, s.peer(), realtime_ns());
  if (r.code != Errc::ok) return s.reply_error(f.header.request_id, r.code, r.error);
  if (spec.temporary) s.own_temporary(r.queue->name());
  s.hold_for(*r.queue);
  reply_json(s, f, {{"created", r.created}, {"queue", queue_stat(s, *r.queue)}});
}

// DELETE {"queue"}
void handle_delete(Session& s, const proto::Frame& f) {
  Queue* q = queue_of(s, f, "DELETE");
  if (!q) return;
  if (!may_admin(q->attributes().owner, s.peer()))
    return deny(s, f.header.request_id, "delete", *q);
  if (!log_writable_or_reply(s, f.header.request_id, *q)) return;
  const bool durable = q->durable();
  s.context().store.remove(*q);
  if (durable) s.hold_for_log();
  reply_json(s, f, json::object());
}

// PURGE {"queue"}
void handle_purge(Session& s, const proto::Frame& f) {
  Queue* q = queue_of(s, f, "PURGE");
  if (!q) return;
  if (!may_admin(q->attributes().owner, s.peer())) return deny(s, f.header.request_id, "purge", *q);
  if (!log_writable_or_reply(s, f.header.request_id, *q)) return;
  const uint64_t purged = q->purge();
  s.hold_for(*q);
  reply_json(s, f, {{"purged", purged}});
}

// STAT {"queue"}
void handle_stat(Session& s, const proto::Frame& f) {
  Queue* q = queue_of(s, f, "STAT");
  if (!q) return;
  if (!may_read(q->attributes().owner, s.peer())) return deny(s, f.header.request_id, "stat", *q);
  reply_json(s, f, queue_stat(s, *q));
}

// MOVE {"source", "destination", "count"?, "type"?}
void handle_move(Session& s, const proto::Frame& f) {
  const uint32_t rid = f.header.request_id;
  auto body = parse_json_body(s, f, "MOVE");
  if (!body) return;
  auto name = [&](const char* key) -> std::optional<std::string> {
    auto it = body->find(key);
    if (it == body->end() || !it->is_string()) {
      s.reply_error(rid, Errc::invalid_argument,
                    std::string("MOVE: key '") + key + "' (a queue name) is required");
      return std::nullopt;
    }
    return it->get<std::string>();
  };
  auto source = name("source");
  if (!source) return;
  auto destination = name("destination");
  if (!destination) return;
  uint64_t count = UINT64_MAX;
  if (auto it = body->find("count"); it != body->end()) {
    if (!it->is_number_unsigned()) {
      return s.reply_error(rid, Errc::invalid_argument,
                           "MOVE: key 'count' must be an unsigned integer");
    }
    count = it->get<uint64_t>();
  }
  int64_t type = 0;
  if (auto it = body->find("type"); it != body->end()) {
    if (!it->is_number_integer()) {
      return s.reply_error(rid, Errc::invalid_argument, "MOVE: key 'type' must be an integer");
    }
    type = it->get<int64_t>();
  }
  Queue* from = find_queue_or_reply(s, rid, *source);
  if (!from) return;
  Queue* to = find_queue_or_reply(s, rid, *destination);
  if (!to) return;
  if (from == to) {
    return s.reply_error(rid, Errc::invalid_argument,
                         "MOVE: source and destination are the same queue");
  }
  if (!may_take_or_reply(s, rid, *from, "move from")) return;
  if (!may_write(to->attributes().owner, s.peer())) return deny(s, rid, "move to", *to);
  if (!log_writable_or_reply(s, rid, *from) || !log_writable_or_reply(s, rid, *to)) return;
  const MoveResult r = s.context().store.move(*from, *to, Selector{type, false}, count);
  s.hold_for(*from);
  s.hold_for(*to);
  json reply = {{"moved", r.moved}, {"merged", r.merged}};
  if (r.stopped != Errc::ok) reply["stopped"] = std::string(proto::to_string(r.stopped));
  reply_json(s, f, reply);
}

// LIST {}
void handle_list(Session& s, const proto::Frame& f) {
  if (!parse_json_body(s, f, "LIST")) return;
  json queues = json::array();
  for (Queue* q : s.context().store.all()) {
    if (!may_read(q->attributes().owner, s.peer())) continue;
    queues.push_back({{"name", q->name()},
                      {"depth", q->depth()},
                      {"bytes", q->bytes()},
                      {"bindings", s.context().store.topics().count_of(q)},
                      {"durable", q->durable()}});
  }
  const journal::JournalStatus log = s.context().journal.status();
  reply_json(s, f,
             {{"queues", queues}, {"log", {{"bytes", log.bytes}, {"segments", log.segments}}}});
}

// STATUS {}
void handle_status(Session& s, const proto::Frame& f) {
  if (!parse_json_body(s, f, "STATUS")) return;
  Context& ctx = s.context();
  uint64_t durable = 0;
  for (Queue* q : ctx.store.all()) durable += q->durable() ? 1 : 0;
  const journal::JournalStatus log = ctx.journal.status();
  const journal::JournalOptions& opts = ctx.journal.options();
  reply_json(s, f,
             {{"version", ctx.broker_version},
              {"pid", static_cast<uint64_t>(::getpid())},
              {"uptime_ms", (steady_ns() - ctx.started_ns) / 1'000'000},
              {"connections", ctx.connections},
              {"queues", ctx.store.size()},
              {"durable_queues", durable},
              {"log",
               {{"data_dir", opts.data_dir},
                {"fsync", std::string(config::to_string(opts.fsync))},
                {"fsync_interval_ms", opts.fsync_interval_ms},
                {"segment_size", opts.segment_size},
                {"disk_free_limit", opts.disk_free_limit},
                {"free_bytes", log.free_bytes},
                {"bytes", log.bytes},
                {"segments", log.segments},
                {"live_bytes", log.live_bytes},
                {"records_total", log.records_total},
                {"writes_total", log.writes_total},
                {"syncs_total", log.syncs_total},
                {"recovered_messages", log.recovered_messages},
                {"recovery_ms", log.recovery_ms},
                {"state", log.failing     ? "failing"
                          : log.low_space ? "low_space"
                                          : "ok"},
                {"error", log.failing     ? log.error
                          : log.low_space ? ctx.journal.space().why()
                                          : std::string()}}}});
}

}  // namespace postbox::broker
