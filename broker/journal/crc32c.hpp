// CRC32C (Castagnoli), the checksum of every journal record.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

namespace postbox::broker::journal {

/// CRC32C of `data`, continuing from `crc` (the CRC of what came before; 0
/// to start). Uses the SSE 4.2 instruction when the CPU has it.
uint32_t crc32c(std::span<const std::byte> data, uint32_t crc = 0) noexcept;
/// The same without the CPU instruction (what crc32c() falls back to; tests compare them).
uint32_t crc32c_portable(std::span<const std::byte> data, uint32_t crc = 0) noexcept;

}  // namespace postbox::broker::journal
