# draw_task: the draw task (task.cpp: draw::run) and the methods of draw.hpp, one TU
# that compiles the generator once for the draw program, mmm-run, the parity test (tests/apps) and
# the application benchmark, whichever of them is configured first.
include_guard(GLOBAL)
add_library(draw_task STATIC ${CMAKE_CURRENT_LIST_DIR}/task.cpp)
target_link_libraries(draw_task PUBLIC mmm_project_options)
