// Tests of exercise 01: the CPU counts, affinity, and cgroup quotas (v1 and v2).
#include "cpu_count.hpp"

#include <kata/testing.hpp>

#include <sched.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <string>

namespace {

using namespace std::chrono_literals;
using kata::testing::run_with_deadline;
using kata::testing::TempDir;
using kata::testing::write_file;

class CpuCountTest : public kata::testing::LeakCheckedTest {};

// Runs `count` in a child pinned to the first CPU it may use, and returns what it said.
// oneTBB caches its view of the machine on first use, so the TBB tests run only in
// such children: this process never initialises oneTBB itself.
kata::testing::ChildOutcome count_pinned_to_one_cpu(unsigned (*count)()) {
  return run_with_deadline(
      [count] {
        cpu_set_t allowed;
        CPU_ZERO(&allowed);
        if (sched_getaffinity(0, sizeof allowed, &allowed) != 0) {
          throw std::runtime_error("sched_getaffinity failed");
        }
        int first = 0;
        while (!CPU_ISSET(first, &allowed)) {
          ++first;
        }
        cpu_set_t one;
        CPU_ZERO(&one);
        CPU_SET(first, &one);
        if (sched_setaffinity(0, sizeof one, &one) != 0) {
          throw std::runtime_error("sched_setaffinity failed");
        }
        return std::to_string(count());
      },
      10s);
}

TEST_F(CpuCountTest, OnlineCpusIsWhatSysconfSays) {
  EXPECT_EQ(kata::online_cpus(), static_cast<unsigned>(sysconf(_SC_NPROCESSORS_ONLN)));
}

TEST_F(CpuCountTest, AffinityCpusCountsTheMask) {
  cpu_set_t allowed;
  ASSERT_EQ(sched_getaffinity(0, sizeof allowed, &allowed), 0);
  EXPECT_EQ(kata::affinity_cpus(), static_cast<unsigned>(CPU_COUNT(&allowed)));
}

TEST_F(CpuCountTest, APinnedChildSeesOneCpu) {
  EXPECT_EQ(count_pinned_to_one_cpu(kata::affinity_cpus).describe(), "returned \"1\"");
}

TEST_F(CpuCountTest, APinnedChildIsStillToldEveryOnlineCpuBySysconf) {
  // The lesson of the exercise: sysconf (and Python's cpu_count) ignore affinity.
  EXPECT_EQ(count_pinned_to_one_cpu(kata::online_cpus).describe(),
            "returned \"" + std::to_string(sysconf(_SC_NPROCESSORS_ONLN)) + "\"");
}

TEST_F(CpuCountTest, UsableCpusInAPinnedChildIsOne) {
  EXPECT_EQ(count_pinned_to_one_cpu(kata::usable_cpus).describe(), "returned \"1\"");
}

TEST_F(CpuCountTest, TbbInAPinnedChildUsesOneThread) {
  EXPECT_EQ(count_pinned_to_one_cpu(kata::tbb_default_concurrency).describe(), "returned \"1\"");
}

TEST_F(CpuCountTest, TbbUnpinnedUsesTheAffinityMask) {
  const auto outcome =
      run_with_deadline([] { return std::to_string(kata::tbb_default_concurrency()); }, 10s);
  cpu_set_t allowed;
  ASSERT_EQ(sched_getaffinity(0, sizeof allowed, &allowed), 0);
  EXPECT_EQ(outcome.describe(), "returned \"" + std::to_string(CPU_COUNT(&allowed)) + "\"");
}

TEST_F(CpuCountTest, UsableCpusIsAtLeastOneAndAtMostTheAffinity) {
  const unsigned usable = kata::usable_cpus();
  EXPECT_GE(usable, 1U);
  EXPECT_LE(usable, kata::affinity_cpus());
}

TEST(ParseCpuMax, MaxIsNoLimit) {
  EXPECT_EQ(kata::parse_cpu_max("max 100000"), std::nullopt);
  EXPECT_EQ(kata::parse_cpu_max("max 100000\n"), std::nullopt);
}

TEST(ParseCpuMax, QuotaOverPeriodIsCpus) {
  EXPECT_DOUBLE_EQ(kata::parse_cpu_max("150000 100000").value_or(-1), 1.5);
  EXPECT_DOUBLE_EQ(kata::parse_cpu_max("50000 100000\n").value_or(-1), 0.5);
  EXPECT_DOUBLE_EQ(kata::parse_cpu_max("200000 50000").value_or(-1), 4.0);
  EXPECT_DOUBLE_EQ(kata::parse_cpu_max("1000 100000").value_or(-1), 0.01);
}

TEST(ParseCpuMax, MalformedTextThrowsInvalidArgument) {
  for (const char* text :
       {"", "\n", "max", "100000", "max max", "abc 100000", "150000 abc", "150000 0", "-5 100000",
        "150000 -100000", "1.5 100000", "150000 100000 7", "150000  100000", " 150000 100000",
        "150000 100000\n\n", "0 100000", "99999999999999999999 100000"}) {
    EXPECT_THROW((void)kata::parse_cpu_max(text), std::invalid_argument) << '"' << text << '"';
  }
}

// A fake cgroup v2 tree: /proc/self/cgroup says "0::/outer/inner".
class CgroupV2Test : public ::testing::Test {
 protected:
  TempDir dir;
  std::filesystem::path root = dir.path() / "sys/fs/cgroup";
  std::filesystem::path self = dir.path() / "proc_self_cgroup";

