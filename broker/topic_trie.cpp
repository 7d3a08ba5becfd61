// Topic and pattern validation, and the word tree behind TopicTrie: attaching and detaching
// bindings, pruning, and the memoised match walk.
#include "broker/topic_trie.hpp"

#include <cstdio>

namespace postbox::broker {

namespace {

constexpr std::size_t kEchoBytes = 64;

/// `kind 'text'` for a message: long input cut short, control bytes escaped, so that the one-line
/// reason stays one line and printable whatever a client sent.
std::string echo(std::string_view kind, std::string_view text) {
  std::string out(kind);
  out += " '";
  const std::size_t shown = std::min(text.size(), kEchoBytes);
  for (std::size_t i = 0; i < shown; ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c < 0x20 || c == 0x7f || c == '\\') {
      char esc[5];
      std::snprintf(esc, sizeof esc, "\\x%02x", c);
      out += esc;
    } else {
      out += static_cast<char>(c);
    }
  }
  if (shown < text.size()) out += "...";
  out += '\'';
  return out;
}

bool has_wildcard_char(std::string_view word) noexcept {
  return word.find_first_of("*#") != std::string_view::npos;
}

std::string problem(std::string_view kind, std::string_view text, bool wildcards) {
  if (text.empty()) {
    return std::string(kind) + " is empty (1.." + std::to_string(kMaxTopicBytes) + " bytes)";
  }
  if (text.size() > kMaxTopicBytes) {
    return echo(kind, text) + " is " + std::to_string(text.size()) + " bytes, at most " +
           std::to_string(kMaxTopicBytes);
  }
  std::size_t position = 1;
  std::size_t start = 0;
  while (true) {
    const std::size_t dot = text.find('.', start);
    const std::string_view word =
        text.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start);
    const std::string at = std::to_string(position);
    if (word.empty()) return echo(kind, text) + ": empty word at position " + at;
    if (has_wildcard_char(word)) {
      if (!wildcards) {
        return echo(kind, text) + ": wildcard character in word " + at + " '" + std::string(word) +
               "' (a topic may not contain '*' or '#'; wildcards are for patterns)";
      }
      if (word != "*" && word != "#") {
        const char which = word.find('*') != std::string_view::npos ? '*' : '#';
        return echo(kind, text) + ": '" + which + "' inside word " + at + " '" + std::string(word) +
               "' (a wildcard must be a whole word)";
      }
    }
    if (dot == std::string_view::npos) return "";
    start = dot + 1;
    ++position;
  }
}

}  // namespace

std::string topic_problem(std::string_view topic) {
  return problem("topic", topic, false);
}

std::string pattern_problem(std::string_view pattern) {
  return problem("pattern", pattern, true);
}

namespace topic_detail {

Tree::Tree() : root_(std::make_unique<Node>()) {}
Tree::~Tree() = default;

void Tree::attach(std::string_view pattern, Binding& b) {
  Node* n = root_.get();
  std::size_t start = 0;
  while (true) {
    const std::size_t dot = pattern.find('.', start);
    const std::string_view word =
        pattern.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start);
    std::unique_ptr<Node>* child = nullptr;
    std::string_view key;
    if (word == "*") {
      child = &n->star;
      key = "*";
    } else if (word == "#") {
      child = &n->hash;
      key = "#";
    } else {
      auto it = n->words.find(word);
      if (it == n->words.end()) it = n->words.emplace(std::string(word), nullptr).first;
      child = &it->second;
      key = it->first;  // the map's own string: stable while the entry exists
    }
    if (!*child) {
      *child = std::make_unique<Node>();
      (*child)->parent = n;
      (*child)->key = key;
      ++nodes_;
    }
    n = child->get();
    if (dot == std::string_view::npos) break;
    start = dot + 1;
  }
  b.node = n;
  b.slot = n->bound.size();
  n->bound.push_back(&b);
}

void Tree::detach(Binding& b) {
  Node* n = b.node;
  Binding* last = n->bound.back();
  n->bound[b.slot] = last;
  last->slot = b.slot;
  n->bound.pop_back();
  b.node = nullptr;
  // Prune upwards: a node with no bindings and no children serves no pattern.
  while (n != root_.get() && n->unused()) {
    Node* parent = n->parent;
    if (n->key == "*") {
      parent->star.reset();
    } else if (n->key == "#") {
      parent->hash.reset();
    } else {
      parent->words.erase(parent->words.find(n->key));
    }
    --nodes_;
    n = parent;
  }
}

void Tree::match(std::string_view topic, std::vector<Entry*>& out) {
  ++generation_;
  if (topic.empty() || topic.size() > kMaxTopicBytes) return;
  // Split and validate in one pass: a valid topic has at most kMaxTopicWords words.
  word_count_ = 0;
  std::size_t start = 0;
  for (std::size_t i = 0; i <= topic.size(); ++i) {
    if (i < topic.size()) {
      const char c = topic[i];
      if (c == '*' || c == '#') return;
      if (c != '.') continue;
    }
    if (i == start) return;  // empty word
    words_[word_count_++] = topic.substr(start, i - start);
    start = i + 1;
  }
  out_ = &out;
  visit(*root_, 0);
  out_ = nullptr;
}

// State (n, pos): the pattern path down to n has matched words [0, pos).
void Tree::visit(Node& n, std::size_t pos) {
  if (pos == word_count_) {
    collect(n);
    if (n.hash) sweep(*n.hash, pos);  // `#` matching zero words
    return;
  }
  if (!n.words.empty()) {
    auto it = n.words.find(words_[pos]);
    if (it != n.words.end()) visit(*it->second, pos + 1);
  }
  if (n.star) visit(*n.star, pos + 1);
  if (n.hash) sweep(*n.hash, pos);
}

// Enters `#` node h having matched [0, pos): the `#` may take 0, 1, ... of the remaining words,
// so h is visited at every position from pos on. Positions already swept in this match are
// skipped; without that, `#.#.#` against a long topic would multiply the paths.
void Tree::sweep(Node& h, std::size_t pos) {
  std::size_t end = word_count_ + 1;
  if (h.sweep_gen == generation_) {
    if (h.sweep_low <= pos) return;
    end = h.sweep_low;
  }
  h.sweep_gen = generation_;
  h.sweep_low = pos;
  for (std::size_t p = pos; p < end; ++p) visit(h, p);
}

void Tree::collect(const Node& n) {
  for (const Binding* b : n.bound) {
    Entry* e = b->entry;
    if (e->seen == generation_) continue;
    e->seen = generation_;
    out_->push_back(e);
  }
}

}  // namespace topic_detail

}  // namespace postbox::broker
