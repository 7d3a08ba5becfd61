// Connection's consumer bookkeeping: DELIVER frames and consumer-ending ERRORs into buffers.
#include "client/connection.hpp"

#include <iterator>
#include <string>
#include <utility>

namespace postbox::detail {

bool Connection::route(RawReply& r) {
  using proto::Kind;
  if (r.kind == Kind::deliver) {
    auto it = consumers_.find(r.request_id);
    if (it == consumers_.end() || it->second.ended)
      throw Error(Errc::protocol_error, "DELIVER for request " + std::to_string(r.request_id) +
                                            ", which is no running consumer, from the broker");
    auto& buffer = it->second.messages;
    if (buffer.empty()) {
      buffer = std::move(r.reply.messages);
    } else {
      buffer.insert(buffer.end(), std::make_move_iterator(r.reply.messages.begin()),
                    std::make_move_iterator(r.reply.messages.end()));
    }
    return true;
  }
  if (auto c = cancels_.find(r.request_id); c != cancels_.end()) {
    // CANCEL_OK, or an ERROR because the consumer had just ended: either way
    // nothing more is pushed to it.
    if (auto it = consumers_.find(c->second); it != consumers_.end()) it->second.ended = true;
    cancels_.erase(c);
    return false;
  }
  auto it = consumers_.find(r.request_id);
  if (it == consumers_.end()) return false;
  Consumer& c = it->second;
  if (r.kind == Kind::consume) {
    c.confirmed = true;
    return false;
  }
  if (r.kind != Kind::error) return false;  // the transport refuses the wrong kind
  if (!c.confirmed) {                       // the CONSUME failed: this is its reply
    consumers_.erase(it);
    return false;
  }
  c.ended = true;
  c.error.emplace(static_cast<Errc>(r.reply.error.value()), r.reply.error_message);
  return true;
}

bool Connection::is_consumer(uint32_t consumer) const noexcept {
  return consumers_.contains(consumer);
}

bool Connection::has_deliveries(uint32_t consumer) const noexcept {
  auto it = consumers_.find(consumer);
  return it != consumers_.end() && !it->second.messages.empty();
}

std::vector<Message> Connection::take_deliveries(uint32_t consumer) {
  auto it = consumers_.find(consumer);
  if (it == consumers_.end()) return {};
  return std::exchange(it->second.messages, {});
}

bool Connection::consumer_ended(uint32_t consumer) const noexcept {
  auto it = consumers_.find(consumer);
  return it == consumers_.end() || it->second.ended;
}

const std::optional<Error>& Connection::consumer_error(uint32_t consumer) const {
  static const std::optional<Error> none;
  auto it = consumers_.find(consumer);
  return it == consumers_.end() ? none : it->second.error;
}

void Connection::forget_consumer(uint32_t consumer) noexcept {
  consumers_.erase(consumer);
  std::erase_if(cancels_, [&](const auto& c) { return c.second == consumer; });
}

}  // namespace postbox::detail
