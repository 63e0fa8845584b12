include(${CMAKE_CURRENT_LIST_DIR}/KataMpi.cmake)

# kata_exercise(NN_name [LIBRARIES lib...] [BENCH_LIBRARIES lib...] [MPI_RANKS n...])
#
# Builds one exercise from its folders:
#   exercises/NN_name/             the header (the contract) and the stub .cpp files
#   solutions/NN_name/             the reference .cpp files, same names
#   tests/NN_name_test.cpp         its GoogleTest suite, ctest label NN_name
#   bench/NN_name_bench.cpp        its Google Benchmark
# KATA_IMPLEMENTATION picks which .cpp files implement the header.
#
# Targets: NN_name (the implementation), NN_name_test, NN_name_bench.
#
# MPI_RANKS makes it an MPI exercise (09): MPI is looked for here, for it alone;
# its test and benchmark files bring their own main() (MPI_Init first, MPI_Finalize
# last), and ctest runs the whole test binary under mpiexec once per rank count
# given, as the tests NN_name/<n>_ranks. Without MPI, one test says what to install.
function(kata_exercise name)
  cmake_parse_arguments(PARSE_ARGV 1 arg "" "" "LIBRARIES;BENCH_LIBRARIES;MPI_RANKS")
  if(arg_MPI_RANKS)
    # MPI's C API, called from C++ (the project enables no C compiler): the CXX
    # component, without the C++ bindings MPI 3.0 deleted.
    set(MPI_CXX_SKIP_MPICXX ON)
    find_package(MPI COMPONENTS CXX)
    if(NOT MPI_CXX_FOUND)
      message(WARNING "${name} needs MPI: apt-get install libopenmpi-dev openmpi-bin")
      add_test(NAME ${name}/needs_mpi COMMAND ${CMAKE_COMMAND} -E echo
        "${name} needs MPI: apt-get install libopenmpi-dev openmpi-bin, then configure again")
      set_tests_properties(${name}/needs_mpi PROPERTIES
        LABELS ${name} TIMEOUT ${KATA_TEST_TIMEOUT} WILL_FAIL TRUE)
      return()
    endif()
    list(APPEND arg_LIBRARIES MPI::MPI_CXX)
  endif()
  set(header_dir "${PROJECT_SOURCE_DIR}/exercises/${name}")
  file(GLOB sources CONFIGURE_DEPENDS "${PROJECT_SOURCE_DIR}/${KATA_IMPLEMENTATION}/${name}/*.cpp")
  if(NOT sources)
    message(FATAL_ERROR "exercise ${name}: no .cpp files in ${KATA_IMPLEMENTATION}/${name}/")
  endif()

  # An OBJECT library: every object file reaches the test binary, so a symbol
  # nothing names directly (exercise 07's spawn hook) is linked in too.
  add_library(${name} OBJECT ${sources})
  target_include_directories(${name} PUBLIC "${header_dir}")
  target_link_libraries(${name} PUBLIC kata::common TBB::tbb ${arg_LIBRARIES})

  add_executable(${name}_test "${PROJECT_SOURCE_DIR}/tests/${name}_test.cpp")
  if(arg_MPI_RANKS)
    target_link_libraries(${name}_test PRIVATE ${name} GTest::gtest)
    kata_mpi_tests(${name} ${arg_MPI_RANKS})
  else()
    target_link_libraries(${name}_test PRIVATE ${name} kata::testing)
    # Test names carry the exercise ("01_cpu_count/CpuCountTest.OnlineCpus..."), so
    # they are unique across the course and say where they come from.
    gtest_discover_tests(${name}_test
      DISCOVERY_MODE PRE_TEST
      TEST_PREFIX "${name}/"
      PROPERTIES LABELS ${name} TIMEOUT ${KATA_TEST_TIMEOUT})
  endif()

  if(KATA_BUILD_BENCH)
    # The benchmark compiles the implementation again, for this machine's CPU
    # when KATA_NATIVE_BENCH is on; the tests keep the baseline target.
    add_executable(${name}_bench "${PROJECT_SOURCE_DIR}/bench/${name}_bench.cpp" ${sources})
    target_include_directories(${name}_bench PRIVATE "${header_dir}")
    if(arg_MPI_RANKS)
      target_link_libraries(${name}_bench PRIVATE benchmark::benchmark)
    else()
      target_link_libraries(${name}_bench PRIVATE kata::bench_main)
    endif()
    target_link_libraries(${name}_bench PRIVATE
      kata::common TBB::tbb ${arg_LIBRARIES} ${arg_BENCH_LIBRARIES})
    if(KATA_NATIVE_BENCH)
      target_compile_options(${name}_bench PRIVATE -march=native)
    endif()
  endif()
endfunction()
