// Uses the installed headers and library: a connect that fails the documented way.
#include <postbox/client.hpp>

#include <cstdio>

int main(int argc, char** argv) {
  if (argc != 2) return 2;
  postbox::Client c;
  try {
    c.connect(argv[1]);
  } catch (const postbox::Error& e) {
    std::printf("%s\n", e.what());
    return e.errc() == postbox::Errc::unreachable ? 0 : 1;
  }
  return 1;
}
