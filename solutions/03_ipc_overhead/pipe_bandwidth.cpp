// Reference solution: how many bytes per second a pipe carries to another process.
#include "ipc_overhead.hpp"

#include <kata/child.hpp>
#include <kata/errors.hpp>
#include <kata/fd.hpp>
#include <kata/io.hpp>

#include <algorithm>
#include <chrono>
#include <stdexcept>
#include <string>
#include <vector>

namespace kata {

namespace {

// The child's whole life: count the bytes until end of file, then report the count.
int count_bytes(int data, int report, std::size_t block) {
  std::vector<std::byte> buffer(block);
  std::int64_t received = 0;
  while (const std::size_t n = read_some(data, buffer)) {
    received += static_cast<std::int64_t>(n);
  }
  write_value(report, received);
  return 0;
}

}  // namespace

double pipe_bandwidth(std::int64_t total_bytes, std::int64_t block_bytes) {
  if (total_bytes < 1 || block_bytes < 1 || block_bytes > total_bytes) {
    throw std::invalid_argument("pipe_bandwidth: need 1 <= block_bytes <= total_bytes (got " +
                                std::to_string(block_bytes) + " and " +
                                std::to_string(total_bytes) + ")");
  }
  const auto block = static_cast<std::size_t>(block_bytes);

  Pipe data = make_pipe();
  Pipe count = make_pipe();
  ChildProcess child = fork_child([&] {
    data.write_end.reset();  // else the child never sees end of file
    count.read_end.reset();
    return count_bytes(data.read_end.get(), count.write_end.get(), block);
  });
  data.read_end.reset();
  count.write_end.reset();

  const SigpipeGuard no_sigpipe;  // the child may die while we write to it
  const std::vector<std::byte> buffer(block, std::byte{0x5a});
  const auto start = std::chrono::steady_clock::now();
  for (std::int64_t left = total_bytes; left > 0;) {
    const auto n = static_cast<std::size_t>(std::min(left, block_bytes));
    write_all(data.write_end.get(), std::span(buffer).first(n));
    left -= static_cast<std::int64_t>(n);
  }
  data.write_end.close();  // end of file: the child stops counting and reports
  std::int64_t counted = 0;
  const bool reported =
      read_exact_or_eof(count.read_end.get(), std::as_writable_bytes(std::span{&counted, 1}));
  const std::chrono::duration<double> elapsed = std::chrono::steady_clock::now() - start;

  const ExitStatus status = child.wait();
  if (!reported || !status.success()) {
    throw WorkerError("pipe_bandwidth: the counting child " + status.describe() +
                      (reported ? "" : " without reporting its count"));
  }
  if (counted != total_bytes) {
    throw std::runtime_error("pipe_bandwidth: the child counted " + std::to_string(counted) +
                             " bytes, but " + std::to_string(total_bytes) + " were sent");
  }
  return static_cast<double>(total_bytes) / elapsed.count();
}

}  // namespace kata
