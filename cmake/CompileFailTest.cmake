# A compile-fail test is one source file holding a compiling twin and a mistake: built as it
# is, it must compile (the twin, part of the normal build); built with BATCH_COMPILE_FAIL
# defined, it must fail with the message named on its `// expect: REGEX` line. Matching the
# message, not just the failure, keeps a typo from passing as an expected error.
function(batch_add_compile_fail_test source)
  get_filename_component(name ${source} NAME_WE)
  file(STRINGS ${source} expect_line REGEX "^// expect: ")
  if(NOT expect_line)
    message(FATAL_ERROR "${source} has no '// expect: REGEX' line")
  endif()
  string(REGEX REPLACE "^// expect: " "" expected "${expect_line}")

  add_library(compile_twin_${name} OBJECT ${source})
  target_link_libraries(compile_twin_${name} PRIVATE batch::batch batch_warnings)

  add_library(compile_fail_${name} OBJECT EXCLUDE_FROM_ALL ${source})
  target_link_libraries(compile_fail_${name} PRIVATE batch::batch batch_warnings)
  target_compile_definitions(compile_fail_${name} PRIVATE BATCH_COMPILE_FAIL)

  add_test(NAME compile_fail.${name}
    COMMAND ${CMAKE_COMMAND} --build ${CMAKE_BINARY_DIR} --target compile_fail_${name})
  set_tests_properties(compile_fail.${name} PROPERTIES
    PASS_REGULAR_EXPRESSION "${expected}"
    LABELS compile-fail
    RUN_SERIAL TRUE)
endfunction()
