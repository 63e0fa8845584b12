// Reference solution: the price of a process: fork(), an empty child, waitpid().
#include "ipc_overhead.hpp"

#include <kata/child.hpp>
#include <kata/errors.hpp>

#include <unistd.h>

#include <chrono>
#include <stdexcept>
#include <string>

namespace kata {

double process_start_ns(std::int64_t iterations) {
  if (iterations < 1) {
    throw std::invalid_argument("process_start_ns: iterations must be at least 1 (got " +
                                std::to_string(iterations) + ")");
  }
  const auto start = std::chrono::steady_clock::now();
  for (std::int64_t i = 0; i < iterations; ++i) {
    const pid_t pid = ::fork();
    if (pid == -1) {
      throw_errno("fork");
    }
    if (pid == 0) {
      // _exit, not exit: exit() would run this process's atexit handlers and
      // flush stdio buffers it inherited from the parent, printing them twice.
      ::_exit(0);
    }
    // Reaped before the next fork: a zombie holds its pid and its slot in the
    // process table until then.
    const ExitStatus status = ChildProcess(pid).wait();
    if (!status.success()) {
      throw WorkerError("process_start_ns: a child that only calls _exit(0) " + status.describe());
    }
  }
  const std::chrono::duration<double, std::nano> elapsed = std::chrono::steady_clock::now() - start;
  return elapsed.count() / static_cast<double>(iterations);
}

}  // namespace kata
