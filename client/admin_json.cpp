// Admin JSON: builds request bodies and reads replies into the public structs.
#include "client/admin_json.hpp"

#include <limits>
#include <nlohmann/json.hpp>

#include "postbox/error.hpp"

namespace postbox::detail {

namespace {

using nlohmann::json;

Error bad_reply(std::string_view what) {
  return Error(Errc::protocol_error, "malformed reply from the broker: " + std::string(what));
}

json parse_object(std::string_view text) {
  json j = json::parse(text.begin(), text.end(), nullptr, /*allow_exceptions=*/false);
  if (!j.is_object()) throw bad_reply("not a JSON object");
  return j;
}

const json& member(const json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end()) throw bad_reply(std::string("missing key '") + key + "'");
  return *it;
}

template <class T>
T unsigned_member(const json& j, const char* key) {
  const json& v = member(j, key);
  if (!v.is_number_unsigned() || v.get<uint64_t>() > std::numeric_limits<T>::max())
    throw bad_reply(std::string("key '") + key + "' is not an unsigned integer in range");
  return static_cast<T>(v.get<uint64_t>());
}

std::string string_member(const json& j, const char* key) {
  const json& v = member(j, key);
  if (!v.is_string()) throw bad_reply(std::string("key '") + key + "' is not a string");
  return v.get<std::string>();
}

template <class T>
void read_uint(const json& j, const char* key, T& out) {
  out = unsigned_member<T>(j, key);
}

std::map<unsigned, uint64_t> read_depths(const json& j) {
  const json& v = member(j, "depth_per_priority");
  if (!v.is_object()) throw bad_reply("key 'depth_per_priority' is not an object");
  std::map<unsigned, uint64_t> out;
  for (const auto& [key, count] : v.items()) {
    unsigned prio = 0;
    bool digits =
        !key.empty() && key.size() <= 3 && key.find_first_not_of("0123456789") == std::string::npos;
    if (digits) prio = static_cast<unsigned>(std::stoul(key));
    if (!digits || prio > 255 || !count.is_number_unsigned())
      throw bad_reply("bad entry '" + key + "' in 'depth_per_priority'");
    out[prio] = count.get<uint64_t>();
  }
  return out;
}

/// Version 2 keys: read when present (a version 1 broker sends none of them).
template <class T>
void read_optional_uint(const json& j, const char* key, T& out) {
  if (j.contains(key)) out = unsigned_member<T>(j, key);
}

bool bool_member(const json& j, const char* key) {
  const json& v = member(j, key);
  if (!v.is_boolean()) throw bad_reply(std::string("key '") + key + "' is not a boolean");
  return v.get<bool>();
}

int64_t signed_member(const json& j, const char* key) {
  const json& v = member(j, key);
  if (!v.is_number_integer() ||
      (v.is_number_unsigned() && v.get<uint64_t>() > std::numeric_limits<int64_t>::max()))
    throw bad_reply(std::string("key '") + key + "' is not an integer in range");
  return v.get<int64_t>();
}

std::vector<std::string> string_array(const json& j, const char* key) {
  const json& v = member(j, key);
  if (!v.is_array()) throw bad_reply(std::string("key '") + key + "' is not an array");
  std::vector<std::string> out;
  out.reserve(v.size());
  for (const json& e : v) {
    if (!e.is_string()) throw bad_reply(std::string("an entry of '") + key + "' is not a string");
    out.push_back(e.get<std::string>());
  }
  return out;
}

std::vector<ConsumerStat> read_consumers(const json& j) {
  std::vector<ConsumerStat> out;
  if (!j.contains("consumers")) return out;
  const json& list = j["consumers"];
  if (!list.is_array()) throw bad_reply("key 'consumers' is not an array");
  for (const json& c : list) {
    if (!c.is_object()) throw bad_reply("an entry of 'consumers' is not an object");
    ConsumerStat s;
    read_uint(c, "consumer", s.consumer);
    read_uint(c, "connection", s.connection);
    read_uint(c, "pid", s.pid);
    s.type = signed_member(c, "type");
    s.except = bool_member(c, "except");
    s.ack = bool_member(c, "ack");
    read_uint(c, "prefetch", s.prefetch);
    read_uint(c, "unacked", s.unacked);
    out.push_back(s);
  }
  return out;
}

double number_member(const json& j, const char* key) {
  const json& v = member(j, key);
  if (!v.is_number()) throw bad_reply(std::string("key '") + key + "' is not a number");
  return v.get<double>();
}

/// Keys of durable queues: absent from a broker without a log.
void read_durable_keys(const json& j, QueueStat& s) {
  if (j.contains("durable")) s.durable = bool_member(j, "durable");
  read_optional_uint(j, "log_bytes", s.log_bytes);
  if (j.contains("log_share")) {
    s.log_share = number_member(j, "log_share");
    if (!(s.log_share >= 0 && s.log_share <= 1)) throw bad_reply("key 'log_share' is not in 0..1");
  }
}

const json& object_member(const json& j, const char* key) {
  const json& v = member(j, key);
  if (!v.is_object()) throw bad_reply(std::string("key '") + key + "' is not an object");
  return v;
}

LogStatus to_log_status(const json& j) {
  LogStatus l;
  l.data_dir = string_member(j, "data_dir");
  l.fsync = string_member(j, "fsync");
  read_uint(j, "fsync_interval_ms", l.fsync_interval_ms);
  read_uint(j, "segment_size", l.segment_size);
  read_uint(j, "disk_free_limit", l.disk_free_limit);
  read_uint(j, "free_bytes", l.free_bytes);
  read_uint(j, "bytes", l.bytes);
  read_uint(j, "segments", l.segments);
  read_uint(j, "live_bytes", l.live_bytes);
  read_uint(j, "records_total", l.records_total);
  read_uint(j, "writes_total", l.writes_total);
  read_uint(j, "syncs_total", l.syncs_total);
  read_uint(j, "recovered_messages", l.recovered_messages);
  read_uint(j, "recovery_ms", l.recovery_ms);
  l.state = string_member(j, "state");
  l.error = string_member(j, "error");
  return l;
}

void read_jobs_keys(const json& j, QueueStat& s) {
  read_optional_uint(j, "max_deliveries", s.max_deliveries);
  if (j.contains("dead_letter")) s.dead_letter = string_member(j, "dead_letter");
  read_optional_uint(j, "lease_ms", s.lease_ms);
  read_optional_uint(j, "ttl_ms", s.ttl_ms);
  read_optional_uint(j, "leased", s.leased);
  read_optional_uint(j, "delayed", s.delayed);
  read_optional_uint(j, "acked_total", s.acked_total);
  read_optional_uint(j, "nacked_total", s.nacked_total);
  read_optional_uint(j, "redelivered_total", s.redelivered_total);
  read_optional_uint(j, "lease_expired_total", s.lease_expired_total);
  read_optional_uint(j, "expired_total", s.expired_total);
  read_optional_uint(j, "dead_lettered_total", s.dead_lettered_total);
  read_optional_uint(j, "discarded_total", s.discarded_total);
  read_optional_uint(j, "deduplicated_total", s.deduplicated_total);
  read_optional_uint(j, "moved_in_total", s.moved_in_total);
  read_optional_uint(j, "moved_out_total", s.moved_out_total);
  s.consumers = read_consumers(j);
  if (j.contains("temporary")) s.temporary = bool_member(j, "temporary");
  if (j.contains("bindings")) s.bindings = string_array(j, "bindings");
  read_optional_uint(j, "published_total", s.published_total);
  read_durable_keys(j, s);
}

QueueStat to_stat(const json& j) {
  if (!j.is_object()) throw bad_reply("stat is not a JSON object");
  QueueStat s;
  s.name = string_member(j, "name");
  read_uint(j, "depth", s.depth);
  read_uint(j, "bytes", s.bytes);
  read_uint(j, "max_messages", s.max_messages);
  read_uint(j, "max_bytes", s.max_bytes);
  read_uint(j, "max_message_size", s.max_message_size);
  read_uint(j, "mode", s.mode);
  auto overflow = parse_overflow(string_member(j, "overflow"));
  if (!overflow) throw bad_reply("unknown 'overflow' value");
  s.overflow = *overflow;
  read_uint(j, "owner_uid", s.owner_uid);
  read_uint(j, "owner_gid", s.owner_gid);
  read_uint(j, "created_ns", s.created_ns);
  read_uint(j, "last_send_pid", s.last_send_pid);
  read_uint(j, "last_send_ns", s.last_send_ns);
  read_uint(j, "last_receive_pid", s.last_receive_pid);
  read_uint(j, "last_receive_ns", s.last_receive_ns);
  read_uint(j, "sent_total", s.sent_total);
  read_uint(j, "received_total", s.received_total);
  read_uint(j, "dropped_total", s.dropped_total);
  read_uint(j, "purged_total", s.purged_total);
  read_uint(j, "blocked_senders", s.blocked_senders);
  read_uint(j, "blocked_receivers", s.blocked_receivers);
  s.depth_per_priority = read_depths(j);
  read_jobs_keys(j, s);
  return s;
}

}  // namespace

