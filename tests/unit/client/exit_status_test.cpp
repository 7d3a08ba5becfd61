// Tests client/cli/exit_status.cpp: the documented exit status of every error code.
#include "client/cli/exit_status.hpp"

#include <gtest/gtest.h>

namespace postbox::cli {
namespace {

TEST(ExitStatus, EveryCodeMapsToItsDocumentedStatus) {
  struct Case {
    Errc code;
    int status;
  };
  const Case cases[] = {
      {Errc::ok, 0},
      {Errc::protocol_error, 1},
      {Errc::unsupported_version, 1},
      {Errc::invalid_argument, 1},
      {Errc::no_such_queue, 5},
      {Errc::queue_exists, 6},
      {Errc::permission_denied, 7},
      {Errc::no_message, 3},
      {Errc::queue_full, 4},
      {Errc::too_big, 9},
      {Errc::queue_removed, 5},
      {Errc::shutting_down, 1},
      {Errc::resource_limit, 1},
      {Errc::internal_error, 1},
      {Errc::unreachable, 8},
      {Errc::disconnected, 8},
      {Errc::no_such_lease, 10},
      {Errc::storage_error, 11},
  };
  for (const auto& c : cases) EXPECT_EQ(exit_status(c.code), c.status) << to_string(c.code);
}

TEST(ExitStatus, CodeFromANewerBrokerIsAGeneralFailure) {
  EXPECT_EQ(exit_status(static_cast<Errc>(200)), kExitFailure);
}

}  // namespace
}  // namespace postbox::cli
