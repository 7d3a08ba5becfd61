// Tests for broker/selector.cpp: which message types each msgrcv selector form accepts.
#include "broker/selector.hpp"

#include <gtest/gtest.h>

#include <limits>

namespace postbox::broker {
namespace {

constexpr int64_t kMin = std::numeric_limits<int64_t>::min();
constexpr int64_t kMax = std::numeric_limits<int64_t>::max();

TEST(Selector, AcceptsPerMsgrcvRules) {
  struct Case {
    int64_t type;
    bool except;
    int64_t message_type;
    bool accepted;
  };
  const Case cases[] = {
      // type 0: anything, except is meaningless
      {0, false, 1, true},
      {0, false, kMax, true},
      {0, true, 1, true},
      // type > 0: exactly that type
      {5, false, 5, true},
      {5, false, 4, false},
      {5, false, 6, false},
      {1, false, 1, true},
      {kMax, false, kMax, true},
      // type > 0 with except: any other type
      {5, true, 5, false},
      {5, true, 4, true},
      {5, true, 6, true},
      // type < 0: any type <= |type|; except ignored as in Linux
      {-5, false, 1, true},
      {-5, false, 5, true},
      {-5, false, 6, false},
      {-5, true, 5, true},
      {-5, true, 6, false},
      {-1, false, 1, true},
      {-1, false, 2, false},
      {kMin, false, kMax, true},
      {kMin + 1, false, kMax, true},
  };
  for (const Case& c : cases) {
    const Selector sut{c.type, c.except};
    EXPECT_EQ(sut.accepts(c.message_type), c.accepted)
        << "type " << c.type << (c.except ? " except" : "") << ", message type " << c.message_type;
  }
}

TEST(Selector, ClassifiesEachForm) {
  EXPECT_TRUE((Selector{0, false}.is_any()));
  EXPECT_TRUE((Selector{0, true}.is_any()));
  EXPECT_TRUE((Selector{3, false}.is_exact()));
  EXPECT_FALSE((Selector{3, true}.is_exact()));
  EXPECT_TRUE((Selector{3, true}.is_except()));
  EXPECT_TRUE((Selector{-3, true}.is_at_most()));
  EXPECT_FALSE((Selector{-3, true}.is_except()));
}

TEST(Selector, BoundSaturatesForMostNegativeType) {
  EXPECT_EQ((Selector{-7, false}.bound()), 7);
  EXPECT_EQ((Selector{kMin, false}.bound()), kMax);
  EXPECT_EQ((Selector{kMin + 1, false}.bound()), kMax);
}

}  // namespace
}  // namespace postbox::broker
