// Topic matching cost: one publication's topic against 10,000 and 100,000 bindings.
//
// Topics look like service.region.entity.event. Bindings are 3-4 word patterns from the same
// vocabulary, a word now and then `*` and some patterns led by `#`, spread over queues with four
// bindings each, plus a few broad monitors (`#.failed`, `svc0.#`). The entity vocabulary grows
// with the binding count so that a topic matches a handful of queues either way (the "matched"
// counter shows how many per match). Each iteration matches the next of 1,024 pre-built topics,
// so the time is one match on a warm trie, including appending the matched queues to a reused
// vector.
// Run with --benchmark_repetitions=5 and read the medians.
#include <benchmark/benchmark.h>

#include <random>
#include <string>
#include <vector>

#include "broker/topic_trie.hpp"

namespace postbox::broker {
namespace {

struct Sink {
  int id = 0;
};

constexpr std::size_t kBindingsPerQueue = 4;
constexpr std::size_t kTopics = 1024;

struct Vocabulary {
  std::vector<std::string> levels[4];

  explicit Vocabulary(std::size_t entities) {
    for (int i = 0; i < 20; ++i) levels[0].push_back("svc" + std::to_string(i));
    for (int i = 0; i < 8; ++i) levels[1].push_back("region" + std::to_string(i));
    for (std::size_t i = 0; i < entities; ++i) levels[2].push_back("entity" + std::to_string(i));
    for (const char* e : {"created", "updated", "deleted", "failed", "retried", "done"}) {
      levels[3].push_back(e);
    }
  }
  const std::string& word(std::size_t level, std::mt19937& rng) const {
    return levels[level][rng() % levels[level].size()];
  }
};

// A subscriber's pattern: mostly literal words, `*` for a region or an event now and then but
// rarely for an entity (subscribers care about particular entities). A 3-word pattern is either
// literal (it names shorter topics than the benchmark publishes, but costs nodes all the same)
// or `#.entity.event`, that entity's event from any service and region.
std::string pattern(const Vocabulary& v, std::mt19937& rng) {
  if (rng() % 4 == 0) {
    const bool any_origin = rng() % 10 < 4;
    return (any_origin ? std::string("#") : v.word(0, rng) + "." + v.word(1, rng)) + "." +
           v.word(2, rng) + (any_origin ? "." + v.word(3, rng) : std::string());
  }
  static constexpr std::size_t kStarPercent[4] = {0, 15, 2, 20};
  std::string p;
  for (std::size_t level = 0; level < 4; ++level) {
    if (level) p += '.';
    p += rng() % 100 < kStarPercent[level] ? std::string("*") : v.word(level, rng);
  }
  return p;
}

// A few broad monitors, however many subscribers there are: a topic matches none, one or two.
constexpr const char* kMonitors[] = {"#.failed", "#.retried", "svc0.#",      "svc1.#",
                                     "svc2.#",   "svc3.#",    "*.region0.#", "svc4.*.*.done"};

struct Fixture {
  Fixture(std::size_t bindings, std::size_t entities) : vocabulary(entities) {
    std::mt19937 rng(42);
    sinks.resize(bindings / kBindingsPerQueue + 1);
    std::size_t i = 0;
    if (bindings > 0) {
      for (const char* m : kMonitors) trie.bind(m, &sinks[i++ / kBindingsPerQueue]);
    }
    while (trie.size() < bindings) {
      trie.bind(pattern(vocabulary, rng), &sinks[i++ / kBindingsPerQueue % sinks.size()]);
    }
    for (std::size_t t = 0; t < kTopics; ++t) {
      std::string topic;
      for (std::size_t level = 0; level < 4; ++level) {
        if (level) topic += '.';
        topic += vocabulary.word(level, rng);
      }
      topics.push_back(std::move(topic));
    }
  }

  Vocabulary vocabulary;
  std::vector<Sink> sinks;
  TopicTrie<const Sink*> trie;
  std::vector<std::string> topics;
};

void run(benchmark::State& state, Fixture& f) {
  std::vector<const Sink*> out;
  std::size_t next = 0;
  std::size_t matched = 0;
  for (auto _ : state) {
    out.clear();
    f.trie.match(f.topics[next], out);
    benchmark::DoNotOptimize(out.data());
    matched += out.size();
    next = (next + 1) % kTopics;
  }
  state.counters["matched"] =
      benchmark::Counter(static_cast<double>(matched), benchmark::Counter::kAvgIterations);
  state.counters["nodes"] = static_cast<double>(f.trie.nodes());
}

void BM_Match10kBindings(benchmark::State& state) {
  static Fixture f(10'000, 100);
  run(state, f);
}
BENCHMARK(BM_Match10kBindings);

void BM_Match100kBindings(benchmark::State& state) {
  static Fixture f(100'000, 1'000);
  run(state, f);
}
BENCHMARK(BM_Match100kBindings);

// 10,000 bindings with `#` in the middle and at an end, against twelve-word topics: each `#`
// may stop at many places. The memo keeps every (node, word position) to one visit.
void BM_Match10kHashHeavy(benchmark::State& state) {
  static Fixture f = [] {
    Fixture fresh(0, 300);
    const Vocabulary& v = fresh.vocabulary;
    std::mt19937 rng(43);
    fresh.sinks.resize(10'000 / kBindingsPerQueue + 1);
    std::size_t i = 0;
    while (fresh.trie.size() < 10'000) {
      const std::string p = rng() % 2 ? v.word(0, rng) + ".#." + v.word(2, rng) + ".#"
                                      : "#." + v.word(2, rng) + ".#." + v.word(3, rng);
      fresh.trie.bind(p, &fresh.sinks[i++ / kBindingsPerQueue % fresh.sinks.size()]);
    }
    for (std::string& topic : fresh.topics) {
      topic = v.word(0, rng);
      for (int w = 0; w < 10; ++w) topic += "." + v.word(1 + rng() % 2, rng);
      topic += "." + v.word(3, rng);
    }
    return fresh;
  }();
  run(state, f);
}
BENCHMARK(BM_Match10kHashHeavy);

}  // namespace
}  // namespace postbox::broker

BENCHMARK_MAIN();
