// Dispatch: the kind switch, HELLO ordering, and the shared lookup helper.
#include "broker/dispatch.hpp"

#include <algorithm>
#include <cstdio>

#include "broker/handlers.hpp"
#include "proto/messages.hpp"

namespace postbox::broker {

using proto::Errc;
using proto::Kind;

void dispatch(Session& s, const proto::Frame& f) {
  const uint32_t rid = f.header.request_id;
  if (!s.greeted() && f.header.kind != Kind::hello) {
    s.fail_protocol(rid, "HELLO must be the first request on a connection");
    return;
  }
  // A version 1 session knows none of version 2's kinds: to it they are unknown.
  const bool v2 = s.version() >= proto::kVersionJobs;
  switch (f.header.kind) {
    case Kind::hello:
      return handle_hello(s, f);
    case Kind::declare:
      return handle_declare(s, f);
    case Kind::remove:
      return handle_delete(s, f);
    case Kind::purge:
      return handle_purge(s, f);
    case Kind::stat:
      return handle_stat(s, f);
    case Kind::list:
      return handle_list(s, f);
    case Kind::send:
      return handle_send(s, f);
    case Kind::receive:
      return handle_receive(s, f);
    case Kind::move:
      if (v2) return handle_move(s, f);
      break;
    case Kind::ack:
    case Kind::nack:
    case Kind::touch:
    case Kind::reject:
      if (v2) return handle_settle(s, f);
      break;
    case Kind::consume:
      if (v2) return handle_consume(s, f);
      break;
    case Kind::cancel:
      if (v2) return handle_cancel(s, f);
      break;
    case Kind::bind:
      if (v2) return handle_bind(s, f);
      break;
    case Kind::unbind:
      if (v2) return handle_unbind(s, f);
      break;
    case Kind::bindings:
      if (v2) return handle_bindings(s, f);
      break;
    case Kind::publish:
      if (v2) return handle_publish(s, f);
      break;
    case Kind::status:
      if (v2) return handle_status(s, f);
      break;
    case Kind::deliver:
    case Kind::error:
      break;
  }
  char text[80];
  const auto raw = static_cast<unsigned>(f.header.kind);
  if (proto::is_reply(f.header.kind)) {
    std::snprintf(text, sizeof text, "a client may not send reply frames (kind 0x%04x)", raw);
    s.fail_protocol(rid, text);
    return;
  }
  // The framing is intact, so a newer client's unknown request is refused
  // without dropping the connection.
  std::snprintf(text, sizeof text, "unknown request kind 0x%04x", raw);
  s.reply_error(rid, Errc::invalid_argument, text);
}

std::string quoted_queue(std::string_view name) {
  std::string q = "queue '";
  q.append(name);
  q += '\'';
  return q;
}

Queue* find_queue_or_reply(Session& s, uint32_t rid, std::string_view name) {
  if (!valid_queue_name(name)) {
    s.reply_error(rid, Errc::invalid_argument,
                  "invalid queue name '" + shown(name) + "': use 1-255 bytes of A-Z a-z 0-9 . _ -");
    return nullptr;
  }
  Queue* q = s.context().store.find(name);
  if (!q) s.reply_error(rid, Errc::no_such_queue, "no such queue '" + shown(name) + "'");
  return q;
}

std::string log_failing_text(Session& s, const Queue& q) {
  return quoted_queue(q.name()) + " is durable and its log cannot be written (" +
         s.context().journal.error() + "); nothing was changed";
}

bool log_writable_or_reply(Session& s, uint32_t rid, const Queue& q) {
  if (!q.durable() || !s.context().journal.failing()) return true;
  s.reply_error(rid, Errc::storage_error, log_failing_text(s, q));
  return false;
}

bool log_takes_sends_or_reply(Session& s, uint32_t rid, const Queue& q) {
  if (!log_writable_or_reply(s, rid, q)) return false;
  const journal::DiskSpace& space = s.context().journal.space();
  if (!q.durable() || !space.low()) return true;
  s.reply_error(rid, Errc::storage_error,
                quoted_queue(q.name()) + " is durable and the disk of its log is nearly full (" +
                    space.why() +
                    "); sends are refused until space returns, receives and acks go on; "
                    "nothing was sent");
  return false;
}

bool may_take_or_reply(Session& s, uint32_t rid, const Queue& q, std::string_view action) {
  if (!may_read(q.attributes().owner, s.peer())) {
    s.reply_error(rid, Errc::permission_denied,
                  "permission denied: uid " + std::to_string(s.peer().uid) + " may not " +
                      std::string(action) + " " + quoted_queue(q.name()));
    return false;
  }
  const uint64_t owner = q.attributes().temporary_owner;
  if (owner != 0 && owner != s.id()) {
    s.reply_error(rid, Errc::permission_denied,
                  "permission denied: " + quoted_queue(q.name()) +
                      " is a temporary queue of connection " + std::to_string(owner) +
                      "; only that connection may " + std::string(action) + " it");
    return false;
  }
  return true;
}

void handle_hello(Session& s, const proto::Frame& f) {
  const uint32_t rid = f.header.request_id;
  if (s.greeted()) return s.fail_protocol(rid, "HELLO sent twice");
  auto hello = proto::decode_hello(f.body);
  if (!hello) return s.fail_protocol(rid, "malformed HELLO (wrong magic or length)");
  if (hello->version < 1) {
    s.reply_error(rid, Errc::unsupported_version,
                  "protocol version 0 is not supported; this broker speaks 1 and 2");
    return;
  }
  const auto version = std::min<uint16_t>(hello->version, proto::kVersion);
  s.set_greeted(version);
  const auto& cfg = s.context().config;
  proto::HelloReply reply;
  reply.version = version;
  reply.max_frame_body = cfg.max_frame_size;
  reply.max_message_size = s.context().store.message_size_ceiling();
  reply.broker_version = s.context().broker_version;
  proto::encode(reply, s.output(), rid);
}

}  // namespace postbox::broker
