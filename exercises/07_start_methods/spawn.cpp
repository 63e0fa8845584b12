// Your StartMethod::spawn and spawn_entry_hook() (start_methods.hpp, start_methods_parts.hpp).
// Read README.md first; `./kata hint 07` helps when you are stuck.
#include "start_methods_parts.hpp"

namespace kata {

void spawn_entry_hook([[maybe_unused]] int argc, [[maybe_unused]] char** argv) {
  // main() calls this before anything else, in every run: it must return at
  // once unless this process is a spawned child. (Unlike every other stub it
  // does not throw: that would end every test binary before its first test.)
}

namespace detail {

std::int64_t run_spawned([[maybe_unused]] std::string_view task_name,
                         [[maybe_unused]] std::int64_t arg,
                         [[maybe_unused]] Clock::time_point end) {
  throw NotImplemented("run_spawned");
}

}  // namespace detail

}  // namespace kata
