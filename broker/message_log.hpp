// MessageLog: what a durable queue tells the journal about every change, so
// that replaying the journal rebuilds the queue (broker/journal/journal.hpp).
#pragma once

#include <string>

namespace postbox::broker {

class Queue;
struct Message;

/// Calls come on the loop thread, right after the change they describe, and
/// append a record; they never fail (a write error surfaces in writable()).
class MessageLog {
 public:
  /// Empty when records can be written now; else why not (one line).
  virtual std::string writable() = 0;
  /// The queue was created durable, or its attributes changed.
  virtual void queue_declared(Queue& q) = 0;
  /// The queue is being deleted with all its messages.
  virtual void queue_dropped(Queue& q) = 0;
  /// `m` entered `q` (sent, moved, dead-lettered in, restored).
  virtual void added(Queue& q, Message& m) = 0;
  /// `m`'s priority, due time, delivery count or lease state changed.
  virtual void updated(Queue& q, Message& m) = 0;
  /// `m` was delivered with ack and is leased (its delivery count went up).
  virtual void leased(Queue& q, Message& m) = 0;
  /// `m` left `q` for good.
  virtual void removed(Queue& q, Message& m) = 0;
  /// PURGE: every message of `q` not leased left; forgotten() was called for each.
  virtual void purged(Queue& q) = 0;
  /// `m` left along with others that one record covers (purge).
  virtual void forgotten(Queue& q, Message& m) = 0;

 protected:
  ~MessageLog() = default;
};

}  // namespace postbox::broker
