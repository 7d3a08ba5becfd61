// The request handlers, one per kind; reached only through dispatch().
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "broker/session.hpp"
#include "proto/decoder.hpp"

namespace postbox::broker {

void handle_hello(Session& s, const proto::Frame& f);
void handle_declare(Session& s, const proto::Frame& f);
void handle_delete(Session& s, const proto::Frame& f);
void handle_purge(Session& s, const proto::Frame& f);
void handle_stat(Session& s, const proto::Frame& f);
void handle_list(Session& s, const proto::Frame& f);
void handle_send(Session& s, const proto::Frame& f);
void handle_receive(Session& s, const proto::Frame& f);
void handle_move(Session& s, const proto::Frame& f);
void handle_settle(Session& s, const proto::Frame& f);  // ACK, NACK, TOUCH, REJECT
void handle_consume(Session& s, const proto::Frame& f);
void handle_cancel(Session& s, const proto::Frame& f);
void handle_bind(Session& s, const proto::Frame& f);
void handle_unbind(Session& s, const proto::Frame& f);
void handle_bindings(Session& s, const proto::Frame& f);
void handle_publish(Session& s, const proto::Frame& f);
void handle_status(Session& s, const proto::Frame& f);

/// Whether a change to `q` can be kept now: true unless `q` is durable and
/// the journal cannot be written, in which case it answers storage_error
/// naming the queue and the write error, and returns false.
bool log_writable_or_reply(Session& s, uint32_t request_id, const Queue& q);
/// log_writable_or_reply(), and for a send: while the journal's disk is
/// below disk_free_limit a durable `q` takes no new messages (storage_error).
bool log_takes_sends_or_reply(Session& s, uint32_t request_id, const Queue& q);
/// The storage_error text for `q` while the journal is failing.
std::string log_failing_text(Session& s, const Queue& q);

/// Finds a queue by name for a request, or answers with invalid_argument
/// (bad name) / no_such_queue and returns nullptr.
Queue* find_queue_or_reply(Session& s, uint32_t request_id, std::string_view name);

/// Whether this connection may take messages from `q` (RECEIVE, CONSUME,
/// BIND, MOVE's source): read permission, and for a temporary queue being the
/// connection that declared it. Otherwise answers permission_denied naming
/// `action` ("receive from") and the queue, and returns false.
bool may_take_or_reply(Session& s, uint32_t request_id, const Queue& q, std::string_view action);

/// The body of a JSON request as an object (empty counts as {}), or nullopt
/// after answering invalid_argument ("<what> body must be a JSON object").
std::optional<nlohmann::json> parse_json_body(Session& s, const proto::Frame& f, const char* what);
/// Answers with `j` as the request's JSON reply, or resource_limit when it
/// would exceed the frame limit promised in HELLO_OK.
void reply_json(Session& s, const proto::Frame& f, const nlohmann::json& j);

/// "queue 'jobs'" — the way every message names a queue.
std::string quoted_queue(std::string_view name);

}  // namespace postbox::broker
