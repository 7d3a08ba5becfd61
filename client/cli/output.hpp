// Everything postbox prints: text and --json forms of messages, queues and errors.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "postbox/error.hpp"
#include "postbox/types.hpp"

namespace postbox::cli {

/// True when `s` is well-formed UTF-8 (no overlongs, surrogates or code points above U+10FFFF).
bool is_valid_utf8(std::string_view s) noexcept;
/// Standard base64 (RFC 4648) with padding.
std::string base64(std::string_view bytes);

/// One message as a one-line JSON object, no newline: id, type, priority,
/// payload (UTF-8 text, else base64 with "encoding":"base64"), properties
/// {correlation_id, reply_to, headers, topic}, sender_pid, sender_uid,
/// enqueue_time_ns, truncated, delivery_tag, delivery_count, and "tag" (the
/// delivery tag again, for `postbox ack`) when the message is leased. A
/// header key that repeats maps to an array of its values in send order.
std::string message_json(const Message& m);

/// send's output: the id; with --key (`keyed`) also whether it was a
/// duplicate, then with the held message's id: "42" / "42 duplicate";
/// {"id":42} / {"id":42,"duplicate":true}.
std::string send_text(const SendResult& r, bool keyed);
std::string send_json(const SendResult& r, bool keyed);

/// The failure line of a settle whose tags named no lease, e.g. "no lease
/// with tags 5, 7 (expired, settled already, or not yours to settle); 1 of
/// 3 settled".
std::string missing_leases_text(const std::vector<uint64_t>& missing, std::size_t tags);

/// move's output: "moved 3 messages from 'a' to 'b'", with ", 1 merged
/// into a message holding its key" when some were; {"moved":3,"merged":1},
/// with "stopped" when the move stopped early.
std::string move_text(const MoveResult& r, std::string_view source, std::string_view destination);
std::string move_json(const MoveResult& r);

/// The stat object with the wire's keys (PROTOCOL.md 7.4), one line.
/// `jobs`: the broker speaks version 2; without it the version 2 keys
/// (leases, dead letters, consumers) are left out rather than shown as zeros.
std::string stat_json(const QueueStat& s, bool jobs = true);
/// "key  value" lines for people: mode in octal, times in UTC, then one
/// line per consumer.
std::string stat_text(const QueueStat& s, bool jobs = true);
/// {"queues":[{"name","depth","bytes","bindings"}...]}, one line; `jobs`
/// false (a version 1 broker): without "bindings".
std::string list_json(const std::vector<QueueSummary>& queues, bool jobs = true);
/// A table with a NAME DEPTH BYTES BINDINGS header (no BINDINGS without `jobs`).
std::string list_text(const std::vector<QueueSummary>& queues, bool jobs = true);
/// The same for a broker with a log (`list.log` set): each row gains
/// "durable", the object a top-level "log": {"bytes","segments"}; the table a
/// DURABLE column (yes/no) and a last line "log  BYTES bytes in N segments".
/// Without list.log, as the forms above.
std::string queue_list_json(const QueueList& list, bool jobs = true);
std::string queue_list_text(const QueueList& list, bool jobs = true);
/// STATUS with the wire's keys (PROTOCOL.md), one line.
std::string status_json(const BrokerStatus& s);
/// "key  value" lines for people: uptime as days/h/min/s, the fsync policy
/// with its interval, the log's size and counters, its state and error.
std::string status_text(const BrokerStatus& s);
/// {"created": bool, "queue": stat}, one line.
std::string declare_json(const DeclareResult& r, bool jobs = true);
/// "queue 'jobs' created" or "queue 'jobs' exists".
std::string declare_text(const DeclareResult& r);

/// publish's output: how many queues took it ("2"); {"queues":2,"denied":0,"dropped":0}.
std::string publish_text(const PublishResult& r);
std::string publish_json(const PublishResult& r);
/// bind/unbind: "bound 'q' to 'a.*'" / "'q' was already bound to 'a.*'",
/// "unbound ..." / "'q' was not bound to 'a.*'"; {"created":b} / {"removed":b}.
std::string bind_text(bool bind, bool changed, std::string_view queue, std::string_view pattern);
std::string bind_json(bool bind, bool changed);
/// A QUEUE PATTERN table, sorted by queue then pattern.
std::string bindings_text(const Bindings& b);
/// {"bindings":[{"queue","pattern"}...],"published_total",...} with the reply's counters.
std::string bindings_json(const Bindings& b);

/// The one stderr line for a failed request (without "postbox: " or newline):
/// the broker's message when it sent one, else a text naming `queue`, e.g.
/// "queue 'jobs' is full".
std::string failure_text(Errc code, std::string_view broker_message, std::string_view queue);
/// Same for a thrown Error (whose message is the category's text when the
/// broker sent none).
std::string failure_text(const Error& e, std::string_view queue);

}  // namespace postbox::cli
