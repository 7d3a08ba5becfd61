// Topic routing: AMQP-style topic and pattern rules, and TopicTrie, which finds the targets
// (queues) whose patterns match a topic without scanning the bindings.
//
// A topic is dot-separated words, `sensors.kitchen.temp`: 1..255 bytes, no empty word, and no
// `*` or `#` anywhere (so that every topic can be named by a pattern without wildcards). A
// pattern is the same except that a word may be exactly `*` (one word) or `#` (zero or more
// words); a wildcard inside a word (`a*`, `#b`) is invalid. `#` alone matches every topic.
//
// The trie is keyed by words: each node has children by literal word plus a `*` child and a `#`
// child, and the targets whose pattern ends there. Matching visits each (node, word position)
// at most once, so a match costs at most nodes x (words + 1) steps however many `#` a pattern
// has; in practice it touches only the few paths the topic's words select.
//
// Loop-thread only: no locks, and even match() writes (its dedupe and memo stamps).
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

namespace postbox::broker {

inline constexpr std::size_t kMaxTopicBytes = 255;
/// A 255-byte topic or pattern has at most 128 words (one byte each, 127 dots).
inline constexpr std::size_t kMaxTopicWords = (kMaxTopicBytes + 1) / 2;

/// "" when `topic` is a valid topic, else one line naming what is wrong, e.g.
/// "topic 'a..b': empty word at position 2".
std::string topic_problem(std::string_view topic);
/// "" when `pattern` is a valid binding pattern, else one line naming what is wrong, e.g.
/// "pattern 'a.b*': '*' inside word 2 'b*' (a wildcard must be a whole word)".
std::string pattern_problem(std::string_view pattern);

namespace topic_detail {

struct Node;

/// One target's record; `seen` is the match generation that last reported it, so a target
/// reached through several patterns is appended once.
struct Entry {
  uint64_t seen = 0;
};

/// One (pattern, target) binding: which node it hangs from and where in that node's list,
/// so that removing it is O(1) (swap with the last) even with many targets on one pattern.
struct Binding {
  Entry* entry = nullptr;
  Node* node = nullptr;
  std::size_t slot = 0;
};

struct WordHash {
  using is_transparent = void;
  std::size_t operator()(std::string_view w) const noexcept {
    return std::hash<std::string_view>{}(w);
  }
};

struct Node {
  Node* parent = nullptr;
  /// This node's word in its parent: a key of parent->words, or "*" / "#" (never map keys).
  std::string_view key;
  std::unordered_map<std::string, std::unique_ptr<Node>, WordHash, std::equal_to<>> words;
  std::unique_ptr<Node> star;
  std::unique_ptr<Node> hash;
  std::vector<Binding*> bound;
  /// For a `#` node: in match generation `sweep_gen` it was entered from every position >=
  /// `sweep_low` already (entering at p covers p..end, so one number is the whole memo).
  uint64_t sweep_gen = 0;
  std::size_t sweep_low = 0;

  bool unused() const noexcept { return bound.empty() && words.empty() && !star && !hash; }
};

/// The word tree without targets: TopicTrie's untyped core.
class Tree {
 public:
  Tree();
  Tree(Tree&&) noexcept = default;
  Tree& operator=(Tree&&) noexcept = default;
  ~Tree();

  /// Hangs `b` from the node for `pattern` (valid), creating the path.
  void attach(std::string_view pattern, Binding& b);
  /// Takes `b` off its node and removes the nodes left with nothing under them.
  void detach(Binding& b);
  /// Appends to `out` each entry bound at a pattern matching `topic`, once per call.
  /// An invalid topic matches nothing.
  void match(std::string_view topic, std::vector<Entry*>& out);
  /// Nodes below the root: what pruning keeps down.
  std::size_t nodes() const noexcept { return nodes_; }

 private:
  void visit(Node& n, std::size_t pos);
  void sweep(Node& h, std::size_t pos);
  void collect(const Node& n);