std::string declare_request(std::string_view queue, const QueueOptions& options) {
  json j = {{"queue", queue}};
  if (options.exclusive) j["exclusive"] = true;
  if (options.max_messages) j["max_messages"] = *options.max_messages;
  if (options.max_bytes) j["max_bytes"] = *options.max_bytes;
  if (options.max_message_size) j["max_message_size"] = *options.max_message_size;
  if (options.mode) j["mode"] = *options.mode;
  if (options.overflow) j["overflow"] = to_string(*options.overflow);
  if (options.max_deliveries) j["max_deliveries"] = *options.max_deliveries;
  if (options.dead_letter) j["dead_letter"] = *options.dead_letter;
  if (options.lease) j["lease_ms"] = options.lease->count();
  if (options.ttl) j["ttl_ms"] = options.ttl->count();
  if (options.durable) j["durable"] = true;
  if (options.temporary) {
    j["temporary"] = true;
    if (queue.empty()) j.erase("queue");  // the broker names it
  }
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

std::string queue_request(std::string_view queue) {
  // Names with invalid UTF-8 are refused by the broker's name rules anyway;
  // replacing keeps dump() from throwing on them.
  return json{{"queue", queue}}.dump(-1, ' ', false, json::error_handler_t::replace);
}

std::string list_request() {
  return "{}";
}

std::string status_request() {
  return "{}";
}

std::string move_request(std::string_view source, std::string_view destination,
                         const MoveOptions& options) {
  json j = {{"source", source}, {"destination", destination}};
  if (options.count) j["count"] = *options.count;
  if (options.type != 0) j["type"] = options.type;
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

std::string bind_request(std::string_view queue, std::string_view pattern) {
  return json{{"queue", queue}, {"pattern", pattern}}.dump(-1, ' ', false,
                                                           json::error_handler_t::replace);
}

std::string bindings_request(std::optional<std::string_view> queue) {
  return queue ? queue_request(*queue) : "{}";
}

bool declare_needs_jobs(const QueueOptions& options) noexcept {
  return options.max_deliveries || options.dead_letter || options.lease || options.ttl ||
         options.temporary || options.durable || options.overflow == Overflow::drop_new;
}

DeclareResult parse_declare_reply(std::string_view text) {
  json j = parse_object(text);
  const json& created = member(j, "created");
  if (!created.is_boolean()) throw bad_reply("key 'created' is not a boolean");
  return {created.get<bool>(), to_stat(member(j, "queue"))};
}

QueueStat parse_stat_reply(std::string_view text) {
  return to_stat(parse_object(text));
}

std::vector<QueueSummary> parse_list_reply(std::string_view text) {
  return parse_queue_list_reply(text).queues;
}

QueueList parse_queue_list_reply(std::string_view text) {
  json j = parse_object(text);
  QueueList out;
  if (j.contains("log")) {
    const json& log = object_member(j, "log");
    LogSize size;
    read_uint(log, "bytes", size.bytes);
    read_uint(log, "segments", size.segments);
    out.log = size;
  }
  const json& queues = member(j, "queues");
  if (!queues.is_array()) throw bad_reply("key 'queues' is not an array");
  out.queues.reserve(queues.size());
  for (const json& q : queues) {
    if (!q.is_object()) throw bad_reply("an entry of 'queues' is not an object");
    QueueSummary s;
    s.name = string_member(q, "name");
    read_uint(q, "depth", s.depth);
    read_uint(q, "bytes", s.bytes);
    read_optional_uint(q, "bindings", s.bindings);
    if (q.contains("durable")) s.durable = bool_member(q, "durable");
    out.queues.push_back(std::move(s));
  }
  return out;
}

BrokerStatus parse_status_reply(std::string_view text) {
  json j = parse_object(text);
  BrokerStatus s;
  s.version = string_member(j, "version");
  read_uint(j, "pid", s.pid);
  read_uint(j, "uptime_ms", s.uptime_ms);
  read_uint(j, "connections", s.connections);
  read_uint(j, "queues", s.queues);
  read_uint(j, "durable_queues", s.durable_queues);
  s.log = to_log_status(object_member(j, "log"));
  return s;
}

MoveResult parse_move_reply(std::string_view text) {
  json j = parse_object(text);
  MoveResult r;
  read_uint(j, "moved", r.moved);
  read_optional_uint(j, "merged", r.merged);
  if (j.contains("stopped")) r.stopped = string_member(j, "stopped");
  return r;
}

uint64_t parse_purge_reply(std::string_view text) {
  return unsigned_member<uint64_t>(parse_object(text), "purged");
}

void parse_delete_reply(std::string_view text) {
  parse_object(text);
}

bool parse_bind_reply(std::string_view text) {
  return bool_member(parse_object(text), "created");
}

bool parse_unbind_reply(std::string_view text) {
  return bool_member(parse_object(text), "removed");
}

Bindings parse_bindings_reply(std::string_view text) {
  json j = parse_object(text);
  Bindings out;
  const json& list = member(j, "bindings");
  if (!list.is_array()) throw bad_reply("key 'bindings' is not an array");
  out.bindings.reserve(list.size());
  for (const json& b : list) {
    if (!b.is_object()) throw bad_reply("an entry of 'bindings' is not an object");
    out.bindings.push_back({string_member(b, "queue"), string_member(b, "pattern")});
  }
  read_uint(j, "published_total", out.published_total);
  read_uint(j, "unroutable_total", out.unroutable_total);
  read_uint(j, "denied_total", out.denied_total);
  read_optional_uint(j, "dropped_total", out.dropped_total);
  read_optional_uint(j, "copies_total", out.copies_total);
  return out;
}

}  // namespace postbox::detail
