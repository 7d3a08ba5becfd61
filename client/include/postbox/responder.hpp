// postbox::run_responder: the answering side of Client::request(), a consumer loop that replies.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>

#include "postbox/client.hpp"
#include "postbox/consumer.hpp"
#include "postbox/types.hpp"

namespace postbox {

/// A handler's answer: a whole message, or just a payload (type 1, priority 0).
struct Response {
  OutgoingMessage message;
  Response(OutgoingMessage m) : message(std::move(m)) {}  // NOLINT: implicit on purpose
  Response(std::string payload) : message{.payload = std::move(payload)} {}  // NOLINT
  Response(const char* payload) : Response(std::string(payload)) {}          // NOLINT
};

/// Answers one request: the reply (a Response, or anything that converts to
/// one: an OutgoingMessage, a std::string), or std::nullopt for none.
using RequestHandler = std::function<std::optional<Response>(const Message&)>;

struct ResponderOptions {
  /// The consumer on the request queue. With ack a request is acknowledged
  /// once its reply was sent, so one a crash interrupts is delivered again.
  ConsumeOptions consume = {};
  /// Stop flag and limit (requests taken), as for run_consumer().
  ConsumerLoopOptions loop = {};
  /// How long a reply may wait for room in a full reply queue. The default
  /// never waits: one requester that does not read must not stall the others.
  Timeout reply_timeout = kNoWait;
};

struct ResponderSummary {
  uint64_t requests = 0;  ///< messages taken from the queue, all kinds
  uint64_t replied = 0;   ///< replies sent
  uint64_t declined = 0;  ///< the handler returned std::nullopt
  /// Messages without reply_to: nobody waits for an answer, so the handler is
  /// not called; they are taken (acknowledged) like the others.
  uint64_t skipped = 0;
  /// Replies the broker refused: the reply queue is gone (its requester
  /// disconnected), full, not writable, or the reply too big for it.
  uint64_t failed = 0;
  ConsumerSummary consumer;  ///< what run_consumer() reported
};

/// Consumes `queue` (run_consumer()) and answers each request that has a
/// reply_to with the handler's Response, sent to that queue carrying the
/// request's correlation_id (replacing one the handler set; kept when the
/// request had none). A reply the broker refuses is counted, not thrown: a
/// requester that went away must not stop the responder. Other errors, and
/// exceptions from the handler, end the loop as they end run_consumer().
/// The handler runs on the calling thread and must not use `client`.
ResponderSummary run_responder(Client& client, std::string_view queue,
                               const RequestHandler& handler, const ResponderOptions& options = {});

/// The same on a subscription: a temporary queue bound to `patterns`
/// (Client::subscription_queue()), so requests published to matching topics
/// reach this responder; the queue goes when the loop's connection closes.
ResponderSummary run_responder(Client& client, std::span<const std::string> patterns,
                               const RequestHandler& handler, const ResponderOptions& options = {});

}  // namespace postbox
