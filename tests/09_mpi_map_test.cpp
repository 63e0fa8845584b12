// Tests of exercise 09: the static and the dynamic map over MPI ranks.
//
// This binary runs under mpiexec (ctest starts it on 4, 3, 2 and 1 ranks; run
// alone it is one rank), and every test runs on every rank, because the maps are
// collective. Rank 0 prints the report. The other ranks print only their
// failures, prefixed with their rank, and every test ends by agreeing on failure
// (an MPI_Allreduce in TearDown), so that a failure on any rank fails the test
// on rank 0 and makes the run fail.
//
// No LeakCheckedTest fixture and no run_with_deadline() here. Open MPI keeps threads,
// fds (shared-memory segments, its sockets to mpiexec) and helper processes for
// the whole run, which a per-test leak check would blame on the test; and a
// forked child of an MPI process may not use MPI. A per-test alarm plays the
// deadline's part instead: a rank stuck waiting for a message that never comes
// exits with a message, and mpiexec then ends every other rank.
#include "mpi_map.hpp"

#include <signal.h>
#include <unistd.h>

#include <gtest/gtest.h>
#include <mpi.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <ostream>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace {

using namespace std::chrono_literals;
using Items = std::vector<std::int64_t>;

constexpr int kRoot = 0;

// What the tasks see. A task is a plain function pointer and cannot capture, so
// each process keeps its own copies here, set before every test.
int g_rank = -1;           // this process's rank in MPI_COMM_WORLD
std::int64_t g_calls = 0;  // how many tasks this process ran since the test began

std::int64_t three_x_plus_one(std::int64_t x) {
  ++g_calls;
  return 3 * x + 1;
}

std::int64_t rank_of_the_mapper(std::int64_t /*x*/) {
  ++g_calls;
  return g_rank;
}

std::int64_t rank_of_a_napping_mapper(std::int64_t /*x*/) {
  std::this_thread::sleep_for(1ms);
  return g_rank;
}

std::int64_t rank_of_the_mapper_item_0_slow(std::int64_t x) {
  if (x == 0) {
    std::this_thread::sleep_for(300ms);
  }
  return g_rank;
}

std::int64_t throws_on_7(std::int64_t x) {
  if (x == 7) {
    throw std::runtime_error("item 7 is bad");
  }
  return x;
}

std::int64_t throws_an_int_on_3(std::int64_t x) {
  if (x == 3) {
    throw 3;
  }
  return x;
}

bool is_root() {
  return g_rank == kRoot;
}

int world_size() {
  int size = 0;
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  return size;
}

// The sum over every rank (every rank gets it).
std::int64_t sum_over_ranks(std::int64_t mine) {
  std::int64_t sum = 0;
  MPI_Allreduce(&mine, &sum, 1, MPI_INT64_T, MPI_SUM, MPI_COMM_WORLD);
  return sum;
}

// The per-test deadline. The message is written when the test starts, because a
// signal handler may only call async-signal-safe functions (write, _exit).
constexpr unsigned kDeadlineSeconds = 20;
char g_deadline_message[512];

void on_deadline(int /*signal*/) {
  const ssize_t ignored = write(STDERR_FILENO, g_deadline_message, std::strlen(g_deadline_message));
  (void)ignored;
  _exit(124);
}

class MpiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    MPI_Comm_rank(MPI_COMM_WORLD, &g_rank);
    g_calls = 0;
    const auto* test = ::testing::UnitTest::GetInstance()->current_test_info();
    std::snprintf(g_deadline_message, sizeof g_deadline_message,
                  "[rank %d] %s.%s is still running after %u s: some rank waits for a message "
                  "that never comes (a collective call another rank skipped, or an answer never "
                  "sent)\n",
                  g_rank, test->test_suite_name(), test->name(), kDeadlineSeconds);
    alarm(kDeadlineSeconds);
  }

  void TearDown() override {
    int failed_here = HasFailure() ? 1 : 0;
    int failed_anywhere = 0;
    MPI_Allreduce(&failed_here, &failed_anywhere, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
    alarm(0);
    if (failed_anywhere != 0 && failed_here == 0) {
      ADD_FAILURE() << "this test failed on another rank: see its lines, prefixed [rank N]";
    }
  }
};

