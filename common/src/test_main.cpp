// The main() of every exercise's test binary.
#include <gtest/gtest.h>

namespace kata {
// Exercise 07 defines this (a spawned child of the test binary runs its task
// there and never returns); everywhere else it is absent, and the weak
// declaration makes its address null instead of a link error.
[[gnu::weak]] void spawn_entry_hook(int argc, char** argv);
}  // namespace kata

int main(int argc, char** argv) {
  if (kata::spawn_entry_hook != nullptr) {
    kata::spawn_entry_hook(argc, argv);
  }
  ::testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
