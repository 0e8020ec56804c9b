// The transcribe program: task.cpp with this example's weights and shipped recordings.
#include "../support/example.hpp"

namespace transcribe {
int run(const examples::Invocation& how);
}

int main(int argc, char** argv) { return transcribe::run(examples::Invocation::of_example(argc, argv, MMM_EXAMPLE_DIR)); }
