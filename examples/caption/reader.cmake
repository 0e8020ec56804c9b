# caption_reader: the captioner's task (task.cpp: caption::run), its methods and
# caption::Reader (reader.hpp), one TU that compiles the captioner once for the caption
# program, mmm-run (as caption_task), the draw example, the parity tests (tests/apps) and the
# application benchmark, whichever of them is configured first.
include_guard(GLOBAL)
add_library(caption_reader STATIC ${CMAKE_CURRENT_LIST_DIR}/task.cpp)
target_link_libraries(caption_reader PUBLIC mmm_project_options)
add_library(caption_task ALIAS caption_reader)
