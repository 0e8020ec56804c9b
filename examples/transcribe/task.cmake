# transcribe_task: the transcribe task (task.cpp: transcribe::run) and the methods of
# transcribe.hpp, one TU that compiles the transcriber once for the transcribe program,
# mmm-run, the parity test (tests/apps) and the application benchmark, whichever of them is
# configured first.
include_guard(GLOBAL)
add_library(transcribe_task STATIC ${CMAKE_CURRENT_LIST_DIR}/task.cpp)
target_link_libraries(transcribe_task PUBLIC mmm_project_options)
