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
/// {correlation_id, reply_to, headers}, sender_pid, sender_uid,
/// enqueue_time_ns, truncated, delivery_tag, delivery_count. A header key
/// that repeats maps to an array of its values in send order.
std::string message_json(const Message& m);

/// The stat object with the wire's keys (PROTOCOL.md 7.4), one line.
std::string stat_json(const QueueStat& s);
/// "key  value" lines for people: mode in octal, times in UTC.
std::string stat_text(const QueueStat& s);
/// {"queues":[{"name","depth","bytes"}...]}, one line.
std::string list_json(const std::vector<QueueSummary>& queues);
/// A table with a NAME DEPTH BYTES header.
std::string list_text(const std::vector<QueueSummary>& queues);
/// {"created": bool, "queue": stat}, one line.
std::string declare_json(const DeclareResult& r);
/// "queue 'jobs' created" or "queue 'jobs' exists".
std::string declare_text(const DeclareResult& r);

/// The one stderr line for a failed request (without "postbox: " or newline):
/// the broker's message when it sent one, else a text naming `queue`, e.g.
/// "queue 'jobs' is full".
std::string failure_text(Errc code, std::string_view broker_message, std::string_view queue);
/// Same for a thrown Error (whose message is the category's text when the
/// broker sent none).
std::string failure_text(const Error& e, std::string_view queue);

}  // namespace postbox::cli
