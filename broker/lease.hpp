// LeaseHolder: the messages leased to one consumer or connection, found by delivery tag.
#pragma once

#include <cstdint>

#include <boost/intrusive/set.hpp>

#include "broker/message.hpp"

namespace postbox::broker {

struct ByTag {
  bool operator()(const Message& a, const Message& b) const noexcept {
    return a.lease_tag < b.lease_tag;
  }
};
struct TagKey {
  bool operator()(uint64_t tag, const Message& m) const noexcept { return tag < m.lease_tag; }
  bool operator()(const Message& m, uint64_t tag) const noexcept { return m.lease_tag < tag; }
};
using HolderSet =
    bi::set<Message, bi::member_hook<Message, SetHook, &Message::type_hook>, bi::compare<ByTag>>;

/// Leases can span queues. A Queue links its leased messages here and
/// unlinks them when the lease ends (ack, nack, reject, expiry, return); the
/// holder's owner must return every lease (Queue::return_lease) before it is
/// destroyed.
class LeaseHolder {
 public:
  LeaseHolder() = default;
  LeaseHolder(const LeaseHolder&) = delete;
  LeaseHolder& operator=(const LeaseHolder&) = delete;

  Message* find(uint64_t tag) noexcept {
    auto it = leases_.find(tag, TagKey{});
    return it == leases_.end() ? nullptr : &*it;
  }
  std::size_t count() const noexcept { return leases_.size(); }
  bool empty() const noexcept { return leases_.empty(); }
  /// Any one lease (to return them all, one at a time).
  Message* any() noexcept { return leases_.empty() ? nullptr : &*leases_.begin(); }

  /// Called by the queue after one of this holder's leases ended (the message
  /// is no longer linked here): a consumer regains credit.
  virtual void lease_ended() {}

  // For Queue only: the lease's message enters or leaves this holder.
  void link(Message& m) noexcept { leases_.insert(m); }
  void unlink(Message& m) noexcept { leases_.erase(leases_.iterator_to(m)); }

 protected:
  ~LeaseHolder() = default;

 private:
  HolderSet leases_;
};

}  // namespace postbox::broker