  std::unique_ptr<Node> root_;  // behind a pointer so that children's parent links survive a move
  std::size_t nodes_ = 0;
  uint64_t generation_ = 0;
  // Per-match state, members so that visit() recursion does not pass them around.
  std::string_view words_[kMaxTopicWords];
  std::size_t word_count_ = 0;
  std::vector<Entry*>* out_ = nullptr;
};

}  // namespace topic_detail

/// Bindings of topic patterns to targets (e.g. `Queue*`): `Target` needs std::hash, == and
/// std::less (a pointer or an integer id).
template <class Target>
class TopicTrie {
 public:
  TopicTrie() = default;
  TopicTrie(const TopicTrie&) = delete;
  TopicTrie& operator=(const TopicTrie&) = delete;
  TopicTrie(TopicTrie&&) = default;
  TopicTrie& operator=(TopicTrie&&) = default;

  /// Binds `t` to `pattern`. False when that exact binding exists, or when the pattern is
  /// invalid (callers check pattern_problem() first to tell the user why).
  bool bind(std::string_view pattern, Target t) {
    if (!pattern_problem(pattern).empty()) return false;
    auto [it, fresh_target] = slots_.try_emplace(t);
    if (fresh_target) {
      it->second = std::make_unique<Slot>();
      it->second->target = t;
    }
    Slot& slot = *it->second;
    auto [b, fresh] = slot.patterns.try_emplace(std::string(pattern));
    if (!fresh) return false;
    b->second.entry = &slot;
    tree_.attach(pattern, b->second);
    ++size_;
    return true;
  }

  /// Removes one binding; false when it does not exist. Nodes left empty are pruned.
  bool unbind(std::string_view pattern, Target t) {
    auto it = slots_.find(t);
    if (it == slots_.end()) return false;
    auto& patterns = it->second->patterns;
    auto b = patterns.find(pattern);
    if (b == patterns.end()) return false;
    tree_.detach(b->second);
    patterns.erase(b);
    --size_;
    if (patterns.empty()) slots_.erase(it);
    return true;
  }

  /// Removes every binding of `t` (its queue is gone): O(its bindings).
  void unbind_all(Target t) {
    auto it = slots_.find(t);
    if (it == slots_.end()) return;
    for (auto& [pattern, b] : it->second->patterns) tree_.detach(b);
    size_ -= it->second->patterns.size();
    slots_.erase(it);
  }

  /// Appends each target with a pattern matching `topic` to `out`, exactly once however many of
  /// its patterns match, in no particular order. An invalid topic matches nothing.
  void match(std::string_view topic, std::vector<Target>& out) {
    hits_.clear();
    tree_.match(topic, hits_);
    for (topic_detail::Entry* e : hits_) out.push_back(static_cast<Slot*>(e)->target);
  }

  /// Every binding, sorted by pattern, then target.
  std::vector<std::pair<std::string, Target>> bindings() const {
    std::vector<std::pair<std::string, Target>> all;
    all.reserve(size_);
    for (const auto& [t, slot] : slots_) {
      for (const auto& [pattern, b] : slot->patterns) all.emplace_back(pattern, t);
    }
    std::sort(all.begin(), all.end(), [](const auto& x, const auto& y) {
      if (x.first != y.first) return x.first < y.first;
      return std::less<Target>{}(x.second, y.second);
    });
    return all;
  }

  /// The patterns `t` is bound to, sorted.
  std::vector<std::string> bindings_of(Target t) const {
    std::vector<std::string> out;
    auto it = slots_.find(t);
    if (it == slots_.end()) return out;
    out.reserve(it->second->patterns.size());
    for (const auto& [pattern, b] : it->second->patterns) out.push_back(pattern);
    return out;
  }

  /// Number of patterns `t` is bound to.
  std::size_t count_of(Target t) const {
    auto it = slots_.find(t);
    return it == slots_.end() ? 0 : it->second->patterns.size();
  }

  /// Number of (pattern, target) bindings.
  std::size_t size() const noexcept { return size_; }
  bool empty() const noexcept { return size_ == 0; }
  /// Trie nodes in use (the root not counted): for tests and stats, 0 once every binding is gone.
  std::size_t nodes() const noexcept { return tree_.nodes(); }

 private:
  struct Slot : topic_detail::Entry {
    Target target{};
    std::map<std::string, topic_detail::Binding, std::less<>> patterns;
  };

  topic_detail::Tree tree_;
  // Slots behind pointers: bindings and tree nodes point at them and at their map values.
  std::unordered_map<Target, std::unique_ptr<Slot>> slots_;
  std::size_t size_ = 0;
  std::vector<topic_detail::Entry*> hits_;  // match() scratch, kept to avoid reallocating
};

}  // namespace postbox::broker
