// The vocabulary every exercise shares: what a task is, and how failures reach the caller.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>

namespace kata {

// A task is a plain function pointer, not a std::function or a capturing lambda.
// fork() copies the whole address space, so the same address names the same
// function in every forked child; captured state built after the fork would not
// travel. It is the C++ face of Python's rule that a Pool's function must be an
// importable, top-level function.
using Task = std::int64_t (*)(std::int64_t);

// A task threw, or a worker process died. The message says which, and why.
class WorkerError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// A child process missed its deadline; it has been killed and reaped.
class ChildTimeout : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// What every stub throws until the student writes the function.
class NotImplemented : public std::logic_error {
 public:
  explicit NotImplemented(std::string_view function);
};

// Throws std::system_error carrying `error` (errno by default), with the message
// "<what>: <strerror text>", e.g. "fork: Resource temporarily unavailable".
[[noreturn]] void throw_errno(std::string_view what);
[[noreturn]] void throw_errno(std::string_view what, int error);

}  // namespace kata
