# Finds mmm's header dependencies and attaches them to a target. Used both by the build
# tree and (through mmmConfig.cmake) by an installed package, so both see the same rules.
include_guard(GLOBAL)
include(CMakeFindDependencyMacro OPTIONAL)

option(MMM_USE_OPENMP "Use OpenMP threads in mmm's kernels when OpenMP is found" ON)
option(MMM_USE_LIBJPEG "Decode JPEGs with libjpeg-turbo (bit-exact with PIL) when it is found; off: stb_image" ON)

macro(_mmm_find name)
  if(COMMAND find_dependency AND MMM_FINDING_AS_PACKAGE)
    find_dependency(${name} ${ARGN})
  else()
    find_package(${name} ${ARGN})
  endif()
endmacro()

_mmm_find(Eigen3 3.4 REQUIRED NO_MODULE)
_mmm_find(xsimd 8 REQUIRED)
# Debian's xsimd target links a bare "xtl" library that does not exist; mmm needs only
# xsimd's headers, so it uses their directory instead of the target.
find_path(MMM_XSIMD_INCLUDE_DIR xsimd/xsimd.hpp HINTS ${xsimd_INCLUDE_DIRS} REQUIRED)
_mmm_find(nlohmann_json 3 REQUIRED)
if(MMM_USE_OPENMP)
  find_package(OpenMP COMPONENTS CXX QUIET)
endif()
# stb_image decodes PNG/JPEG/BMP; without it mmm still reads raw pixel buffers.
find_path(MMM_STB_INCLUDE_DIR stb_image.h PATH_SUFFIXES stb)
# libjpeg-turbo decodes JPEGs exactly as PIL does (Debian: libjpeg62-turbo-dev). Optional:
# an installed mmm finds it again here, and uses it only if the consumer has it too.
if(MMM_USE_LIBJPEG)
  set(mmm_jpeg_found_here OFF)
  if(NOT TARGET JPEG::JPEG)
    find_package(JPEG QUIET)
    set(mmm_jpeg_found_here ON)
  endif()
  # Imported targets are local to the directory that created them, and a project that vendors
  # mmm with add_subdirectory evaluates $<TARGET_EXISTS:JPEG::JPEG> in its own directory.
  if(mmm_jpeg_found_here AND TARGET JPEG::JPEG)
    set_target_properties(JPEG::JPEG PROPERTIES IMPORTED_GLOBAL TRUE)
  endif()
endif()

function(mmm_link_dependencies target)
  target_link_libraries(${target} INTERFACE Eigen3::Eigen nlohmann_json::nlohmann_json)
  # A system directory must not be added again: -isystem /usr/include breaks libstdc++.
  if(NOT MMM_XSIMD_INCLUDE_DIR IN_LIST CMAKE_CXX_IMPLICIT_INCLUDE_DIRECTORIES)
    target_include_directories(${target} SYSTEM INTERFACE ${MMM_XSIMD_INCLUDE_DIR})
  endif()
  if(MMM_USE_OPENMP AND OpenMP_CXX_FOUND)
    target_link_libraries(${target} INTERFACE OpenMP::OpenMP_CXX)
    target_compile_definitions(${target} INTERFACE MMM_USE_OPENMP=1)
  endif()
  if(MMM_STB_INCLUDE_DIR AND NOT MMM_STB_INCLUDE_DIR IN_LIST CMAKE_CXX_IMPLICIT_INCLUDE_DIRECTORIES)
    target_include_directories(${target} SYSTEM INTERFACE ${MMM_STB_INCLUDE_DIR})
  endif()
  if(MMM_STB_INCLUDE_DIR)
    target_compile_definitions(${target} INTERFACE MMM_HAS_STB=1)
  endif()
  if(MMM_USE_LIBJPEG AND TARGET JPEG::JPEG)
    target_link_libraries(${target} INTERFACE $<TARGET_NAME_IF_EXISTS:JPEG::JPEG>)
    target_compile_definitions(${target} INTERFACE $<$<TARGET_EXISTS:JPEG::JPEG>:MMM_HAS_LIBJPEG=1>)
  endif()
endfunction()
