// Tests for proto/errc.cpp: stable identifiers, readable messages, the error category.
#include "proto/errc.hpp"

#include <gtest/gtest.h>

#include <set>
#include <string>

namespace postbox::proto {
namespace {

constexpr Errc kAllCodes[] = {
    Errc::ok,
    Errc::protocol_error,
    Errc::unsupported_version,
    Errc::invalid_argument,
    Errc::no_such_queue,
    Errc::queue_exists,
    Errc::permission_denied,
    Errc::no_message,
    Errc::queue_full,
    Errc::too_big,
    Errc::queue_removed,
    Errc::shutting_down,
    Errc::resource_limit,
    Errc::internal_error,
};

TEST(Errc, WireValuesAreFixed) {
  // These numbers are the protocol (PROTOCOL.md "Errors"); a change here breaks every client.
  struct Case {
    Errc code;
    uint16_t value;
    const char* name;
  };
  const Case cases[] = {
      {Errc::ok, 0, "ok"},
      {Errc::protocol_error, 1, "protocol_error"},
      {Errc::unsupported_version, 2, "unsupported_version"},
      {Errc::invalid_argument, 3, "invalid_argument"},
      {Errc::no_such_queue, 4, "no_such_queue"},
      {Errc::queue_exists, 5, "queue_exists"},
      {Errc::permission_denied, 6, "permission_denied"},
      {Errc::no_message, 7, "no_message"},
      {Errc::queue_full, 8, "queue_full"},
      {Errc::too_big, 9, "too_big"},
      {Errc::queue_removed, 10, "queue_removed"},
      {Errc::shutting_down, 11, "shutting_down"},
      {Errc::resource_limit, 12, "resource_limit"},
      {Errc::internal_error, 13, "internal_error"},
      {Errc::storage_error, 14, "storage_error"},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(static_cast<uint16_t>(c.code), c.value) << c.name;
    EXPECT_EQ(to_string(c.code), c.name);
  }
}

TEST(Errc, UnlistedValueIsUnknown) {
  EXPECT_EQ(to_string(static_cast<Errc>(15)), "unknown");
  EXPECT_EQ(to_string(static_cast<Errc>(0xFFFF)), "unknown");
}

TEST(ErrcCategory, NameIsPostbox) {
  EXPECT_STREQ(error_category().name(), "postbox");
}

TEST(ErrcCategory, EveryCodeHasADistinctReadableMessage) {
  std::set<std::string> seen;
  for (auto code : kAllCodes) {
    std::error_code ec = code;  // through is_error_code_enum
    EXPECT_EQ(&ec.category(), &error_category());
    auto text = ec.message();
    EXPECT_FALSE(text.empty()) << to_string(code);
    EXPECT_NE(text.find_first_not_of(' '), std::string::npos);
    EXPECT_TRUE(seen.insert(text).second) << "duplicate message: " << text;
  }
}

TEST(ErrcCategory, UnknownValuesKeepTheirNumber) {
  EXPECT_EQ(error_category().message(99), "unknown postbox error 99");
  EXPECT_EQ(error_category().message(-1), "unknown postbox error -1");
  EXPECT_EQ(error_category().message(65536), "unknown postbox error 65536");
}

TEST(ErrcCategory, ComparesWithTheEnum) {
  std::error_code ec = make_error_code(Errc::queue_full);
  EXPECT_EQ(ec, Errc::queue_full);
  EXPECT_NE(ec, Errc::no_message);
  EXPECT_EQ(ec.value(), 8);
}

}  // namespace
}  // namespace postbox::proto
