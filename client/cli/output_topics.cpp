// Output of the publish/subscribe commands: publish results, bind outcomes, binding tables.
#include <algorithm>
#include <nlohmann/json.hpp>

#include "client/cli/output.hpp"

namespace postbox::cli {

namespace {

using Json = nlohmann::ordered_json;  // keys in the order written, as documented

std::string dump(const Json& j) {
  return j.dump(-1, ' ', false, Json::error_handler_t::replace);
}

std::string quoted(std::string_view s) {
  return "'" + std::string(s) + "'";
}

}  // namespace

std::string publish_text(const PublishResult& r) {
  return std::to_string(r.queues);
}

std::string publish_json(const PublishResult& r) {
  return dump(Json{{"queues", r.queues}, {"denied", r.denied}, {"dropped", r.dropped}});
}

std::string bind_text(bool bind, bool changed, std::string_view queue, std::string_view pattern) {
  const std::string q = quoted(queue), p = quoted(pattern);
  if (bind) return changed ? "bound " + q + " to " + p : q + " was already bound to " + p;
  return changed ? "unbound " + q + " from " + p : q + " was not bound to " + p;
}

std::string bind_json(bool bind, bool changed) {
  return dump(Json{{bind ? "created" : "removed", changed}});
}

std::string bindings_text(const Bindings& b) {
  std::vector<Binding> rows = b.bindings;
  std::sort(rows.begin(), rows.end(), [](const Binding& x, const Binding& y) {
    return std::tie(x.queue, x.pattern) < std::tie(y.queue, y.pattern);
  });
  std::size_t width = 5;  // "QUEUE"
  for (const auto& r : rows) width = std::max(width, r.queue.size());
  auto row = [&](std::string queue, const std::string& pattern) {
    queue.resize(width + 2, ' ');
    return queue + pattern + "\n";
  };
  std::string out = row("QUEUE", "PATTERN");
  for (const auto& r : rows) out += row(r.queue, r.pattern);
  return out;
}

std::string bindings_json(const Bindings& b) {
  Json list = Json::array();
  for (const auto& r : b.bindings) list.push_back(Json{{"queue", r.queue}, {"pattern", r.pattern}});
  return dump(Json{{"bindings", list},
                   {"published_total", b.published_total},
                   {"unroutable_total", b.unroutable_total},
                   {"denied_total", b.denied_total},
                   {"dropped_total", b.dropped_total},
                   {"copies_total", b.copies_total}});
}

}  // namespace postbox::cli
