# The course, from its manifests: every exercises/NN_name/exercise.json, in name order.
#
# An exercise is its folders and its manifest:
#   exercises/NN_name/exercise.json  what the build (and the front end) needs to know
#   exercises/NN_name/               README.md, the headers (the contract), the stub .cpp
#                                    files and the given .cpp files
#   solutions/NN_name/               the reference .cpp files: the stubs' names, no given files
#   tests/NN_name_test.cpp           its GoogleTest suite, ctest label NN_name
#   bench/NN_name_bench.cpp          its Google Benchmark
#
# The manifest's keys read here (docs/ARCHITECTURE.md lists them all):
#   stub_files   the .cpp files a student writes; KATA_IMPLEMENTATION picks exercises/
#                (the stubs) or solutions/ (the reference) for them
#   given_files  .cpp files the exercise hands out finished: compiled from exercises/
#                in every build
#   own_main     true: its test and bench files define main() themselves (07 calls
#                its spawn hook there; 09 starts and ends MPI)
#   mpi_ranks    an MPI exercise: ctest runs the whole test binary under mpiexec once
#                per rank count, as the tests NN_name/<n>_ranks (cmake/KataMpi.cmake)
#
# Targets: NN_name (a static library of the implementation), NN_name_test, NN_name_bench.

include(${CMAKE_CURRENT_LIST_DIR}/KataMpi.cmake)

# kata_course(): one kata_exercise() per manifest.
function(kata_course)
  file(GLOB manifests CONFIGURE_DEPENDS "${PROJECT_SOURCE_DIR}/exercises/*/exercise.json")
  list(SORT manifests)
  if(NOT manifests)
    message(FATAL_ERROR "no exercises/*/exercise.json: the course has no exercise")
  endif()
  foreach(manifest IN LISTS manifests)
    get_filename_component(folder "${manifest}" DIRECTORY)
    get_filename_component(name "${folder}" NAME)
    if(NOT name MATCHES "^[0-9][0-9]_[A-Za-z0-9_]+$")
      message(FATAL_ERROR "${manifest}: an exercise's folder is named NN_name, not '${name}'")
    endif()
    kata_exercise(${name} "${manifest}")
  endforeach()
endfunction()

# kata_manifest_list(out json key manifest): the array `key` of the manifest, or an
# empty list where it has none.
function(kata_manifest_list out json key manifest)
  string(JSON type ERROR_VARIABLE missing TYPE "${json}" ${key})
  if(NOT missing STREQUAL "NOTFOUND")
    set(${out} "" PARENT_SCOPE)
    return()
  endif()
  if(NOT type STREQUAL "ARRAY")
    message(FATAL_ERROR "${manifest}: \"${key}\" must be a list, not ${type}")
  endif()
  set(items)
  string(JSON count LENGTH "${json}" ${key})
  if(count GREATER 0)
    math(EXPR last "${count} - 1")
    foreach(i RANGE ${last})
      string(JSON item GET "${json}" ${key} ${i})
      list(APPEND items "${item}")
    endforeach()
  endif()
  set(${out} "${items}" PARENT_SCOPE)
endfunction()

# kata_exercise(NN_name manifest): builds one exercise from its folders and manifest.
function(kata_exercise name manifest)
  set_property(DIRECTORY "${PROJECT_SOURCE_DIR}" APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS "${manifest}")
  file(READ "${manifest}" json)
  string(JSON ignored ERROR_VARIABLE invalid TYPE "${json}")
  if(NOT invalid STREQUAL "NOTFOUND")
    message(FATAL_ERROR "${manifest} is not valid JSON: ${invalid}")
  endif()
  kata_manifest_list(stubs "${json}" stub_files "${manifest}")
  kata_manifest_list(given "${json}" given_files "${manifest}")
  kata_manifest_list(mpi_ranks "${json}" mpi_ranks "${manifest}")
  string(JSON own_main ERROR_VARIABLE no_own_main GET "${json}" own_main)
  if(NOT no_own_main STREQUAL "NOTFOUND")
    set(own_main OFF)
  endif()
  if(NOT stubs)
    message(FATAL_ERROR "${manifest}: \"stub_files\" names no file")
  endif()

  set(libraries)
  if(mpi_ranks)
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
    list(APPEND libraries MPI::MPI_CXX)
  endif()

  set(header_dir "${PROJECT_SOURCE_DIR}/exercises/${name}")
  list(TRANSFORM stubs PREPEND "${PROJECT_SOURCE_DIR}/${KATA_IMPLEMENTATION}/${name}/" OUTPUT_VARIABLE sources)
  list(TRANSFORM given PREPEND "${header_dir}/" OUTPUT_VARIABLE given_sources)
  list(APPEND sources ${given_sources})
  foreach(source IN LISTS sources)
    if(NOT EXISTS "${source}")
      message(FATAL_ERROR "${manifest} names ${source}, which does not exist")
    endif()
  endforeach()

  add_library(${name} STATIC ${sources})
  target_include_directories(${name} PUBLIC "${header_dir}")
  target_link_libraries(${name} PUBLIC kata::common TBB::tbb ${libraries})

  add_executable(${name}_test "${PROJECT_SOURCE_DIR}/tests/${name}_test.cpp")
  target_link_libraries(${name}_test PRIVATE ${name} kata::testing)
  if(NOT own_main)
    target_link_libraries(${name}_test PRIVATE kata::test_main)
  endif()
  if(mpi_ranks)
    kata_mpi_tests(${name} ${mpi_ranks})
  else()
    kata_discover_tests(${name}_test ${name})
  endif()

  if(KATA_BUILD_BENCH)
    # The benchmark compiles the implementation again, for this machine's CPU
    # when KATA_NATIVE_BENCH is on; the tests keep the baseline target.
    add_executable(${name}_bench "${PROJECT_SOURCE_DIR}/bench/${name}_bench.cpp" ${sources})
    target_include_directories(${name}_bench PRIVATE "${header_dir}")
    if(own_main)
      target_link_libraries(${name}_bench PRIVATE benchmark::benchmark)
    else()
      target_link_libraries(${name}_bench PRIVATE kata::bench_main)
    endif()
    target_link_libraries(${name}_bench PRIVATE kata::common TBB::tbb ${libraries})
    if(KATA_NATIVE_BENCH)
      target_compile_options(${name}_bench PRIVATE -march=native)
    endif()
  endif()
