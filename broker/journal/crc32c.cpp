// CRC32C: the SSE 4.2 crc32 instruction (8 bytes per step) where the CPU has
// it, else Boost.CRC's table-driven version (Debian has no crc32c library).
#include "broker/journal/crc32c.hpp"

#include <boost/crc.hpp>
#include <cstring>

#if defined(__x86_64__)
#include <nmmintrin.h>
#endif

namespace postbox::broker::journal {
namespace {

using Castagnoli = boost::crc_optimal<32, 0x1EDC6F41, 0xFFFFFFFF, 0xFFFFFFFF, true, true>;

#if defined(__x86_64__)
__attribute__((target("sse4.2"))) uint32_t crc32c_sse42(std::span<const std::byte> data,
                                                        uint32_t crc) noexcept {
  uint64_t c = crc ^ 0xFFFFFFFFu;
  const std::byte* p = data.data();
  std::size_t n = data.size();
  for (; n >= 8; p += 8, n -= 8) {
    uint64_t word;
    std::memcpy(&word, p, 8);
    c = _mm_crc32_u64(c, word);
  }
  auto c32 = static_cast<uint32_t>(c);
  for (; n > 0; ++p, --n) c32 = _mm_crc32_u8(c32, static_cast<uint8_t>(*p));
  return c32 ^ 0xFFFFFFFFu;
}

const bool kHaveSse42 = __builtin_cpu_supports("sse4.2");
#endif

}  // namespace

uint32_t crc32c_portable(std::span<const std::byte> data, uint32_t crc) noexcept {
  // crc_optimal's register holds the value before the final inversion.
  Castagnoli c(crc ^ 0xFFFFFFFFu);
  c.process_bytes(data.data(), data.size());
  return c.checksum();
}

uint32_t crc32c(std::span<const std::byte> data, uint32_t crc) noexcept {
#if defined(__x86_64__)
  if (kHaveSse42) return crc32c_sse42(data, crc);
#endif
  return crc32c_portable(data, crc);
}

}  // namespace postbox::broker::journal
