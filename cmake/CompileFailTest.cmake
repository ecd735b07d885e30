# A compile-fail test is one source file holding a compiling twin and a mistake: built as it
# is, it must compile (the twin, part of the normal build); compiled with BATCH_COMPILE_FAIL
# defined, it must fail with the message named on its `// expect: REGEX` line. Matching the
# message, not just the failure, keeps a typo from passing as an expected error. The check
# (cmake/check_compile_fail.cmake) also requires one error, whose first line is the library's
# or points at the test's own file, and, with g++, at most BATCH_COMPILE_FAIL_MAX_LINES lines of
# diagnostics in all.
set(BATCH_COMPILE_FAIL_MAX_LINES 25 CACHE STRING "Most lines a compile-time check may print with g++")

#
# batch_add_compile_fail_test(source [LINK targets...]): the case compiles against batch::batch
# and `targets` (their include directories, for the check).
function(batch_add_compile_fail_test source)
  cmake_parse_arguments(PARSE_ARGV 1 arg "" "" "LINK")
  get_filename_component(name ${source} NAME_WE)
  file(STRINGS ${source} expect_line REGEX "^// expect: ")
  if(NOT expect_line)
    message(FATAL_ERROR "${source} has no '// expect: REGEX' line")
  endif()
  string(REGEX REPLACE "^// expect: " "" expected "${expect_line}")

  add_library(compile_twin_${name} OBJECT ${source})
  target_link_libraries(compile_twin_${name} PRIVATE batch::batch batch_warnings ${arg_LINK})
  set(includes "${PROJECT_SOURCE_DIR}/include;$<TARGET_PROPERTY:Boost::headers,INTERFACE_INCLUDE_DIRECTORIES>")
  foreach(target IN LISTS arg_LINK)
    string(APPEND includes ";$<TARGET_PROPERTY:${target},INTERFACE_INCLUDE_DIRECTORIES>")
  endforeach()

  set(max_lines 0)
  if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
    set(max_lines ${BATCH_COMPILE_FAIL_MAX_LINES})
  endif()
  add_test(NAME compile_fail.${name}
    COMMAND ${CMAKE_COMMAND}
      -D CXX=${CMAKE_CXX_COMPILER}
      -D "INCLUDES=${includes}"
      -D SOURCE=${source}
      -D EXPECTED=${expected}
      -D MAX_LINES=${max_lines}
      -P ${PROJECT_SOURCE_DIR}/cmake/check_compile_fail.cmake)
  set_tests_properties(compile_fail.${name} PROPERTIES LABELS compile-fail)
endfunction()
