// Exercise 03: why Pool.map was 1000x slower. Measure what inter-process
// communication costs, then remove the data copies with a shared mapping.
//
// The contract: tests and graders call exactly these functions.
// Sizes and counts are std::int64_t so that a negative value is an error the
// function can report (std::invalid_argument), not a huge unsigned number.
#pragma once

#include <kata/errors.hpp>

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace kata {

// Nanoseconds per round trip of a `bytes`-byte message between this process and
// a forked child, over two pipes: the parent writes the message, the child reads
// all of it and writes it back, the parent reads the echo and checks that every
// byte is what it sent (std::runtime_error if not). Averaged over `iterations`
// round trips; the fork is not timed. The child is reaped before returning.
// bytes < 1 or iterations < 1: std::invalid_argument (a pipe cannot carry an
// empty message: a zero-byte write() sends nothing the reader could see).
[[nodiscard]] double pipe_round_trip_ns(std::int64_t bytes, std::int64_t iterations);

// Bytes per second through a pipe to a forked child: the parent writes
// `total_bytes` in write()s of `block_bytes` (the last one may be shorter), the
// child reads (in reads of up to `block_bytes`) and counts until end of file, then
// sends its count back over a second pipe; the parent checks it (std::runtime_error
// if it differs). Timed from the first write to the count's arrival.
// total_bytes < 1, block_bytes < 1 or block_bytes > total_bytes: std::invalid_argument.
[[nodiscard]] double pipe_bandwidth(std::int64_t total_bytes, std::int64_t block_bytes);

// Nanoseconds to start and end one process: fork(), the child _exit(0)s at once,
// the parent waitpid()s for it. Averaged over `iterations` processes, each reaped
// before the next starts. iterations < 1: std::invalid_argument.
[[nodiscard]] double process_start_ns(std::int64_t iterations);

// The chunk size Python's Pool.map picks when you give none:
// ceil(items / (4 * workers)), and at least 1 (auto_chunk(0, w) is 1).
// workers == 0: std::invalid_argument.
[[nodiscard]] std::size_t auto_chunk(std::size_t items, unsigned workers);

// map() without a pipe in sight: the results live in a shared anonymous mapping
// (mmap MAP_SHARED | MAP_ANONYMOUS) made before the fork; min(workers, items.size())
// forked workers each compute one contiguous range of the items (a static
// partition: range sizes differ by at most one) and write their results in place.
// The parent waits for every worker, then copies the results out, in order.
// workers == 0 means default_worker_count(). A null task: std::invalid_argument.
// A task that throws, or a worker that dies or ends without finishing its range:
// WorkerError (carrying the task's message, or naming the signal), never partial
// results. On every path every worker is reaped and the mapping unmapped.
[[nodiscard]] std::vector<std::int64_t> shm_map(Task task, std::span<const std::int64_t> items,
                                                unsigned workers);

}  // namespace kata
