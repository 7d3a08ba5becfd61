// Correlation ids and the queue-name test behind Client::request().
#include "client/request.hpp"

#include <algorithm>
#include <cstdio>
#include <random>

namespace postbox::detail {

std::string correlation_id(uint64_t nonce, uint64_t n) {
  char hex[17];
  std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(nonce));
  return std::string(hex) + "-" + std::to_string(n);
}

uint64_t random_nonce() {
  std::random_device rd;
  return (static_cast<uint64_t>(rd()) << 32) ^ rd();
}

bool could_be_queue_name(std::string_view name) noexcept {
  auto allowed = [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '_' || c == '-';
  };
  return !name.empty() && name.size() <= 255 && std::all_of(name.begin(), name.end(), allowed);
}

}  // namespace postbox::detail
