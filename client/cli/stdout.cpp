// Writing results to stdout: every write checked, messages one per line.
#include "client/cli/stdout.hpp"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>

#include "client/cli/output.hpp"

namespace postbox::cli {

void print(std::string_view s) {
  if (std::fwrite(s.data(), 1, s.size(), stdout) != s.size())
    throw LocalError(std::string("cannot write to stdout: ") + std::strerror(errno));
}

void print_line(std::string_view s) {
  print(s);
  print("\n");
}

void print_message(const Invocation& inv, const Message& m, TextForm form) {
  if (inv.global.json) return print_line(message_json(m));
  if (form == TextForm::tag_payload) print(std::to_string(m.delivery_tag) + "\t");
  print_line(m.payload);
}

std::size_t print_messages(const Invocation& inv, const std::vector<Message>& messages,
                           TextForm form) {
  for (const auto& m : messages) print_message(inv, m, form);
  std::fflush(stdout);
  return messages.size();
}

}  // namespace postbox::cli
