# Checks the include layering of the headers under INCLUDE_DIR (see docs/design.md): a header may
# include only headers of its own floor or below. The floors are folders, from the ground up:
#   base        batch/detail/base/      none of ours but each other
#   vocabulary  batch/detail/checks/    and the public headers that say what things are (listed
#                                       below: their paths are the library's public API)
#   run         batch/detail/run/       scheduling, buckets, generators and yields
#   executor    batch/detail/executor/  an executor's jobs: dispatch, delivery, the asynchronous
#                                       round, observation, cache control, misuse reports
#               batch/detail/serve/     serving many requests: tickets, forwarders, the hubs that
#                                       merge their batches (for batch/asio/loop.hpp)
#   components  every other header      the public components and the optional parts
# Run with cmake -P by the test `layering`.
cmake_minimum_required(VERSION 3.25)
set(floor_folders detail/base/ detail/checks/ detail/run/ detail/executor/ detail/serve/)
set(floor_of_folder 0 1 2 3 3)
set(vocabulary async_batcher.hpp batcher.hpp cache.hpp error.hpp observer.hpp operation.hpp operation_set.hpp
    outcome.hpp stats.hpp unit.hpp)
set(names base vocabulary run executor components)

function(floor_of header out)
  if(header IN_LIST vocabulary)
    set(${out} 1 PARENT_SCOPE)
    return()
  endif()
  if(header MATCHES "^detail/")
    foreach(folder floor IN ZIP_LISTS floor_folders floor_of_folder)
      string(LENGTH "${folder}" length)
      string(SUBSTRING "${header}" 0 ${length} prefix)
      if(prefix STREQUAL folder)
        set(${out} ${floor} PARENT_SCOPE)
        return()
      endif()
    endforeach()
    message(FATAL_ERROR "${header} is in no floor: a detail header lives in one of ${floor_folders}")
  endif()
  set(${out} 4 PARENT_SCOPE)
endfunction()

set(problems "")
file(GLOB_RECURSE headers RELATIVE ${INCLUDE_DIR}/batch ${INCLUDE_DIR}/batch/*.hpp)
foreach(header IN LISTS headers)
  floor_of(${header} floor)
  file(STRINGS ${INCLUDE_DIR}/batch/${header} includes REGEX "^#include <batch/")
  foreach(line IN LISTS includes)
    string(REGEX REPLACE "^#include <batch/([^>]*)>.*" "\\1" included "${line}")
    if(NOT EXISTS ${INCLUDE_DIR}/batch/${included})
      string(APPEND problems "  ${header} includes ${included}, which does not exist\n")
      continue()
    endif()
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
