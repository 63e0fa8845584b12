# kata_mpi_tests(NN_name ranks...): ctest runs NN_name_test under mpiexec, once per
# rank count, as the tests NN_name/<n>_ranks (label NN_name). If the exercise has a
# two_hosts.sh, it also runs NN_name_test on two hosts, as NN_name/two_hosts.
function(kata_mpi_tests name)
  # Open MPI refuses to start as root unless told; CI runs as root.
  set(mpiexec_flags --oversubscribe)
  execute_process(COMMAND id -u OUTPUT_VARIABLE uid OUTPUT_STRIP_TRAILING_WHITESPACE)
  if(uid STREQUAL "0")
    list(APPEND mpiexec_flags --allow-run-as-root)
  endif()
  # Each run gets a session directory of its own, removed when it ends: two
  # mpiexecs at once (ctest -j) would otherwise race on the shared one, and every
  # run would leave one in /tmp.
  set(session ${PROJECT_SOURCE_DIR}/cmake/mpi_session.sh)
  foreach(ranks IN LISTS ARGN)
    # CMAKE_CROSSCOMPILING_EMULATOR is how `kata grade` sandboxes every test
    # binary; mpiexec is not a target, so it is put in front by hand.
    add_test(NAME ${name}/${ranks}_ranks
      COMMAND ${CMAKE_CROSSCOMPILING_EMULATOR} ${session}
              ${MPIEXEC_EXECUTABLE} ${MPIEXEC_NUMPROC_FLAG} ${ranks}
              ${mpiexec_flags} ${MPIEXEC_PREFLAGS} $<TARGET_FILE:${name}_test>
              ${MPIEXEC_POSTFLAGS})
    set_tests_properties(${name}/${ranks}_ranks PROPERTIES LABELS ${name} TIMEOUT ${KATA_TEST_TIMEOUT})
  endforeach()
  kata_mpi_two_hosts_test(${name})
endfunction()

# kata_mpi_two_hosts_test(NN_name): NN_name/two_hosts runs NN_name_test on 4 ranks
# over two hosts (exercises/NN_name/two_hosts.sh: two network namespaces joined by
# a veth pair, TCP the only transport). It needs root; elsewhere the script exits
# 77 with one line saying why, and ctest reports the test as skipped, not failed.
function(kata_mpi_two_hosts_test name)
  set(script ${PROJECT_SOURCE_DIR}/exercises/${name}/two_hosts.sh)
  # Not under `kata grade` (its sandbox, the emulator, runs tests as an
  # unprivileged user): the two hosts need root, which graded code never gets,
  # and a test that can only be skipped there would cost every student its points.
  if(NOT EXISTS ${script} OR CMAKE_CROSSCOMPILING_EMULATOR)
    return()
  endif()
  # The script's own deadline comes first, so that it tears down before ctest kills it.
  math(EXPR deadline "${KATA_TEST_TIMEOUT} - 10")
  add_test(NAME ${name}/two_hosts
    COMMAND ${script} run --timeout ${deadline}
            -- $<TARGET_FILE:${name}_test>)
  set_tests_properties(${name}/two_hosts PROPERTIES
    LABELS ${name} TIMEOUT ${KATA_TEST_TIMEOUT} SKIP_RETURN_CODE 77)
endfunction()