  void SetUp() override {
    write_file(self, "0::/outer/inner\n");
    write_file(root / "cgroup.controllers", "cpu memory pids\n");
    write_file(root / "outer/inner/cgroup.procs", "");
  }
  std::optional<double> limit() { return kata::cgroup_cpu_limit(root, self); }
};

TEST_F(CgroupV2Test, NoCpuMaxAnywhereIsNoLimit) {
  EXPECT_EQ(limit(), std::nullopt);
}

TEST_F(CgroupV2Test, MaxEverywhereIsNoLimit) {
  write_file(root / "outer/cpu.max", "max 100000\n");
  write_file(root / "outer/inner/cpu.max", "max 100000\n");
  EXPECT_EQ(limit(), std::nullopt);
}

TEST_F(CgroupV2Test, TheLeafQuotaCounts) {
  write_file(root / "outer/inner/cpu.max", "150000 100000\n");
  EXPECT_DOUBLE_EQ(limit().value_or(-1), 1.5);
}

TEST_F(CgroupV2Test, ATighterParentWins) {
  write_file(root / "outer/cpu.max", "50000 100000\n");
  write_file(root / "outer/inner/cpu.max", "300000 100000\n");
  EXPECT_DOUBLE_EQ(limit().value_or(-1), 0.5);
}

TEST_F(CgroupV2Test, AParentLimitCountsUnderAnUnlimitedLeaf) {
  write_file(root / "outer/cpu.max", "200000 100000\n");
  write_file(root / "outer/inner/cpu.max", "max 100000\n");
  EXPECT_DOUBLE_EQ(limit().value_or(-1), 2.0);
}

TEST_F(CgroupV2Test, ATighterLeafWins) {
  write_file(root / "outer/cpu.max", "400000 100000\n");
  write_file(root / "outer/inner/cpu.max", "100000 100000\n");
  EXPECT_DOUBLE_EQ(limit().value_or(-1), 1.0);
}

TEST_F(CgroupV2Test, SiblingsAndChildrenOfTheLeafDoNotCount) {
  write_file(root / "outer/sibling/cpu.max", "10000 100000\n");
  write_file(root / "outer/inner/child/cpu.max", "10000 100000\n");
  write_file(root / "outer/inner/cpu.max", "300000 100000\n");
  EXPECT_DOUBLE_EQ(limit().value_or(-1), 3.0);
}

TEST_F(CgroupV2Test, TheRootIsWhereTheWalkStops) {
  write_file(dir.path() / "sys/fs/cpu.max", "10000 100000\n");  // outside the mount
  write_file(root / "outer/inner/cpu.max", "300000 100000\n");
  EXPECT_DOUBLE_EQ(limit().value_or(-1), 3.0);
}

TEST_F(CgroupV2Test, MissingProcFileIsNoLimit) {
  EXPECT_EQ(kata::cgroup_cpu_limit(root, dir.path() / "no_such_file"), std::nullopt);
}

TEST_F(CgroupV2Test, MissingCgroupMountIsNoLimit) {
  EXPECT_EQ(kata::cgroup_cpu_limit(dir.path() / "no_such_dir", self), std::nullopt);
}

// usable_cpus() on a fake machine: the same trees, with an affinity count given.
TEST_F(CgroupV2Test, UsableCpusRoundsTheQuotaUp) {
  write_file(root / "outer/inner/cpu.max", "50000 100000\n");
  EXPECT_EQ(kata::usable_cpus_from(root, self, 8), 1U)
      << "a quota of 0.5 CPUs: one worker, never 0 (round up, and at least 1)";
  write_file(root / "outer/inner/cpu.max", "150000 100000\n");
  EXPECT_EQ(kata::usable_cpus_from(root, self, 8), 2U)
      << "a quota of 1.5 CPUs keeps 2 workers busy three quarters of the time: round up";
  write_file(root / "outer/inner/cpu.max", "200000 100000\n");
  EXPECT_EQ(kata::usable_cpus_from(root, self, 8), 2U)
      << "a quota of exactly 2 CPUs is 2 workers, not 3";
  write_file(root / "outer/inner/cpu.max", "1000 100000\n");
  EXPECT_EQ(kata::usable_cpus_from(root, self, 8), 1U) << "a quota of 0.01 CPUs: still 1";
}

TEST_F(CgroupV2Test, UsableCpusIsCappedByTheAffinity) {
  write_file(root / "outer/inner/cpu.max", "150000 100000\n");
  EXPECT_EQ(kata::usable_cpus_from(root, self, 1), 1U)
      << "a quota of 1.5 CPUs, but the affinity mask allows 1: the smaller wins";
  write_file(root / "outer/cpu.max", "400000 100000\n");
  write_file(root / "outer/inner/cpu.max", "max 100000\n");
  EXPECT_EQ(kata::usable_cpus_from(root, self, 3), 3U)
      << "a parent's quota of 4 CPUs, but the affinity mask allows 3";
}

TEST_F(CgroupV2Test, UsableCpusWithoutAQuotaIsTheAffinity) {
  EXPECT_EQ(kata::usable_cpus_from(root, self, 6), 6U) << "no cpu.max anywhere: the affinity count";
  write_file(root / "outer/inner/cpu.max", "max 100000\n");
  EXPECT_EQ(kata::usable_cpus_from(root, self, 6), 6U) << "\"max 100000\": the affinity count";
}

// A fake cgroup v1 tree: the cpu controller mounted at cpu,cpuacct, as Debian does.
class CgroupV1Test : public ::testing::Test {
 protected:
  TempDir dir;
  std::filesystem::path root = dir.path() / "sys/fs/cgroup";
  std::filesystem::path self = dir.path() / "proc_self_cgroup";
  std::filesystem::path cpu = root / "cpu,cpuacct";

