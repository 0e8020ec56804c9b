#pragma once
// The one place that knows about threads. Kernels split work with parallel_for; users
// set the count with set_num_threads. Without OpenMP everything runs on the calling thread.

#include <algorithm>
#include <atomic>

#include "mmm/core/tensor.hpp"

#if defined(MMM_USE_OPENMP) && defined(_OPENMP)
#include <omp.h>
#define MMM_HAS_OPENMP 1
#else
#define MMM_HAS_OPENMP 0
#endif

namespace mmm {

namespace detail {
inline std::atomic<int>& thread_setting() {
  static std::atomic<int> n{0};  // 0: what OpenMP says
  return n;
}
}  // namespace detail

// Threads that kernels may use from now on; n <= 0 restores the default (OpenMP's).
inline void set_num_threads(int n) { detail::thread_setting().store(n > 0 ? n : 0); }

// Threads a kernel called here may use. Inside an OpenMP parallel region this is 1, so
// that calling mmm from a user's own parallel loop never oversubscribes the machine.
// Threads OpenMP does not know about (std::thread pools) are not detected: a program that
// runs mmm on several of those calls set_num_threads(1). On a machine shared with other
// busy processes, OMP_WAIT_POLICY=passive keeps idle OpenMP workers from spinning against
// them (with libgomp's default spinning, 2-thread runs there can be slower than 1).
inline int num_threads() {
#if MMM_HAS_OPENMP
  if (omp_in_parallel()) return 1;
  const int n = detail::thread_setting().load();
  return n > 0 ? n : omp_get_max_threads();
#else
  return 1;
#endif
}

// Calls body(begin, end) on disjoint chunks covering [0, count), on up to num_threads()
// threads; each chunk holds at least `grain` items (except the last).
template <class Body>
void parallel_for(index count, index grain, Body&& body) {
  if (count <= 0) return;
  const int threads = static_cast<int>(std::min<index>(num_threads(), std::max<index>(1, count / std::max<index>(grain, 1))));
  if (threads <= 1) {
    body(index{0}, count);
    return;
  }
#if MMM_HAS_OPENMP
#pragma omp parallel num_threads(threads)
  {
    const index t = omp_get_thread_num(), nt = omp_get_num_threads();
    const index begin = count * t / nt, end = count * (t + 1) / nt;
    if (begin < end) body(begin, end);
  }
#else
  body(index{0}, count);
#endif
}

// Spins until ready() holds: for waits of a few microseconds on another thread's flag,
// shorter than a sleep and a wake-up would take.
template <class Ready>
void spin_until(Ready&& ready) {
  while (!ready()) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    asm volatile("yield");
#endif
  }
}

// The threads of one parallel_team call: who this is, how many there are, and a barrier
// that all of them must reach (for work in phases, such as packing a shared operand
// before anyone reads it).
class Team {
 public:
  Team(int rank, int size) : rank_(rank), size_(size) {}
  int rank() const noexcept { return rank_; }
  int size() const noexcept { return size_; }
  void barrier() const {
#if MMM_HAS_OPENMP
    if (size_ > 1) {
#pragma omp barrier
    }
#endif
  }

 private:
  int rank_, size_;
};

// Calls body(team) once on each of up to `threads` threads (capped by num_threads()); the
// team may be smaller than asked for, so the body splits its work by team.size().
template <class Body>
void parallel_team(int threads, Body&& body) {
  threads = std::min(threads, num_threads());
  if (threads <= 1) {
    body(Team(0, 1));
    return;
  }
#if MMM_HAS_OPENMP
#pragma omp parallel num_threads(threads)
  body(Team(omp_get_thread_num(), omp_get_num_threads()));
#else
  body(Team(0, 1));
#endif
}

}  // namespace mmm
