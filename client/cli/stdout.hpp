// Writing results to stdout, shared by the subcommands; a failed write is a LocalError.
#pragma once

#include <stdexcept>
#include <string_view>
#include <vector>

#include "client/cli/parse.hpp"
#include "postbox/types.hpp"

namespace postbox::cli {

/// A local failure (unreadable file, stdout closed): exit status 1.
class LocalError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

void print(std::string_view s);
void print_line(std::string_view s);

/// How print_messages() shows a message in text mode.
enum class TextForm {
  payload,      ///< PAYLOAD
  tag_payload,  ///< TAG<tab>PAYLOAD (recv --ack: the tag is what `postbox ack` takes)
};

/// One line for a message: --json: message_json(), else `form`. No flush.
void print_message(const Invocation& inv, const Message& m, TextForm form = TextForm::payload);
/// print_message() for each, then a flush; returns how many.
std::size_t print_messages(const Invocation& inv, const std::vector<Message>& messages,
                           TextForm form = TextForm::payload);

}  // namespace postbox::cli
