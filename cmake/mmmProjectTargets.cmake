# Settings for mmm's own targets (tests, benchmarks, examples), never for users' targets.
include_guard(GLOBAL)

option(MMM_NATIVE "Build mmm's own targets for this machine's CPU (-march=native)" ON)
option(MMM_SANITIZE "Build mmm's own targets with AddressSanitizer and UBSan" OFF)

if(NOT CMAKE_BUILD_TYPE AND NOT CMAKE_CONFIGURATION_TYPES)
  set(CMAKE_BUILD_TYPE Release CACHE STRING "Build type" FORCE)
endif()

add_library(mmm_project_options INTERFACE)
target_compile_options(mmm_project_options INTERFACE -Wall -Wextra -Werror)
# GCC 12's AVX-512 intrinsics (_mm512_undefined_ps inside unpack/max/min) trip its own
# uninitialized-variable warnings once inlined into Eigen or xsimd code: GCC bug 105593,
# fixed in GCC 13. Only those two warnings go, and only on the affected compilers; the
# clang-built fuzz targets keep them.
if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU" AND CMAKE_CXX_COMPILER_VERSION VERSION_LESS 13)
  target_compile_options(mmm_project_options INTERFACE -Wno-uninitialized -Wno-maybe-uninitialized)
endif()
if(MMM_NATIVE)
  target_compile_options(mmm_project_options INTERFACE -march=native)
endif()
# -Og -g1 (line tables) after the build type's flags. The sanitizer build is a third of the
# CI's 30 minutes, and its cost is GCC optimizing the checks UBSan inserts into inlined
# kernel templates: tests/math/rowwise.cpp took 95 CPU-s at -O1 -g1, 27 at -Og, 15 at -O0,
# and ran in 18.3 s, 20.1 s and 29.2 s. -Og keeps the stack traces and the run time of -O1.
if(MMM_SANITIZE)
  target_compile_options(mmm_project_options INTERFACE
    -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer -Og -g1)
  target_link_options(mmm_project_options INTERFACE -fsanitize=address,undefined)
  # Tests whose input sweeps are there for accuracy (checked in the Release run) thin them
  # out under the sanitizers, which look for memory errors and undefined behaviour.
  target_compile_definitions(mmm_project_options INTERFACE MMM_SANITIZED_BUILD=1)
else()
  target_compile_definitions(mmm_project_options INTERFACE MMM_SANITIZED_BUILD=0)
endif()
target_link_libraries(mmm_project_options INTERFACE mmm::mmm)

# Every directory below tests/, benchmarks/ and examples/ with a CMakeLists.txt is one
# feature area; picking them up by glob lets areas be added without touching a shared list.
# MMM_ONLY_AREAS (a list of directory names, e.g. "unit;parity") limits the build to those.
set(MMM_ONLY_AREAS "" CACHE STRING "Only these test/benchmark/example areas (directory names); empty: all")
function(mmm_add_subdirectories dir)
  file(GLOB children LIST_DIRECTORIES true "${dir}/*")
  list(SORT children)
  foreach(child IN LISTS children)
    get_filename_component(area "${child}" NAME)
    if(MMM_ONLY_AREAS AND NOT area IN_LIST MMM_ONLY_AREAS)
      continue()
    endif()
    if(IS_DIRECTORY "${child}" AND EXISTS "${child}/CMakeLists.txt")
      add_subdirectory("${child}")
    endif()
  endforeach()
endfunction()
