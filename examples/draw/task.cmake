# draw_task: the draw task (task.cpp: draw::run) and the methods of draw.hpp, one TU that
# compiles the generator once for the draw program, mmm-run, the parity test (tests/apps) and
# the application benchmark, whichever of them is configured first. --check reads drawings
# back with the captioner, compiled once behind caption::Reader (caption_reader).
include_guard(GLOBAL)
include(${CMAKE_CURRENT_LIST_DIR}/../caption/reader.cmake)
add_library(draw_task STATIC ${CMAKE_CURRENT_LIST_DIR}/task.cpp)
target_link_libraries(draw_task PUBLIC mmm_project_options caption_reader)
