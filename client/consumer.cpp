// run_consumer: deliveries in, handler outcomes out as batched, pipelined settles.
#include "postbox/consumer.hpp"

#include <algorithm>
#include <deque>
#include <exception>
#include <span>
#include <utility>

namespace postbox {

namespace {

/// Settle requests in flight before the loop waits for the oldest reply:
/// enough to keep the broker busy, few enough that missing tags are learnt soon.
constexpr std::size_t kSettlesInFlight = 8;

/// Gathers outcomes and sends them as few frames as possible. `budget`
/// bounds how many tags may be settled before the end (the limit's rule:
/// every settle is credit for one more push).
class Settler {
 public:
  Settler(Client& client, ConsumerSummary& summary, std::optional<uint64_t> budget)
      : client_(client), summary_(summary), budget_(budget) {}

  void add(uint64_t tag, const Outcome& o) { pending_.push_back({tag, o.settle, o.nack_options}); }
  std::size_t pending() const noexcept { return pending_.size(); }

  /// Sends what is pending (within the budget unless `all`), grouped into one
  /// frame per kind and nack options, without waiting for the replies.
  void send(bool all = false) {
    std::size_t n = pending_.size();
    if (!all && budget_) n = std::min<uint64_t>(n, *budget_ - std::min(*budget_, sent_));
    if (n == 0) return;
    std::vector<uint64_t> acks, rejects;
    std::vector<std::pair<NackOptions, std::vector<uint64_t>>> nacks;
    for (std::size_t i = 0; i < n; ++i) {
      const Entry& e = pending_[i];
      switch (e.settle) {
        case Outcome::Settle::ack:
          acks.push_back(e.tag);
          break;
        case Outcome::Settle::reject:
          rejects.push_back(e.tag);
          break;
        case Outcome::Settle::nack: {
          auto same = [&](const auto& g) {
            return g.first.delay == e.nack.delay && g.first.priority == e.nack.priority;
          };
          auto it = std::find_if(nacks.begin(), nacks.end(), same);
          if (it == nacks.end()) it = nacks.insert(nacks.end(), {e.nack, {}});
          it->second.push_back(e.tag);
          break;
        }
      }
    }
    pending_.erase(pending_.begin(), pending_.begin() + static_cast<std::ptrdiff_t>(n));
    sent_ += n;
    if (!acks.empty()) in_flight_.push_back(client_.start_ack(acks));
    if (!rejects.empty()) in_flight_.push_back(client_.start_reject(rejects));
    for (const auto& [options, tags] : nacks)
      in_flight_.push_back(client_.start_nack(tags, options));
    summary_.acked += acks.size();
    summary_.rejected += rejects.size();
    client_.flush();
  }

  /// Waits for the oldest replies until at most `keep` are in flight.
  void reap(std::size_t keep) {
    while (in_flight_.size() > keep) {
      Reply r = client_.wait(in_flight_.front());
      in_flight_.pop_front();
      r.throw_if_error();
      summary_.missing.insert(summary_.missing.end(), r.missing.begin(), r.missing.end());
    }
  }

 private:
  struct Entry {
    uint64_t tag;
    Outcome::Settle settle;
    NackOptions nack;
  };
  Client& client_;
  ConsumerSummary& summary_;
  std::optional<uint64_t> budget_;
  uint64_t sent_ = 0;
  std::deque<Entry> pending_;
  std::deque<Client::Ticket> in_flight_;
};

}  // namespace

ConsumerSummary run_consumer(Client& client, std::string_view queue, const ConsumeOptions& options,
                             const MessageHandler& handler, const ConsumerLoopOptions& loop) {
  ConsumerSummary summary;
  if (loop.limit && *loop.limit == 0) return summary;
  ConsumeOptions o = options;
  std::optional<uint64_t> budget;
  uint32_t prefetch = 0;
  if (o.ack) {
    prefetch = o.prefetch.value_or(ConsumeOptions::kDefaultPrefetch);
    if (loop.limit) {
      // At most `prefetch` unsettled are pushed, so settling no more than
      // limit - prefetch before the end keeps every push within the limit.
      prefetch = static_cast<uint32_t>(std::min<uint64_t>(prefetch, *loop.limit));
      budget = *loop.limit - prefetch;
    }
    if (prefetch > 0) o.prefetch = prefetch;  // 0 stays invalid, for consume() to refuse
  }
  const std::size_t settle_batch =
      loop.settle_batch != 0 ? loop.settle_batch : std::max<std::size_t>(1, prefetch / 2);
  const Timeout slice = loop.stop ? Timeout(loop.stop_check) : kForever;
  auto stop_requested = [&] { return loop.stop && loop.stop->load(std::memory_order_relaxed); };

  const uint32_t consumer = client.consume(queue, o);
  Settler settler(client, summary, budget);
  std::vector<Message> left;  // pushed, not handled
  bool stop = false;

  // Cancels, returns what was not handled and waits for every settle.
  auto finish = [&] {
    std::vector<Message> rest = client.cancel(consumer);
    left.insert(left.end(), std::make_move_iterator(rest.begin()),
                std::make_move_iterator(rest.end()));
    if (o.ack) {
      for (const Message& m : left) settler.add(m.delivery_tag, Outcome::nack());
      summary.returned += left.size();
      left.clear();
    }
    settler.send(/*all=*/true);
    settler.reap(0);
    summary.unhandled = std::move(left);
  };

  try {
    while (!stop && !stop_requested()) {
      std::vector<Message> batch = client.deliveries(consumer, slice);
      for (std::size_t i = 0; i < batch.size(); ++i) {
        if (stop || stop_requested()) {
          left.insert(left.end(), std::make_move_iterator(batch.begin() + i),
                      std::make_move_iterator(batch.end()));
          break;
        }
        const Message& m = batch[i];
        Outcome outcome;
        try {
          outcome = handler(m);
        } catch (...) {
          // The message in hand was not handled: it goes back with the rest.
          left.insert(left.end(), std::make_move_iterator(batch.begin() + i),
                      std::make_move_iterator(batch.end()));
          throw;
        }
        ++summary.handled;
        if (o.ack) {
          settler.add(m.delivery_tag, outcome);
          if (outcome.settle == Outcome::Settle::nack) ++summary.nacked;
        }
        stop = outcome.stop || (loop.limit && summary.handled >= *loop.limit);
        if (settler.pending() >= settle_batch) settler.send();
      }
      settler.send();
      settler.reap(kSettlesInFlight);
    }
    finish();
  } catch (...) {
    // Settle and cancel what we can before the error leaves; when that fails
    // too (the connection is gone), the first error is the one to report.
    std::exception_ptr first = std::current_exception();
    try {
      if (client.is_connected()) finish();
    } catch (...) {
    }
    std::rethrow_exception(first);
  }
  return summary;
}

}  // namespace postbox