// On the root, results must be task(items[i]) for every i, in order; elsewhere, empty.
void expect_mapped(const Items& items, const Items& results, std::int64_t (*expected)(std::int64_t),
                   const std::string& what) {
  if (!is_root()) {
    EXPECT_TRUE(results.empty()) << what << ": rank " << g_rank << " got " << results.size()
                                 << " results; only the root (rank 0) gets them";
    return;
  }
  ASSERT_EQ(results.size(), items.size())
      << what << ": the root got a different number of results than it gave items";
  for (std::size_t i = 0; i < items.size(); ++i) {
    const std::int64_t want = expected(items[i]);
    if (results[i] != want) {
      ADD_FAILURE() << what << ": results[" << i << "] is " << results[i] << ", want " << want
                    << " (task(" << items[i] << ")): items lost, duplicated or out of order";
      return;
    }
  }
}

std::int64_t three_x_plus_one_uncounted(std::int64_t x) {
  return 3 * x + 1;
}

// 0, 1, 2, ... n-1, scrambled (7919 is prime, so i * 7919 % n visits every i once
// when n is not a multiple of it): a map that sorts or reverses cannot pass.
Items scrambled(std::int64_t n) {
  Items items(static_cast<std::size_t>(n));
  for (std::int64_t i = 0; i < n; ++i) {
    items[static_cast<std::size_t>(i)] = (i * 7919) % n - n / 2;
  }
  return items;
}

using MapFunction = std::vector<std::int64_t> (*)(kata::Task, std::span<const std::int64_t>,
                                                  MPI_Comm);
struct Map {
  const char* name;
  MapFunction run;
};

void PrintTo(const Map& map, std::ostream* out) {
  *out << map.name;
}

class EitherMap : public MpiTest, public ::testing::WithParamInterface<Map> {
 protected:
  // Every rank calls the map; only the root's items count.
  Items map(kata::Task task, const Items& items, MPI_Comm comm = MPI_COMM_WORLD) {
    return GetParam().run(
        task, is_root() ? std::span<const std::int64_t>(items) : std::span<const std::int64_t>(),
        comm);
  }
};

TEST_P(EitherMap, KeepsTheOrderOfItems) {
  const Items items = scrambled(1000);
  expect_mapped(items, map(three_x_plus_one, items), three_x_plus_one_uncounted, "1000 items");
}

TEST_P(EitherMap, MapsEveryItemExactlyOnce) {
  const Items items = scrambled(1000);
  const Items results = map(three_x_plus_one, items);
  expect_mapped(items, results, three_x_plus_one_uncounted, "1000 items");
  EXPECT_EQ(sum_over_ranks(g_calls), 1000)
      << "the task ran this many times over all ranks for 1000 items: items lost or mapped twice";
}

TEST_P(EitherMap, HandlesEverySizeFromNoItemsToMoreThanTwiceTheRanks) {
  // 0, 1, fewer items than ranks, as many, and counts no rank count divides.
  const std::int64_t largest = 2 * world_size() + 1;
  for (std::int64_t n = 0; n <= largest + 1; ++n) {
    const std::int64_t size = n <= largest ? n : 1001;
    g_calls = 0;
    const Items items = scrambled(size);
    const std::string what =
        std::to_string(size) + " items on " + std::to_string(world_size()) + " ranks";
    expect_mapped(items, map(three_x_plus_one, items), three_x_plus_one_uncounted, what);
    EXPECT_EQ(sum_over_ranks(g_calls), size) << what << ": tasks run over all ranks";
  }
}

