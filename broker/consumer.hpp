// Consumer: a push consumer (CONSUME) — a receive that stays on its queue and
// streams DELIVER frames, within a prefetch credit of unsettled leases.
#pragma once

#include <cstddef>
#include <cstdint>

#include "broker/lease.hpp"
#include "broker/queue.hpp"
#include "broker/session.hpp"

namespace postbox::broker {

/// Waits on its queue like a parked RECEIVE of one message, and after each
/// delivery waits again at the back of the line, so the consumers of a queue
/// take turns and each gets the best match for its selector at that moment.
/// It holds its ack-mode leases itself: may_deliver() is false while they
/// reach the prefetch credit, and settling one (on the same queue) lets the
/// queue serve it again at once. Owned by its session (as a Pending).
class Consumer final : public ReceiveWaiter, public LeaseHolder, public Pending {
 public:
  Consumer(Session& s, Queue& q, uint32_t request_id, bool ack, uint32_t prefetch);
  ~Consumer() override;

  uint32_t id() const noexcept { return rid_; }  // the CONSUME's request id
  bool ack() const noexcept { return ack_; }
  uint32_t prefetch() const noexcept { return prefetch_; }
  uint32_t unacked() const noexcept { return static_cast<uint32_t>(count()); }
  const Session& session() const noexcept { return session_; }

  /// CANCEL: stops deliveries; its leases move to the session. Deletes it.
  void cancel();

  // ReceiveWaiter
  void deliver(const Message& m, uint32_t payload_size) override;
  void finished(proto::Errc result) override;
  bool may_deliver() const override;
  uint32_t max_count_alone() const override;

  // Pending
  Queue& queue() noexcept override { return queue_; }
  void detach() noexcept override { static_cast<ReceiveWaiter&>(*this).unlink(); }
  void answer(proto::Errc code) override;
  Consumer* as_consumer() noexcept override { return this; }

 private:
  /// Hands its leases to the session, which outlives it, and deletes it.
  void retire();

  Session& session_;
  Queue& queue_;
  uint32_t rid_;
  bool ack_;
  uint32_t prefetch_;
  // The DELIVER frame being extended: valid while nothing else was appended
  // to the session's output since (same epoch, same end).
  uint64_t frame_epoch_ = 0;
  std::size_t frame_body_ = 0;
  std::size_t frame_end_ = SIZE_MAX;
  uint32_t frame_count_ = 0;
};

}  // namespace postbox::broker
