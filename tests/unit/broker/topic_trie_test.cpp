// Tests for broker/topic_trie.cpp: topic and pattern rules, the wildcard matching table, binding
// bookkeeping (dedupe, unbind pruning, unbind_all), and a seeded comparison against a direct
// recursive matcher.
#include "broker/topic_trie.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <set>
#include <string>
#include <vector>

namespace postbox::broker {
namespace {

/// Stands in for a Queue: the trie only compares and hashes the pointers.
struct Sink {
  int id = 0;
};
using Trie = TopicTrie<const Sink*>;

std::vector<std::string> split(std::string_view s) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (true) {
    const std::size_t dot = s.find('.', start);
    out.emplace_back(s.substr(start, dot == std::string_view::npos ? dot : dot - start));
    if (dot == std::string_view::npos) return out;
    start = dot + 1;
  }
}

/// The rules written down directly (exponential in the worst case, fine for small inputs).
bool reference_match(const std::vector<std::string>& p, std::size_t i,
                     const std::vector<std::string>& t, std::size_t j) {
  if (i == p.size()) return j == t.size();
  if (p[i] == "#") {
    return reference_match(p, i + 1, t, j) || (j < t.size() && reference_match(p, i, t, j + 1));
  }
  if (j == t.size()) return false;
  return (p[i] == "*" || p[i] == t[j]) && reference_match(p, i + 1, t, j + 1);
}

bool reference_match(std::string_view pattern, std::string_view topic) {
  return reference_match(split(pattern), 0, split(topic), 0);
}

std::vector<const Sink*> matched(Trie& trie, std::string_view topic) {
  std::vector<const Sink*> out;
  trie.match(topic, out);
  std::sort(out.begin(), out.end());
  return out;
}

TEST(TopicTrie, WildcardMatchingTable) {
  struct Case {
    const char* pattern;
    const char* topic;
    bool matches;
  };
  const Case cases[] = {
      // exact
      {"a.b.c", "a.b.c", true},
      {"a.b.c", "a.b", false},
      {"a.b", "a.b.c", false},
      {"a.b.c", "a.b.d", false},
      {"a", "a", true},
      {"a", "b", false},
      {"a.b", "ab", false},
      {"ab", "a", false},
      {"A", "a", false},
      {"sensors.kitchen.temp", "sensors.kitchen.temp", true},
      // * is exactly one word: not zero, not two
      {"*", "a", true},
      {"*", "a.b", false},
      {"a.*", "a", false},
      {"a.*", "a.b", true},
      {"a.*", "a.b.c", false},
      {"*.b", "a.b", true},
      {"*.b", "b", false},
      {"a.*.c", "a.b.c", true},
      {"a.*.c", "a.c", false},
      {"a.*.c", "a.b.x.c", false},
      {"*.*", "a.b", true},
      {"*.*", "a", false},
      {"*.*", "a.b.c", false},
      // # alone matches every topic, one word included
      {"#", "a", true},
      {"#", "a.b", true},
      {"#", "a.b.c.d.e", true},
      // # at the end: zero, one, many words
      {"a.#", "a", true},
      {"a.#", "a.b", true},
      {"a.#", "a.b.c.d", true},
      {"a.#", "b", false},
      {"a.#", "b.a", false},
      // # at the start
      {"#.c", "c", true},
      {"#.c", "b.c", true},
      {"#.c", "a.b.c", true},
      {"#.c", "a.c.d", false},
      {"#.c", "a.b", false},
      // # in the middle
      {"a.#.c", "a.c", true},
      {"a.#.c", "a.b.c", true},
      {"a.#.c", "a.b.b.c", true},
      {"a.#.c", "a.c.b", false},
      {"a.#.c", "a.b", false},
      {"a.#.c", "c", false},
      {"a.#.c", "a.c.c", true},
      // *.# and #.*: one or more words
      {"*.#", "a", true},
      {"*.#", "a.b.c", true},
      {"#.*", "a", true},
      {"#.*", "a.b", true},
      {"a.*.#", "a", false},
      {"a.*.#", "a.b", true},
      {"a.*.#", "a.b.c", true},
      {"#.*.c", "c", false},
      {"#.*.c", "b.c", true},
      {"#.*.c", "a.b.c", true},
      // a.#.#.b: the two # share zero or more words
      {"a.#.#.b", "a.b", true},
      {"a.#.#.b", "a.x.b", true},
      {"a.#.#.b", "a.x.y.z.b", true},
      {"a.#.#.b", "a.x", false},
      {"a.#.#.b", "b", false},
      {"#.#", "a", true},
      {"#.a.#", "a", true},
      {"#.a.#", "x.a.y", true},
      {"#.a.#", "x.y", false},
      // one-word topics against longer patterns
      {"a.b", "a", false},
      {"#.a", "a", true},
      {"a.#.a", "a", false},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(std::string(c.pattern) + " vs " + c.topic);
    ASSERT_EQ(pattern_problem(c.pattern), "");
    ASSERT_EQ(topic_problem(c.topic), "");
    const Sink s;
    Trie trie;
    ASSERT_TRUE(trie.bind(c.pattern, &s));
    const auto got = matched(trie, c.topic);
    EXPECT_EQ(got.size(), c.matches ? 1u : 0u);
    // The reference the randomized test relies on agrees with the table too.
    EXPECT_EQ(reference_match(c.pattern, c.topic), c.matches);
  }
}

TEST(TopicRules, EmptyWordsAreRejectedWithThePosition) {
  EXPECT_EQ(pattern_problem("a..b"), "pattern 'a..b': empty word at position 2");
  EXPECT_EQ(pattern_problem(".a"), "pattern '.a': empty word at position 1");
  EXPECT_EQ(pattern_problem("a."), "pattern 'a.': empty word at position 2");
  EXPECT_EQ(pattern_problem("."), "pattern '.': empty word at position 1");
  EXPECT_EQ(topic_problem("a..b"), "topic 'a..b': empty word at position 2");
  EXPECT_EQ(topic_problem("a.b."), "topic 'a.b.': empty word at position 3");
  EXPECT_EQ(topic_problem(""), "topic is empty (1..255 bytes)");
  EXPECT_EQ(pattern_problem(""), "pattern is empty (1..255 bytes)");
}

TEST(TopicRules, WildcardsInsideWordsAreRejected) {
  EXPECT_EQ(pattern_problem("a*.b"),
            "pattern 'a*.b': '*' inside word 1 'a*' (a wildcard must be a whole word)");
  EXPECT_EQ(pattern_problem("a.#b"),
            "pattern 'a.#b': '#' inside word 2 '#b' (a wildcard must be a whole word)");
  EXPECT_EQ(pattern_problem("**"),
            "pattern '**': '*' inside word 1 '**' (a wildcard must be a whole word)");
  EXPECT_EQ(pattern_problem("a.*#"),
            "pattern 'a.*#': '*' inside word 2 '*#' (a wildcard must be a whole word)");
  EXPECT_EQ(pattern_problem("*.#.a.*"), "");
}

TEST(TopicRules, TopicsHaveNoWildcards) {
  EXPECT_EQ(topic_problem("a.*"),
            "topic 'a.*': wildcard character in word 2 '*' (a topic may not contain '*' or '#'; "
            "wildcards are for patterns)");
  EXPECT_EQ(topic_problem("#"),
            "topic '#': wildcard character in word 1 '#' (a topic may not contain '*' or '#'; "
            "wildcards are for patterns)");
  // Inside a word too: a topic that no wildcard-free pattern could name is refused.
  EXPECT_EQ(topic_problem("price.#1"),
            "topic 'price.#1': wildcard character in word 2 '#1' (a topic may not contain '*' or "
            "'#'; wildcards are for patterns)");
  EXPECT_EQ(topic_problem("sensors.kitchen.temp"), "");
  EXPECT_EQ(topic_problem("caf\xc3\xa9.t-1_x:y"), "");
}

TEST(TopicRules, LengthIsOneTo255Bytes) {
  const std::string longest = std::string(127, 'a') + "." + std::string(127, 'b');
  ASSERT_EQ(longest.size(), 255u);
  EXPECT_EQ(topic_problem(longest), "");
  EXPECT_EQ(pattern_problem(longest), "");
  const std::string too_long = longest + "b";
  EXPECT_EQ(topic_problem(too_long),
            "topic '" + std::string(64, 'a') + "...' is 256 bytes, at most 255");
  EXPECT_EQ(pattern_problem(too_long),
            "pattern '" + std::string(64, 'a') + "...' is 256 bytes, at most 255");
}

TEST(TopicRules, ReasonsStayOnePrintableLine) {
  EXPECT_EQ(topic_problem(std::string("a\n..")), "topic 'a\\x0a..': empty word at position 2");
  EXPECT_EQ(topic_problem(std::string("x\0..", 4)), "topic 'x\\x00..': empty word at position 2");
}

TEST(TopicTrie, InvalidPatternsAreNotBoundAndInvalidTopicsMatchNothing) {
  const Sink s;
  Trie trie;
  EXPECT_FALSE(trie.bind("a..b", &s));
  EXPECT_FALSE(trie.bind("a*", &s));
  EXPECT_FALSE(trie.bind("", &s));
  EXPECT_EQ(trie.size(), 0u);
  EXPECT_EQ(trie.nodes(), 0u);
  ASSERT_TRUE(trie.bind("#", &s));
  for (const char* topic : {"", "a..b", ".a", "a.", "a.*", "*", "#", "a#"}) {
    SCOPED_TRACE(topic);
    EXPECT_TRUE(matched(trie, topic).empty());
  }
  EXPECT_TRUE(matched(trie, std::string(256, 'a')).empty());
  EXPECT_EQ(matched(trie, std::string(255, 'a')).size(), 1u);
}

TEST(TopicTrie, BindTwiceIsRefusedAndBindingsAreSorted) {
  const Sink s[3];
  Trie trie;
  EXPECT_TRUE(trie.bind("b.*", &s[1]));
  EXPECT_TRUE(trie.bind("a.#", &s[2]));
  EXPECT_TRUE(trie.bind("b.*", &s[0]));
  EXPECT_TRUE(trie.bind("a.#", &s[0]));
  EXPECT_FALSE(trie.bind("b.*", &s[1]));
  EXPECT_EQ(trie.size(), 4u);
  using B = std::pair<std::string, const Sink*>;
  EXPECT_EQ(trie.bindings(),
            (std::vector<B>{{"a.#", &s[0]}, {"a.#", &s[2]}, {"b.*", &s[0]}, {"b.*", &s[1]}}));
  EXPECT_EQ(trie.bindings_of(&s[0]), (std::vector<std::string>{"a.#", "b.*"}));
  EXPECT_EQ(trie.bindings_of(&s[1]), (std::vector<std::string>{"b.*"}));
  const Sink other;
  EXPECT_TRUE(trie.bindings_of(&other).empty());
}

TEST(TopicTrie, TargetMatchedByManyPatternsIsReportedOnce) {
  const Sink q, r;
  Trie trie;
  for (const char* p : {"a.b", "a.*", "*.b", "#", "a.#", "#.b", "a.#.b", "#.#"}) {
    ASSERT_TRUE(trie.bind(p, &q));
  }
  ASSERT_TRUE(trie.bind("a.b", &r));
  ASSERT_TRUE(trie.bind("#", &r));
  std::vector<const Sink*> out;
  trie.match("a.b", out);
  std::sort(out.begin(), out.end());
  const std::vector<const Sink*> both = [&] {
    std::vector<const Sink*> v{&q, &r};
    std::sort(v.begin(), v.end());
    return v;
  }();
  EXPECT_EQ(out, both);
  // Once per call, not once ever; and match appends to what out already holds.
  trie.match("a.b", out);
  EXPECT_EQ(out.size(), 4u);
  EXPECT_EQ(matched(trie, "z"), both);
}

TEST(TopicTrie, ManyTargetsOnOnePattern) {
  std::vector<Sink> sinks(1000);
  Trie trie;
  for (const Sink& s : sinks) ASSERT_TRUE(trie.bind("orders.#", &s));
  EXPECT_EQ(matched(trie, "orders.eu.new").size(), sinks.size());
  EXPECT_TRUE(matched(trie, "invoices.eu").empty());
  // Unbinding in a scattered order exercises the swap-with-last removal.
  std::set<const Sink*> left;
  for (const Sink& s : sinks) left.insert(&s);
  std::mt19937 rng(7);
  std::vector<std::size_t> order(sinks.size());
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::shuffle(order.begin(), order.end(), rng);
  for (std::size_t k = 0; k < 600; ++k) {
    ASSERT_TRUE(trie.unbind("orders.#", &sinks[order[k]]));
    left.erase(&sinks[order[k]]);
  }
  EXPECT_EQ(matched(trie, "orders"), std::vector<const Sink*>(left.begin(), left.end()));
  EXPECT_EQ(trie.size(), 400u);
}

TEST(TopicTrie, UnbindPrunesEmptyNodes) {
  const Sink q, r;
  Trie trie;
  ASSERT_TRUE(trie.bind("a.b.c", &q));
  EXPECT_EQ(trie.nodes(), 3u);
  ASSERT_TRUE(trie.bind("a.b.d", &q));
  EXPECT_EQ(trie.nodes(), 4u);
  ASSERT_TRUE(trie.bind("a.*.#", &q));
  EXPECT_EQ(trie.nodes(), 6u);
  ASSERT_TRUE(trie.bind("a.b.d", &r));
  EXPECT_EQ(trie.nodes(), 6u);

  EXPECT_FALSE(trie.unbind("a.b", &q));    // a node on the path, but no binding there
  EXPECT_FALSE(trie.unbind("a.b.c", &r));  // the pattern exists for another target only
  EXPECT_FALSE(trie.unbind("x.y", &q));
  EXPECT_TRUE(trie.unbind("a.b.c", &q));
  EXPECT_EQ(trie.nodes(), 5u);
  EXPECT_FALSE(trie.unbind("a.b.c", &q));
  EXPECT_TRUE(trie.unbind("a.b.d", &q));
  EXPECT_EQ(trie.nodes(), 5u);                       // r still holds a.b.d
  EXPECT_TRUE(matched(trie, "a.b.c").size() == 1u);  // via a.*.#
  EXPECT_TRUE(trie.unbind("a.b.d", &r));
  EXPECT_EQ(trie.nodes(), 3u);  // a, *, #
  EXPECT_TRUE(trie.unbind("a.*.#", &q));
  EXPECT_EQ(trie.nodes(), 0u);
  EXPECT_EQ(trie.size(), 0u);
  EXPECT_TRUE(trie.bindings().empty());
  EXPECT_TRUE(matched(trie, "a.b.d").empty());
}

TEST(TopicTrie, UnbindAllRemovesOnlyThatTargetsBindings) {
  const Sink q, r;
  Trie trie;
  ASSERT_TRUE(trie.bind("a.b", &q));
  ASSERT_TRUE(trie.bind("x.#", &q));
  ASSERT_TRUE(trie.bind("*.y", &q));
  ASSERT_TRUE(trie.bind("a.b", &r));
  const std::size_t nodes_of_r = [] {
    Trie only_r;
    const Sink s;
    only_r.bind("a.b", &s);
    return only_r.nodes();
  }();
  trie.unbind_all(&q);
  EXPECT_EQ(trie.size(), 1u);
  EXPECT_TRUE(trie.bindings_of(&q).empty());
  EXPECT_EQ(trie.nodes(), nodes_of_r);
  EXPECT_EQ(matched(trie, "a.b"), std::vector<const Sink*>{&r});
  EXPECT_TRUE(matched(trie, "x.y").empty());
  trie.unbind_all(&q);  // nothing left: a no-op
  trie.unbind_all(&r);
  EXPECT_EQ(trie.size(), 0u);
  EXPECT_EQ(trie.nodes(), 0u);
  // A target can be bound again after unbind_all.
  EXPECT_TRUE(trie.bind("a.b", &q));
  EXPECT_EQ(matched(trie, "a.b"), std::vector<const Sink*>{&q});
}

TEST(TopicTrie, ManyHashesAgainstTheLongestTopicStayCheap) {
  // Without the (node, position) memo these take about C(135, 7) paths: the test would not end.
  const Sink q, r, s;
  Trie trie;
  ASSERT_TRUE(trie.bind("#.#.#.#.#.#.#.#", &q));
  ASSERT_TRUE(trie.bind("a.#.a.#.a.#.a.#.b", &r));
  ASSERT_TRUE(trie.bind("#.a.#.a.#.a.#.a.#.c", &s));
  std::string topic = "a";
  while (topic.size() + 2 <= kMaxTopicBytes - 2) topic += ".a";
  topic += ".b";
  ASSERT_EQ(topic_problem(topic), "");
  for (int i = 0; i < 100; ++i) {
    auto got = matched(trie, topic);
    std::vector<const Sink*> want{&q, &r};
    std::sort(want.begin(), want.end());
    ASSERT_EQ(got, want);
  }
}

TEST(TopicTrie, MovedTrieKeepsWorking) {
  const Sink q;
  Trie a;
  ASSERT_TRUE(a.bind("a.#", &q));
  Trie b = std::move(a);
  EXPECT_EQ(matched(b, "a.b"), std::vector<const Sink*>{&q});
  EXPECT_TRUE(b.unbind("a.#", &q));
  EXPECT_EQ(b.nodes(), 0u);
}

TEST(TopicTrie, IntegerTargets) {
  TopicTrie<int> trie;
  ASSERT_TRUE(trie.bind("a.*", 2));
  ASSERT_TRUE(trie.bind("a.*", 1));
  std::vector<int> out;
  trie.match("a.b", out);
  std::sort(out.begin(), out.end());
  EXPECT_EQ(out, (std::vector<int>{1, 2}));
  EXPECT_EQ(trie.bindings(), (std::vector<std::pair<std::string, int>>{{"a.*", 1}, {"a.*", 2}}));
}

// The trie against reference_match over random patterns and topics from a small vocabulary (so
// that literal words collide often), through binds, unbinds and unbind_alls.
TEST(TopicTrie, AgreesWithReferenceMatcherOnRandomInput) {
  std::mt19937 rng(20240604);
  const std::vector<std::string> vocabulary{"a", "b", "c", "d"};
  auto pick = [&](std::size_t n) { return static_cast<std::size_t>(rng() % n); };
  auto random_pattern = [&] {
    std::string p;
    const std::size_t words = 1 + pick(5);
    for (std::size_t i = 0; i < words; ++i) {
      if (i) p += '.';
      const std::size_t roll = pick(10);
      p += roll < 2 ? "*" : roll < 4 ? "#" : vocabulary[pick(vocabulary.size())];
    }
    return p;
  };
  auto random_topic = [&] {
    std::string t;
    const std::size_t words = 1 + pick(7);
    for (std::size_t i = 0; i < words; ++i) {
      if (i) t += '.';
      t += vocabulary[pick(vocabulary.size())];
    }
    return t;
  };

  constexpr std::size_t kTargets = 200;
  std::vector<Sink> sinks(kTargets);
  std::set<std::pair<std::string, const Sink*>> model;
  Trie trie;

  auto check = [&](std::size_t topics) {
    ASSERT_EQ(trie.size(), model.size());
    const std::vector<std::pair<std::string, const Sink*>> want(model.begin(), model.end());
    ASSERT_EQ(trie.bindings(), want);
    std::vector<std::pair<std::vector<std::string>, const Sink*>> split_model;
    for (const auto& [pattern, target] : model) split_model.emplace_back(split(pattern), target);
    for (std::size_t k = 0; k < topics; ++k) {
      const std::string topic = random_topic();
      const std::vector<std::string> topic_words = split(topic);
      std::set<const Sink*> want;
      for (const auto& [words, target] : split_model) {
        if (reference_match(words, 0, topic_words, 0)) want.insert(target);
      }
      std::vector<const Sink*> got;
      trie.match(topic, got);
      std::sort(got.begin(), got.end());
      ASSERT_EQ(got, std::vector<const Sink*>(want.begin(), want.end())) << topic;
    }
  };

  for (int i = 0; i < 3000; ++i) {
    const std::string p = random_pattern();
    const Sink* t = &sinks[pick(kTargets)];
    ASSERT_EQ(trie.bind(p, t), model.emplace(p, t).second) << p;
  }
  check(3000);

  // Remove about half the bindings, one at a time, each followed by a random unbind (which
  // mostly names no binding).
  std::vector<std::pair<std::string, const Sink*>> all(model.begin(), model.end());
  std::shuffle(all.begin(), all.end(), rng);
  for (std::size_t i = 0; i < all.size() / 2; ++i) {
    // A random unbind below may have taken this one already.
    ASSERT_EQ(trie.unbind(all[i].first, all[i].second), model.erase(all[i]) == 1);
    const std::string p = random_pattern();
    const Sink* t = &sinks[pick(kTargets)];
    ASSERT_EQ(trie.unbind(p, t), model.erase({p, t}) == 1) << p;
  }
  check(2000);

  // Delete a quarter of the targets.
  for (std::size_t i = 0; i < kTargets; i += 4) {
    trie.unbind_all(&sinks[i]);
    std::erase_if(model, [&](const auto& b) { return b.second == &sinks[i]; });
  }
  check(2000);

  for (std::size_t i = 0; i < kTargets; ++i) trie.unbind_all(&sinks[i]);
  EXPECT_EQ(trie.size(), 0u);
  EXPECT_EQ(trie.nodes(), 0u);
}

}  // namespace
}  // namespace postbox::broker