TEST_P(EitherMap, MapsAHundredThousandItems) {
  const Items items = scrambled(100'000);
  expect_mapped(items, map(three_x_plus_one, items), three_x_plus_one_uncounted, "1e5 items");
  EXPECT_EQ(sum_over_ranks(g_calls), 100'000) << "tasks run over all ranks for 1e5 items";
}

TEST_P(EitherMap, IgnoresTheItemsOfOtherRanks) {
  const Items roots = scrambled(10);
  // Every rank but the root passes junk of its own length: it must not count.
  const Items junk(static_cast<std::size_t>(g_rank) + 3, -999);
  const Items results = GetParam().run(three_x_plus_one, is_root() ? roots : junk, MPI_COMM_WORLD);
  expect_mapped(roots, results, three_x_plus_one_uncounted, "10 items on the root, junk elsewhere");
  EXPECT_EQ(sum_over_ranks(g_calls), 10) << "tasks run over all ranks for the root's 10 items";
}

TEST_P(EitherMap, UsesTheCommunicatorItIsGiven) {
  // Two halves of the world map at once, each with its own root (world ranks 0 and 1).
  const int half = g_rank % 2;
  MPI_Comm comm = MPI_COMM_NULL;
  ASSERT_EQ(MPI_Comm_split(MPI_COMM_WORLD, half, g_rank, &comm), MPI_SUCCESS);
  int rank_in_half = -1;
  MPI_Comm_rank(comm, &rank_in_half);
  Items items = scrambled(50);
  for (std::int64_t& item : items) {
    item += 1000 * half;
  }
  const Items results = GetParam().run(three_x_plus_one, rank_in_half == 0 ? items : Items{}, comm);
  MPI_Comm_free(&comm);
  if (rank_in_half == 0) {
    ASSERT_EQ(results.size(), items.size()) << "rank 0 of half " << half << " is its root";
    for (std::size_t i = 0; i < items.size(); ++i) {
      ASSERT_EQ(results[i], 3 * items[i] + 1) << "half " << half << ", results[" << i << "]";
    }
  } else {
    EXPECT_TRUE(results.empty()) << "rank " << rank_in_half << " of half " << half
                                 << " is not its root, yet got results";
  }
}

TEST_P(EitherMap, LeavesTheCallersMessagesAlone) {
  // Rank 1 has sent rank 0 messages of its own, on every tag a map might use,
  // before the map starts. A map that talks on the caller's communicator
  // instead of a duplicate can take them for its own.
  if (world_size() < 2) {
    GTEST_SKIP() << "needs 2 ranks";
  }
  constexpr int kTags = 8;
  std::vector<std::int64_t> sent(kTags);
  std::vector<MPI_Request> requests;
  if (g_rank == 1) {
    for (int tag = 0; tag < kTags; ++tag) {
      sent[static_cast<std::size_t>(tag)] = 100 + tag;
      requests.emplace_back();
      MPI_Isend(&sent[static_cast<std::size_t>(tag)], 1, MPI_INT64_T, 0, tag, MPI_COMM_WORLD,
                &requests.back());
    }
  }
  MPI_Barrier(MPI_COMM_WORLD);

  const Items items = scrambled(40);
  expect_mapped(items, map(three_x_plus_one, items), three_x_plus_one_uncounted, "40 items");

  if (g_rank == 1) {
    MPI_Waitall(kTags, requests.data(), MPI_STATUSES_IGNORE);
  }
  if (is_root()) {
    for (int tag = 0; tag < kTags; ++tag) {
      int waiting = 0;
      MPI_Iprobe(1, tag, MPI_COMM_WORLD, &waiting, MPI_STATUS_IGNORE);
      ASSERT_TRUE(waiting) << "the message rank 1 sent rank 0 with tag " << tag
                           << " on MPI_COMM_WORLD was taken by the map";
      std::int64_t value = 0;
      MPI_Recv(&value, 1, MPI_INT64_T, 1, tag, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
      EXPECT_EQ(value, 100 + tag) << "the caller's message with tag " << tag;
    }
  }
}

TEST_P(EitherMap, LeavesTheCallersErrorHandlerAlone) {
  const Items items = scrambled(20);
  expect_mapped(items, map(three_x_plus_one, items), three_x_plus_one_uncounted, "20 items");
  MPI_Errhandler handler = MPI_ERRHANDLER_NULL;
  MPI_Comm_get_errhandler(MPI_COMM_WORLD, &handler);
  EXPECT_EQ(handler, MPI_ERRORS_ARE_FATAL)
      << "the map changed MPI_COMM_WORLD's error handler: set yours on a duplicate";
  MPI_Errhandler_free(&handler);
}

TEST_P(EitherMap, ReportsATaskThatThrowsOnEveryRankAndStaysUsable) {
  const Items items = scrambled(40);
  try {
    (void)map(throws_on_7, items);
    ADD_FAILURE() << "rank " << g_rank << ": the task threw on item 7, yet the map returned";
  } catch (const kata::WorkerError& e) {
    EXPECT_NE(std::string(e.what()).find("item 7 is bad"), std::string::npos)
        << "rank " << g_rank << ": the WorkerError does not carry the task's message: " << e.what();
  }
  try {
    (void)map(throws_an_int_on_3, items);
    ADD_FAILURE() << "rank " << g_rank << ": the task threw an int on item 3, yet the map returned";
  } catch (const kata::WorkerError& e) {
    EXPECT_STRNE(e.what(), "") << "rank " << g_rank;
  }
  expect_mapped(items, map(three_x_plus_one, items), three_x_plus_one_uncounted,
                "40 items after two failed maps");
}

TEST_P(EitherMap, RejectsANullTaskOnEveryRank) {
  const Items items = scrambled(5);
  EXPECT_THROW((void)map(nullptr, items), std::invalid_argument) << "rank " << g_rank;
}

INSTANTIATE_TEST_SUITE_P(Maps, EitherMap,
                         ::testing::Values(Map{"static", kata::mpi_map},
                                           Map{"dynamic", kata::mpi_map_dynamic}),
                         [](const ::testing::TestParamInfo<Map>& info) {
                           return std::string(info.param.name);
                         });

// Which ranks ran the tasks: the task returns its rank.
std::set<std::int64_t> ranks_in(const Items& results) {
  return {results.begin(), results.end()};
}

TEST_F(MpiTest, StaticMapGivesEveryRankAShare) {
  const Items items = scrambled(10 * world_size() + 3);
  const Items results =
      kata::mpi_map(rank_of_the_mapper, is_root() ? items : Items{}, MPI_COMM_WORLD);
  if (is_root()) {
    ASSERT_EQ(results.size(), items.size());
    EXPECT_EQ(ranks_in(results).size(), static_cast<std::size_t>(world_size()))
        << "with more items than ranks, every rank (the root too) must map its share";
  }
}

TEST_F(MpiTest, StaticMapSplitsTheItemsIntoContiguousBlocksThatDifferByAtMostOne) {
  // n items over `size` ranks: rank r maps items [first_r, first_r + count_r), in rank
  // order, with count_r = n / size, plus one for the first n % size ranks. Giving the
  // whole remainder to the last rank makes its block up to size - 1 items longer.
  const int size = world_size();
  for (const int n : {0, 1, size - 1, size + 1, 2 * size - 1, 10 * size + 3, 10 * size - 1}) {
    if (n < 0) {
      continue;
    }
    const Items items = scrambled(n);
    const Items results =
        kata::mpi_map(rank_of_the_mapper, is_root() ? items : Items{}, MPI_COMM_WORLD);
    if (!is_root()) {
      continue;
    }
    Items expected;
    for (int r = 0; r < size; ++r) {
      expected.insert(expected.end(), static_cast<std::size_t>(n / size + (r < n % size ? 1 : 0)),
                      r);
    }
    std::string got;
    for (int r = 0; r < size; ++r) {
      got += " " + std::to_string(std::count(results.begin(), results.end(), r));
    }
    EXPECT_EQ(results, expected)
        << n << " items over " << size << " ranks: items per rank were" << got
        << "; each rank maps one contiguous block, in rank order, and the first n % size ranks "
           "get one item more than the others (blocks differ by at most one)";
  }
}

TEST_F(MpiTest, DynamicMapLeavesTheWorkToTheWorkers) {
  const Items items = scrambled(60);
  const Items results =
      kata::mpi_map_dynamic(rank_of_a_napping_mapper, is_root() ? items : Items{}, MPI_COMM_WORLD);
  if (!is_root()) {
    return;
  }
  ASSERT_EQ(results.size(), items.size());
  const std::set<std::int64_t> ranks = ranks_in(results);
  if (world_size() == 1) {
    EXPECT_EQ(ranks, std::set<std::int64_t>{0}) << "alone, the root maps everything itself";
    return;
  }
  EXPECT_EQ(ranks.count(kRoot), 0U) << "the root mapped items: with workers, it only deals";
  if (world_size() >= 3) {
    EXPECT_GE(ranks.size(), 2U) << "60 items of 1 ms, yet a single worker mapped them all";
  }
}

TEST_F(MpiTest, DynamicMapLetsTheOtherWorkersTakeOverFromASlowOne) {
  // Item 0 takes 300 ms, the rest nothing. With equal shares, the worker that
  // drew item 0 would map n / workers items; dealt in small chunks on request,
  // the others take everything else while it sleeps.
  const int workers = world_size() - 1;
  if (workers < 2) {
    GTEST_SKIP() << "needs 2 workers (3 ranks)";
  }
  Items items = scrambled(120);
  for (std::size_t i = 0; i < items.size(); ++i) {
    items[i] = static_cast<std::int64_t>(i);
  }
  const Items results = kata::mpi_map_dynamic(rank_of_the_mapper_item_0_slow,
                                              is_root() ? items : Items{}, MPI_COMM_WORLD);
  if (is_root()) {
    ASSERT_EQ(results.size(), items.size());
    const auto slow_share = std::count(results.begin(), results.end(), results[0]);
    EXPECT_LT(slow_share, 120 / workers)
        << "the worker that drew the slow item (rank " << results[0] << ") mapped " << slow_share
        << " of 120 items: the work was split in equal shares, not dealt on request";
  }
}

TEST_F(MpiTest, CheckMpiAcceptsSuccess) {
  EXPECT_NO_THROW(kata::check_mpi(MPI_SUCCESS, "MPI_Send"));
}

TEST_F(MpiTest, CheckMpiNamesTheCallAndMpisReason) {
  char text[MPI_MAX_ERROR_STRING];
  int length = 0;
  MPI_Error_string(MPI_ERR_COUNT, text, &length);
  try {
    kata::check_mpi(MPI_ERR_COUNT, "MPI_Send of a chunk");
    ADD_FAILURE() << "check_mpi(MPI_ERR_COUNT, ...) returned";
  } catch (const kata::MpiError& e) {
    EXPECT_EQ(std::string(e.what()), "MPI_Send of a chunk: " + std::string(text, length));
  }
}

TEST_F(MpiTest, PrivateCommIsACongruentDuplicateThatReturnsErrors) {
  const kata::PrivateComm own(MPI_COMM_WORLD);
  int comparison = MPI_UNEQUAL;
  MPI_Comm_compare(own.get(), MPI_COMM_WORLD, &comparison);
  EXPECT_EQ(comparison, MPI_CONGRUENT) << "want a duplicate: same ranks, a context of its own";
  EXPECT_EQ(own.rank(), g_rank);
  EXPECT_EQ(own.size(), world_size());

  MPI_Errhandler handler = MPI_ERRHANDLER_NULL;
  MPI_Comm_get_errhandler(own.get(), &handler);
  EXPECT_EQ(handler, MPI_ERRORS_RETURN) << "the duplicate's error handler";
  MPI_Errhandler_free(&handler);
  MPI_Comm_get_errhandler(MPI_COMM_WORLD, &handler);
  EXPECT_EQ(handler, MPI_ERRORS_ARE_FATAL) << "MPI_COMM_WORLD's error handler was changed";
  MPI_Errhandler_free(&handler);

  // An error on it comes back as a code, which check_mpi turns into an exception
  // (with the default handler, this line would abort every rank).
  std::int64_t value = 0;
  EXPECT_THROW(kata::check_mpi(MPI_Send(&value, -1, MPI_INT64_T, 0, 0, own.get()), "MPI_Send"),
               kata::MpiError);
}

TEST_F(MpiTest, PrivateCommRejectsTheNullCommunicator) {
  EXPECT_THROW(kata::PrivateComm{MPI_COMM_NULL}, std::invalid_argument);
}

TEST_F(MpiTest, MapInPlaceMapsEveryItem) {
  Items items = {1, 2, 3};
  EXPECT_EQ(kata::map_in_place(three_x_plus_one, items), "");
  EXPECT_EQ(items, (Items{4, 7, 10}));
}

TEST_F(MpiTest, MapInPlaceReturnsWhatTheTaskThrew) {
  Items items = {5, 6, 7, 8};
  EXPECT_EQ(kata::map_in_place(throws_on_7, items), "item 7 is bad");
  Items more = {1, 2, 3};
  EXPECT_NE(kata::map_in_place(throws_an_int_on_3, more), "")
      << "a task that throws an int still needs a message";
}

TEST_F(MpiTest, ThrowIfAnyRankFailedIsQuietWhenNoRankFailed) {
  const kata::PrivateComm own(MPI_COMM_WORLD);
  EXPECT_NO_THROW(kata::throw_if_any_rank_failed("", own));
}

TEST_F(MpiTest, ThrowIfAnyRankFailedThrowsTheLowestFailingRanksErrorOnEveryRank) {
  const kata::PrivateComm own(MPI_COMM_WORLD);
  const int first = world_size() / 2;  // ranks first..size-1 fail
  const std::string mine =
      g_rank >= first ? "rank " + std::to_string(g_rank) + " ran out of disk" : "";
  try {
    kata::throw_if_any_rank_failed(mine, own);
    ADD_FAILURE() << "rank " << g_rank << ": ranks " << first << " and up failed, yet it returned";
  } catch (const kata::WorkerError& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("rank " + std::to_string(first) + " ran out of disk"), std::string::npos)
        << "rank " << g_rank << " got: " << what;
  }
}

// Prints a failure on a rank other than 0, which has no report of its own.
class RankFailurePrinter : public ::testing::EmptyTestEventListener {
 public:
  explicit RankFailurePrinter(int rank) : rank_(rank) {}
  void OnTestPartResult(const ::testing::TestPartResult& result) override {
    if (result.failed()) {
      std::printf("[rank %d] %s:%d: Failure\n%s\n", rank_,
                  result.file_name() != nullptr ? result.file_name() : "?", result.line_number(),
                  result.message());
      std::fflush(stdout);
    }
  }

 private:
  int rank_;
};

}  // namespace

// Under AddressSanitizer (the asan preset), LeakSanitizer would fail every run:
// Open MPI leaves thousands of allocations behind at MPI_Finalize, many made by
// plugins it has already unloaded, so no suppression file can name them. Leak
// checking is off for this binary only; ASan still checks every memory access,
// and the code under test owns its memory through std::vector and RAII alone.
extern "C" const char* __asan_default_options() {
  return "detect_leaks=0";
}

// MPI_Init before anything, MPI_Finalize after everything: the common test main
// knows nothing of MPI, so this binary brings its own.
int main(int argc, char** argv) {
  // The default error handler is in force here: a failure aborts the job with a message.
  MPI_Init(&argc, &argv);
  ::testing::InitGoogleTest(&argc, argv);
  int rank = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);

  // Every rank must run the same tests in the same order: with --gtest_shuffle,
  // all of them take the root's seed.
  int seed = GTEST_FLAG_GET(random_seed);
  if (rank == kRoot && seed == 0) {
    seed = static_cast<int>(std::time(nullptr) % 99'999) + 1;
  }
  MPI_Bcast(&seed, 1, MPI_INT, kRoot, MPI_COMM_WORLD);
  GTEST_FLAG_SET(random_seed, seed);

  if (rank != kRoot) {
    auto& listeners = ::testing::UnitTest::GetInstance()->listeners();
    delete listeners.Release(listeners.default_result_printer());
    listeners.Append(new RankFailurePrinter(rank));
  }

  struct sigaction action {};
  action.sa_handler = on_deadline;
  sigemptyset(&action.sa_mask);
  sigaction(SIGALRM, &action, nullptr);

  const int failed = RUN_ALL_TESTS();
  MPI_Finalize();
  return failed;
}
