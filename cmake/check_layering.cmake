# Checks the include layering of the headers under INCLUDE_DIR (see docs/design.md): each floor
# may include only headers of its own floor or below.
#   ground:     batch/detail/traits.hpp, fwd.hpp, type_name.hpp, settings.hpp: none of ours but each other
#   vocabulary: batch/error.hpp, operation.hpp, outcome.hpp, unit.hpp, cache.hpp, stats.hpp, async_batcher.hpp,
#               observer.hpp: the ground and each other
#   detail:     the rest of batch/detail/: the floors below and detail/
#   components: everything else
# Run with cmake -P by the test `layering`.
cmake_minimum_required(VERSION 3.25)
set(ground detail/traits.hpp detail/fwd.hpp detail/type_name.hpp detail/settings.hpp)
set(vocabulary error.hpp operation.hpp outcome.hpp unit.hpp cache.hpp stats.hpp async_batcher.hpp observer.hpp)

function(floor_of header out)
  if(header IN_LIST ground)
    set(${out} 0 PARENT_SCOPE)
  elseif(header IN_LIST vocabulary)
    set(${out} 1 PARENT_SCOPE)
  elseif(header MATCHES "^detail/")
    set(${out} 2 PARENT_SCOPE)
  else()
    set(${out} 3 PARENT_SCOPE)
  endif()
endfunction()

set(names ground vocabulary detail component)
set(problems "")
file(GLOB_RECURSE headers RELATIVE ${INCLUDE_DIR}/batch ${INCLUDE_DIR}/batch/*.hpp)
foreach(header IN LISTS headers)
  floor_of(${header} floor)
  file(STRINGS ${INCLUDE_DIR}/batch/${header} includes REGEX "^#include <batch/")
  foreach(line IN LISTS includes)
    string(REGEX REPLACE "^#include <batch/([^>]*)>.*" "\\1" included "${line}")
    floor_of(${included} included_floor)
    if(included_floor GREATER floor)
      list(GET names ${floor} from)
      list(GET names ${included_floor} to)
      string(APPEND problems "  ${header} (${from}) includes ${included} (${to})\n")
    endif()
  endforeach()
endforeach()
if(problems)
  message(FATAL_ERROR "headers include headers above their floor:\n${problems}")
endif()
list(LENGTH headers count)
message(STATUS "the include layering of ${count} headers holds")
