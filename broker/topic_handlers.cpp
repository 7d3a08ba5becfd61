// BIND, UNBIND, BINDINGS and PUBLISH: queues bound to topic patterns, and fan-out.
#include <string>
#include <vector>

#include "broker/admin_json.hpp"
#include "broker/batch_builder.hpp"
#include "broker/handlers.hpp"
#include "proto/messages.hpp"
#include "proto/properties.hpp"
#include "proto/topics.hpp"

namespace postbox::broker {

using nlohmann::json;
using proto::Errc;

namespace {

/// The queue and pattern of a BIND or UNBIND, checked; nullptr after replying.
Queue* binding_of(Session& s, const proto::Frame& f, const char* what, std::string& pattern) {
  auto body = parse_json_body(s, f, what);
  if (!body) return nullptr;
  const uint32_t rid = f.header.request_id;
  auto q = body->find("queue");
  auto p = body->find("pattern");
  if (q == body->end() || !q->is_string() || p == body->end() || !p->is_string()) {
    s.reply_error(rid, Errc::invalid_argument,
                  std::string(what) + ": keys 'queue' and 'pattern' (strings) are required");
    return nullptr;
  }
  pattern = p->get<std::string>();
  if (std::string why = pattern_problem(pattern); !why.empty()) {
    s.reply_error(rid, Errc::invalid_argument, std::string(what) + ": " + why);
    return nullptr;
  }
  Queue* queue = find_queue_or_reply(s, rid, q->get<std::string>());
  if (!queue) return nullptr;
  // Binding decides what a queue receives: the right of whoever reads it.
  return may_take_or_reply(s, rid, *queue, what == std::string_view("BIND") ? "bind" : "unbind")
             ? queue
             : nullptr;
}

}  // namespace

// BIND {"queue", "pattern"} -> {"created": bool}
void handle_bind(Session& s, const proto::Frame& f) {
  std::string pattern;
  Queue* q = binding_of(s, f, "BIND", pattern);
  if (!q) return;
  reply_json(s, f, {{"created", s.context().store.topics().bind(pattern, q)}});
}

// UNBIND {"queue", "pattern"} -> {"removed": bool}
void handle_unbind(Session& s, const proto::Frame& f) {
  std::string pattern;
  Queue* q = binding_of(s, f, "UNBIND", pattern);
  if (!q) return;
  reply_json(s, f, {{"removed", s.context().store.topics().unbind(pattern, q)}});
}

// BINDINGS {"queue"?} -> {"bindings": [{"queue", "pattern"}], counters}
void handle_bindings(Session& s, const proto::Frame& f) {
  auto body = parse_json_body(s, f, "BINDINGS");
  if (!body) return;
  auto& store = s.context().store;
  json list = json::array();
  if (auto it = body->find("queue"); it != body->end()) {
    if (!it->is_string()) {
      return s.reply_error(f.header.request_id, Errc::invalid_argument,
                           "BINDINGS: key 'queue' must be a string");
    }
    Queue* q = find_queue_or_reply(s, f.header.request_id, it->get<std::string>());
    if (!q) return;
    if (may_read(q->attributes().owner, s.peer())) {
      for (const std::string& p : store.topics().bindings_of(q))
        list.push_back({{"queue", q->name()}, {"pattern", p}});
    }
  } else {
    for (const auto& [pattern, q] : store.topics().bindings()) {
      if (may_read(q->attributes().owner, s.peer()))
        list.push_back({{"queue", q->name()}, {"pattern", pattern}});
    }
  }
  const auto& c = store.topic_counters();
  reply_json(s, f,
             {{"bindings", list},
              {"published_total", c.published_total},
              {"unroutable_total", c.unroutable_total},
              {"denied_total", c.denied_total},
              {"dropped_total", c.dropped_total},
              {"copies_total", c.copies_total}});
}

// PUBLISH: a SEND body addressed to a topic; one copy into every bound queue.
void handle_publish(Session& s, const proto::Frame& f) {
  const uint32_t rid = f.header.request_id;
  if (!well_framed(f.body)) return s.fail_protocol(rid, "malformed PUBLISH");
  proto::SendReader reader;
  reader.open(f.body);
  const proto::SendHeader h = reader.header();
  if (h.timeout_ms != 0) return s.fail_protocol(rid, "malformed PUBLISH (timeout_ms must be 0)");
  const std::string topic(h.queue);
  if (std::string why = topic_problem(topic); !why.empty()) {
    return s.reply_error(rid, Errc::invalid_argument, "PUBLISH: " + why);
  }
  std::string stamp;
  proto::append_entry(proto::PropTag::topic, topic, stamp);
  Errc code = Errc::ok;
  std::string problem;
  Batch batch = build_batch(s, f.body, nullptr, code, problem, stamp);
  if (code != Errc::ok) return s.reply_error(rid, code, problem);

  auto& store = s.context().store;
  std::vector<Queue*> matched;
  store.topics().match(topic, matched);
  std::vector<Queue*> targets;
  proto::PublishReply out;
  for (Queue* q : matched) {
    if (may_write(q->attributes().owner, s.peer())) {
      targets.push_back(q);
    } else {
      ++out.denied;  // not leaked, not an error to the others
    }
  }
  // All or nothing: a queue that refuses (full under reject, too small) fails
  // the publish for every queue, naming the one that refused. A full queue
  // under drop-new only loses its own copy.
  std::vector<Queue*> full_dropping;
  for (Queue* q : targets) {
    if (!log_takes_sends_or_reply(s, rid, *q)) return;  // nothing published
    const Errc refused = q->check_send(batch);
    if (refused == Errc::ok) continue;
    if (refused == Errc::queue_full &&
        q->attributes().limits.overflow == config::Overflow::drop_new) {
      full_dropping.push_back(q);
      continue;
    }
    const auto& l = q->attributes().limits;
    if (refused == Errc::queue_full) {
      return s.reply_error(rid, refused,
                           quoted_queue(q->name()) + " is full (max_messages " +
                               std::to_string(l.max_messages) + ", max_bytes " +
                               std::to_string(l.max_bytes) + "); nothing was published");
    }
    return s.reply_error(rid, refused,
                         quoted_queue(q->name()) + " cannot take this publication (" +
                             std::string(proto::to_string(refused)) + "); nothing was published");
  }
  for (Queue* q : full_dropping) {
    q->count_publication(batch.messages.size(), /*dropped=*/true);
    ++out.dropped;
    std::erase(targets, q);
  }
  for (std::size_t i = 0; i < targets.size(); ++i) {
    Batch copy;
    if (i + 1 == targets.size()) {
      copy = std::move(batch);  // the last queue takes the originals
    } else {
      copy.payload_bytes = batch.payload_bytes;
      copy.messages.reserve(batch.messages.size());
      for (const MessagePtr& m : batch.messages)
        copy.messages.push_back(std::make_unique<Message>(*m));  // hooks copy unlinked
    }
    uint64_t first = 0;
    const std::size_t n = copy.messages.size();
    if (targets[i]->send(copy, s.peer(), first) != Errc::ok) continue;
    targets[i]->count_publication(n, /*dropped=*/false);
    s.hold_for(*targets[i]);
    ++out.queues;
  }
  auto& c = store.topic_counters();
  ++c.published_total;
  if (out.queues == 0) ++c.unroutable_total;
  c.denied_total += out.denied;
  c.dropped_total += out.dropped;
  c.copies_total += out.queues;
  proto::encode(out, s.output(), rid);
}

}  // namespace postbox::broker
