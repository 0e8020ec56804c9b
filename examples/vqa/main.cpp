// The vqa program: task.cpp with this example's weights and shipped questions.
#include "../support/example.hpp"

namespace vqa {
int run(const examples::Invocation& how);
}

int main(int argc, char** argv) { return vqa::run(examples::Invocation::of_example(argc, argv, MMM_EXAMPLE_DIR)); }
