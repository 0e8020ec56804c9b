# assistant_task: the assistant task (task.cpp: assistant::run) and the methods of
# assistant.hpp, one TU that compiles the assistant once for the assistant program, mmm-run,
# the parity test (tests/apps) and the application benchmark, whichever of them is configured
# first.
include_guard(GLOBAL)
add_library(assistant_task STATIC ${CMAKE_CURRENT_LIST_DIR}/task.cpp)
target_link_libraries(assistant_task PUBLIC mmm_project_options)
