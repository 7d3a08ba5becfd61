// JSON bodies of the administration requests and replies (PROTOCOL.md section 7).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "postbox/types.hpp"

namespace postbox::detail {

/// {"queue": ..., and each option that is set}
std::string declare_request(std::string_view queue, const QueueOptions& options);
/// {"queue": ...} for DELETE, PURGE and STAT.
std::string queue_request(std::string_view queue);
/// {} for LIST and STATUS.
std::string list_request();
std::string status_request();
/// {"source", "destination", and "count" / "type" when set} for MOVE.
std::string move_request(std::string_view source, std::string_view destination,
                         const MoveOptions& options);
/// {"queue", "pattern"} for BIND and UNBIND.
std::string bind_request(std::string_view queue, std::string_view pattern);
/// {} or {"queue": ...} for BINDINGS.
std::string bindings_request(std::optional<std::string_view> queue);
/// True when `options` sets a key (or value) a version 1 broker does not know.
bool declare_needs_jobs(const QueueOptions& options) noexcept;

// Reply parsers: unknown keys are ignored (PROTOCOL.md section 10); a missing
// or mistyped known key throws Error(protocol_error) naming it. Keys new in
// version 2 may be missing (a version 1 broker); mistyped they throw too.

DeclareResult parse_declare_reply(std::string_view json);
QueueStat parse_stat_reply(std::string_view json);
std::vector<QueueSummary> parse_list_reply(std::string_view json);
/// The rows and the top-level "log" (absent from a broker without a log).
QueueList parse_queue_list_reply(std::string_view json);
/// Every key of STATUS is required: it is new with the log, so no older broker answers it.
BrokerStatus parse_status_reply(std::string_view json);
uint64_t parse_purge_reply(std::string_view json);
MoveResult parse_move_reply(std::string_view json);
/// DELETE's reply must be a JSON object; its content is ignored.
void parse_delete_reply(std::string_view json);
/// BIND's "created", UNBIND's "removed".
bool parse_bind_reply(std::string_view json);
bool parse_unbind_reply(std::string_view json);
Bindings parse_bindings_reply(std::string_view json);

}  // namespace postbox::detail
