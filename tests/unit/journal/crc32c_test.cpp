// CRC32C: the published check value, the CPU path against the portable one, and continuation.
#include "broker/journal/crc32c.hpp"

#include <gtest/gtest.h>

#include <random>
#include <string>

namespace postbox::broker::journal {
namespace {

std::span<const std::byte> bytes(const std::string& s) {
  return std::as_bytes(std::span(s.data(), s.size()));
}

TEST(Crc32c, MatchesTheCheckValueOfTheCastagnoliPolynomial) {
  // The standard check: CRC-32C("123456789") = 0xE3069283 (RFC 3720, iSCSI).
  EXPECT_EQ(crc32c(bytes("123456789")), 0xE3069283u);
  EXPECT_EQ(crc32c_portable(bytes("123456789")), 0xE3069283u);
  EXPECT_EQ(crc32c(bytes("")), 0u);
}

TEST(Crc32c, TheCpuInstructionAgreesWithThePortableCodeOnEveryLengthAndAlignment) {
  std::mt19937 rng(7);
  std::string data(1500, '\0');
  for (char& c : data) c = static_cast<char>(rng());
  for (std::size_t start = 0; start < 9; ++start) {
    for (std::size_t len = 0; start + len <= data.size(); len += 1 + len / 7) {
      auto part = bytes(data).subspan(start, len);
      ASSERT_EQ(crc32c(part), crc32c_portable(part)) << "start " << start << " length " << len;
    }
  }
}

TEST(Crc32c, ContinuesFromThePreviousValue) {
  const std::string a = "write-ahead ", b = "log";
  EXPECT_EQ(crc32c(bytes(b), crc32c(bytes(a))), crc32c(bytes(a + b)));
  EXPECT_EQ(crc32c_portable(bytes(b), crc32c_portable(bytes(a))), crc32c(bytes(a + b)));
}

}  // namespace
}  // namespace postbox::broker::journal