endfunction()

# kata_discover_tests(target label): ctest lists the tests of a GoogleTest binary
# (gtest_discover_tests, when ctest starts) as label/Suite.Test, with the label and
# ctest's deadline.
#
# Each binary on its own: gtest_discover_tests() stops ctest altogether when one
# binary fails to list its tests (a static initializer that throws or hangs, in a
# student's stub), and with it every other exercise's tests. So the binary is tried
# first, within KATA_DISCOVERY_TIMEOUT; one that fails becomes the single failing
# test label/TestBinary.ListsItsTests, whose output shows why, and the other
# exercises test as usual. Listing when ctest starts, not when the binary is built
# (POST_BUILD), also keeps `kata grade`'s sandbox (CMAKE_CROSSCOMPILING_EMULATOR)
# around every run of a student's code, and out of the build.
function(kata_discover_tests target label)
  gtest_discover_tests(${target}
    DISCOVERY_MODE PRE_TEST
    DISCOVERY_TIMEOUT ${KATA_DISCOVERY_TIMEOUT}
    TEST_PREFIX "${label}/"
    PROPERTIES LABELS ${label} TIMEOUT ${KATA_TEST_TIMEOUT})
  # gtest_discover_tests() added one file to the directory's TEST_INCLUDE_FILES:
  # the guard takes its place and includes it only when the binary lists its tests.
  get_property(includes DIRECTORY PROPERTY TEST_INCLUDE_FILES)
  list(POP_BACK includes discovery)
  string(REGEX REPLACE "_include\\.cmake$" "_tests.cmake" listed "${discovery}")
  get_property(emulator TARGET ${target} PROPERTY CROSSCOMPILING_EMULATOR)
  set(guard "${CMAKE_CURRENT_BINARY_DIR}/${target}_guard.cmake")
  file(GENERATE OUTPUT "${guard}" CONTENT "\
set(binary [==[$<TARGET_FILE:${target}>]==])
set(listed [==[${listed}]==])
set(emulator [==[${emulator}]==])
if(EXISTS \"\${binary}\" AND (NOT EXISTS \"\${listed}\" OR NOT \"\${listed}\" IS_NEWER_THAN \"\${binary}\"))
  execute_process(COMMAND \${emulator} \"\${binary}\" --gtest_list_tests
    WORKING_DIRECTORY [==[${CMAKE_CURRENT_BINARY_DIR}]==]
    TIMEOUT ${KATA_DISCOVERY_TIMEOUT} RESULT_VARIABLE result OUTPUT_QUIET ERROR_QUIET)
  if(NOT result EQUAL 0)
    add_test([==[${label}/TestBinary.ListsItsTests]==] \${emulator} \"\${binary}\" --gtest_list_tests)
    set_tests_properties([==[${label}/TestBinary.ListsItsTests]==] PROPERTIES
      LABELS [==[${label}]==] TIMEOUT ${KATA_DISCOVERY_TIMEOUT})
    return()
  endif()
endif()
include([==[${discovery}]==])
")
  set_property(DIRECTORY PROPERTY TEST_INCLUDE_FILES ${includes} "${guard}")
endfunction()
