// Given, compiled from here in every build: the registry of tasks by name.
#include "start_methods.hpp"

#include <functional>
#include <map>
#include <stdexcept>
#include <string>

namespace kata {

namespace {

// A function-local static, built on first use. KATA_REGISTER_TASK runs while
// static objects are constructed, in an order across files that C++ leaves
// unspecified: a map at namespace scope might not exist yet when a registrar in
// another file runs (the "static initialization order fiasco").
std::map<std::string, Task, std::less<>>& registry() {
  static std::map<std::string, Task, std::less<>> tasks;
  return tasks;
}

}  // namespace

void register_task(std::string_view name, Task task) {
  if (task == nullptr) {
    throw std::invalid_argument("register_task: null task for '" + std::string(name) + "'");
  }
  if (!registry().emplace(std::string(name), task).second) {
    throw std::invalid_argument("register_task: '" + std::string(name) +
                                "' is registered twice: a name must say which function");
  }
}

// Only read after main() starts, when registration is over: no lock needed.
Task find_task(std::string_view name) noexcept {
  const auto& tasks = registry();
  const auto found = tasks.find(name);
  return found == tasks.end() ? nullptr : found->second;
}

}  // namespace kata
