# caption_reader: the captioner compiled once behind caption::Reader (reader.hpp), for the
# draw example and its parity test (tests/apps), whichever of them is configured first.
include_guard(GLOBAL)
add_library(caption_reader STATIC ${CMAKE_CURRENT_LIST_DIR}/reader.cpp)
target_link_libraries(caption_reader PUBLIC mmm_project_options)
