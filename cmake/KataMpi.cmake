# kata_mpi_tests(NN_name ranks...): ctest runs NN_name_test under mpiexec, once per
# rank count, as the tests NN_name/<n>_ranks (label NN_name).
function(kata_mpi_tests name)
  # Open MPI refuses to start as root unless told; CI runs as root.
  set(mpiexec_flags --oversubscribe)
  execute_process(COMMAND id -u OUTPUT_VARIABLE uid OUTPUT_STRIP_TRAILING_WHITESPACE)
  if(uid STREQUAL "0")
    list(APPEND mpiexec_flags --allow-run-as-root)
  endif()
  # Open MPI 4's mpiexec (OpenRTE): two of them starting at once (ctest -j) race
  # to create and remove the same session directory, /tmp/ompi.<host>.<uid>, and
  # one fails (open-mpi/ompi#8510). Each test gets a base of its own, short
  # because it holds Unix sockets.
  execute_process(COMMAND ${MPIEXEC_EXECUTABLE} --version OUTPUT_VARIABLE mpiexec_version)
  set(tmp "$ENV{TMPDIR}")
  if(NOT tmp)
    set(tmp /tmp)
  endif()
  string(MD5 build_id "${CMAKE_BINARY_DIR}")
  string(SUBSTRING "${build_id}" 0 8 build_id)
  foreach(ranks IN LISTS ARGN)
    set(session_flags)
    if(mpiexec_version MATCHES "OpenRTE")
      set(session_flags --mca orte_tmpdir_base ${tmp}/kata-mpi-${build_id}-${name}-${ranks})
    endif()
    # CMAKE_CROSSCOMPILING_EMULATOR is how `kata grade` sandboxes every test
    # binary; mpiexec is not a target, so it is put in front by hand.
    add_test(NAME ${name}/${ranks}_ranks
      COMMAND ${CMAKE_CROSSCOMPILING_EMULATOR} ${MPIEXEC_EXECUTABLE} ${MPIEXEC_NUMPROC_FLAG} ${ranks}
              ${mpiexec_flags} ${session_flags} ${MPIEXEC_PREFLAGS} $<TARGET_FILE:${name}_test>
              ${MPIEXEC_POSTFLAGS})
    set_tests_properties(${name}/${ranks}_ranks PROPERTIES LABELS ${name} TIMEOUT ${KATA_TEST_TIMEOUT})
  endforeach()
endfunction()
