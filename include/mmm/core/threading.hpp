#pragma once
// The one place that knows about threads. Kernels split work with parallel_for; users
// set the count with set_num_threads. Without OpenMP everything runs on the calling thread.

#include <algorithm>
#include <atomic>
#include <thread>

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

namespace detail {
// Spins like spin_until, but after ~100 µs of spinning also yields the core at every turn:
// on a machine with more busy threads than cores the thread being waited for may need
// this core to get anywhere.
template <class Ready>
void spin_then_yield_until(Ready&& ready) {
  for (int spins = 0; !ready(); ++spins) {
    if (spins >= (1 << 14)) {
      std::this_thread::yield();
      continue;
    }
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    asm volatile("yield");
#endif
  }
}
}  // namespace detail

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

// A barrier for the threads of one parallel_team that never sleeps, for work in many short
// phases (a recurrent layer's steps, a few µs each): Team::barrier is OpenMP's, which under
// OMP_WAIT_POLICY=passive puts waiting threads to sleep and costs a wake-up per phase.
// Every member calls wait(team) at each phase boundary; it returns once all team.size()
// members have arrived. Spins, then yields, so an oversubscribed machine still progresses.
class SpinBarrier {
 public:
  void wait(const Team& team) {
    if (team.size() <= 1) return;
    const unsigned generation = generation_.load(std::memory_order_acquire);
    if (arrived_.fetch_add(1, std::memory_order_acq_rel) + 1 == team.size()) {
      arrived_.store(0, std::memory_order_relaxed);  // nobody arrives again before the release below
      generation_.store(generation + 1, std::memory_order_release);
    } else {
      detail::spin_then_yield_until([&] { return generation_.load(std::memory_order_acquire) != generation; });
    }
  }

 private:
  alignas(64) std::atomic<int> arrived_{0};          // own cache lines: the counter is written by
  alignas(64) std::atomic<unsigned> generation_{0};  // every arrival, the generation read by every waiter
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
