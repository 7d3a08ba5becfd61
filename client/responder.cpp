// run_responder: run_consumer with a handler that sends each answer to the request's reply_to.
#include "postbox/responder.hpp"

namespace postbox {

namespace {

/// Refusals that concern one requester's reply queue only.
bool undeliverable(Errc code) noexcept {
  switch (code) {
    case Errc::no_such_queue:
    case Errc::queue_removed:
    case Errc::queue_full:
    case Errc::permission_denied:
    case Errc::too_big:
    case Errc::invalid_argument:  // a reply_to that names no possible queue
      return true;
    default:
      return false;
  }
}

}  // namespace

ResponderSummary run_responder(Client& client, std::string_view queue,
                               const RequestHandler& handler, const ResponderOptions& options) {
  ResponderSummary s;
  // The reply is sent on the consumer's own client from inside the loop: a
  // send waits for its own reply id, keeping settle replies and deliveries
  // that arrive meanwhile for the loop, so the two interleave safely.
  auto answer = [&](const Message& request) {
    ++s.requests;
    if (!request.reply_to) {
      ++s.skipped;
      return Outcome::ack();
    }
    std::optional<Response> response = handler(request);
    if (!response) {
      ++s.declined;
      return Outcome::ack();
    }
    OutgoingMessage& reply = response->message;
    if (request.correlation_id) reply.correlation_id = request.correlation_id;
    try {
      client.send_batch(*request.reply_to, std::span<const OutgoingMessage>(&reply, 1),
                        options.reply_timeout);
      ++s.replied;
    } catch (const Error& e) {
      if (!undeliverable(e.errc())) throw;
      ++s.failed;
    }
    return Outcome::ack();
  };
  s.consumer = run_consumer(client, queue, options.consume, answer, options.loop);
  return s;
}

ResponderSummary run_responder(Client& client, std::span<const std::string> patterns,
                               const RequestHandler& handler, const ResponderOptions& options) {
  return run_responder(client, client.subscription_queue(patterns), handler, options);
}

}  // namespace postbox
