// postbox::run_consumer: the loop around Client::consume() that handles credit, settling and
// stopping.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string_view>
#include <vector>

#include "postbox/client.hpp"
#include "postbox/types.hpp"

namespace postbox {

/// What the handler decided about one message. Only consumers with ack settle
/// it; without ack the message left the queue when it was pushed.
struct Outcome {
  enum class Settle { ack, nack, reject };
  Settle settle = Settle::ack;
  NackOptions nack_options = {};  ///< with Settle::nack: delay and new priority
  bool stop = false;              ///< end the loop after this message

  static Outcome ack() { return {}; }
  static Outcome nack(NackOptions options = {}) { return {Settle::nack, options}; }
  static Outcome reject() { return {Settle::reject}; }
  /// The same outcome, and the loop ends after it.
  Outcome and_stop() const {
    Outcome o = *this;
    o.stop = true;
    return o;
  }
};

using MessageHandler = std::function<Outcome(const Message&)>;

struct ConsumerLoopOptions {
  /// Set (e.g. from a signal handler) to end the loop. It is read between
  /// messages and, while waiting for messages, at least every stop_check.
  const std::atomic<bool>* stop = nullptr;
  std::chrono::milliseconds stop_check{100};
  /// End after handling this many messages. With ack no more than this many
  /// are ever pushed: settles that would give credit beyond it are held back
  /// until the end.
  std::optional<uint64_t> limit = std::nullopt;
  /// Settles gathered before they are sent in the middle of a batch of
  /// deliveries (they are always sent before waiting for more); 0: half the
  /// prefetch, so credit comes back while the rest of the batch is handled.
  uint32_t settle_batch = 0;
};

struct ConsumerSummary {
  uint64_t handled = 0;  ///< messages passed to the handler
  uint64_t acked = 0;    ///< with ack: by outcome
  uint64_t nacked = 0;
  uint64_t rejected = 0;
  /// With ack: messages pushed but not handled when the loop ended, nacked
  /// back to their place (priority kept, no delay).
  uint64_t returned = 0;
  /// With ack: tags whose settle found no lease (it expired while handled;
  /// the message went back to the queue and may be delivered again).
  std::vector<uint64_t> missing = {};
  /// Without ack: messages pushed but not handled when the loop ended. They
  /// are off the queue already, so they are handed back rather than lost.
  std::vector<Message> unhandled = {};
};

/// Starts a consumer of `queue` on `client` (Client::consume) and passes each
/// pushed message to `handler`, in push order, on the calling thread. With
/// options.ack every outcome is settled by delivery tag, in batches (one
/// ACK/NACK/REJECT frame for many tags, pipelined), so the broker's credit
/// comes back without a round trip per message.
///
/// Ends when loop.stop is set, an outcome asks to stop, or loop.limit is
/// reached: then it cancels the consumer, returns (nacks) what was pushed but
/// not handled, waits for every settle's reply and returns. When the broker
/// ends the consumer (queue deleted: queue_removed; broker stopping:
/// shutting_down) or the connection fails, it settles what it can and
/// throws that Error. When `handler` throws, the message in hand and the rest
/// are returned as on a stop, and the exception is rethrown.
///
/// The client must not be used by anything else during the call.
ConsumerSummary run_consumer(Client& client, std::string_view queue, const ConsumeOptions& options,
                             const MessageHandler& handler, const ConsumerLoopOptions& loop = {});

}  // namespace postbox