  void SetUp() override {
    write_file(self,
               "12:memory:/outer/inner\n"
               "4:cpu,cpuacct:/outer/inner\n"
               "1:name=systemd:/outer/inner\n"
               "0::/outer/inner\n");
    write_quota(cpu, -1);
    write_quota(cpu / "outer", -1);
    write_quota(cpu / "outer/inner", -1);
  }
  static void write_quota(const std::filesystem::path& at, long quota, long period = 100000) {
    write_file(at / "cpu.cfs_quota_us", std::to_string(quota) + "\n");
    write_file(at / "cpu.cfs_period_us", std::to_string(period) + "\n");
  }
  std::optional<double> limit() { return kata::cgroup_cpu_limit(root, self); }
};

TEST_F(CgroupV1Test, MinusOneEverywhereIsNoLimit) {
  EXPECT_EQ(limit(), std::nullopt);
}

TEST_F(CgroupV1Test, TheLeafQuotaCounts) {
  write_quota(cpu / "outer/inner", 250000);
  EXPECT_DOUBLE_EQ(limit().value_or(-1), 2.5);
}

TEST_F(CgroupV1Test, ATighterParentWins) {
  write_quota(cpu / "outer", 50000, 100000);
  write_quota(cpu / "outer/inner", 300000, 100000);
  EXPECT_DOUBLE_EQ(limit().value_or(-1), 0.5);
}

TEST_F(CgroupV1Test, AParentLimitCountsUnderAnUnlimitedLeaf) {
  write_quota(cpu / "outer", 100000, 50000);
  EXPECT_DOUBLE_EQ(limit().value_or(-1), 2.0);
}

TEST_F(CgroupV1Test, V1CpuWinsOverAV2CpuMaxInAHybridSetup) {
  write_file(root / "outer/inner/cpu.max", "10000 100000\n");
  write_quota(cpu / "outer/inner", 300000);
  EXPECT_DOUBLE_EQ(limit().value_or(-1), 3.0);
}

TEST_F(CgroupV1Test, ACpuOnlyMountIsFoundToo) {
  write_file(self, "3:cpu:/job\n0::/\n");
  write_quota(root / "cpu/job", 75000);
  EXPECT_DOUBLE_EQ(limit().value_or(-1), 0.75);
}

TEST_F(CgroupV1Test, CpuacctAloneIsNotTheCpuController) {
  write_file(self, "2:cpuacct:/job\n0::/job\n");
  write_quota(root / "cpuacct/job", 50000);
  write_file(root / "job/cpu.max", "max 100000\n");
  EXPECT_EQ(limit(), std::nullopt);
}

TEST_F(CgroupV1Test, UsableCpusRoundsAV1QuotaUpAndCapsItByTheAffinity) {
  write_quota(cpu / "outer", 250000);
  EXPECT_EQ(kata::usable_cpus_from(root, self, 16), 3U)
      << "a parent's v1 quota of 2.5 CPUs: 3 workers (round up)";
  EXPECT_EQ(kata::usable_cpus_from(root, self, 2), 2U) << "the affinity mask allows 2";
}

TEST_F(CgroupV1Test, MissingQuotaFilesAreNoLimitAtThatLevel) {
  std::filesystem::remove(cpu / "outer/inner/cpu.cfs_quota_us");
  write_quota(cpu / "outer", 150000);
  EXPECT_DOUBLE_EQ(limit().value_or(-1), 1.5);
}

}  // namespace
