#pragma once
// Read-only bytes of a whole file: memory-mapped where the platform allows (weights are
// paged in on demand and shared between processes), read into memory elsewhere or when
// asked to (FileAccess::copy).
//
// A mapping shows the file as it is when it is read, not as it was when it was opened:
// if another process truncates the file, touching a page past the new end raises SIGBUS.
// A file that may change while it is open should be copied.

#include <cerrno>
#include <cstddef>
#include <cstring>
#include <fstream>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "mmm/core/errors.hpp"

#if defined(__unix__) || defined(__APPLE__)
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#define MMM_HAS_MMAP 1
#else
#define MMM_HAS_MMAP 0
#endif

namespace mmm {

// map: memory-map the file (fast to open, shared, but see above); copy: read it into
// memory once, so that nothing done to the file afterwards can affect the reader.
enum class FileAccess { map, copy };

class MappedFile {
 public:
  MappedFile() = default;
  explicit MappedFile(const std::string& path, FileAccess access = FileAccess::map) : path_(path) {
    if (access == FileAccess::copy || !MMM_HAS_MMAP) {
      read_into_memory();
      return;
    }
#if MMM_HAS_MMAP
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) throw IoError("cannot open '" + path + "': " + std::strerror(errno));
    struct stat st {};
    if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
      ::close(fd);
      throw IoError("cannot read '" + path + "': not a regular file");
    }
    size_ = static_cast<std::size_t>(st.st_size);
    if (size_ > 0) {
      void* p = ::mmap(nullptr, size_, PROT_READ, MAP_PRIVATE, fd, 0);
      if (p == MAP_FAILED) {
        ::close(fd);
        throw IoError("cannot map '" + path + "': " + std::strerror(errno));
      }
      mapping_ = std::shared_ptr<void>(p, [n = size_](void* q) { ::munmap(q, n); });
      data_ = static_cast<const std::byte*>(p);
    }
    ::close(fd);
#endif
  }

  // Bytes already in memory, owned by the caller for as long as this object is used.
  static MappedFile borrow(std::span<const std::byte> bytes, std::string name) {
    MappedFile f;
    f.data_ = bytes.data();
    f.size_ = bytes.size();
    f.path_ = std::move(name);
    return f;
  }

  std::span<const std::byte> bytes() const noexcept { return {data_, size_}; }
  std::size_t size() const noexcept { return size_; }
  const std::string& path() const noexcept { return path_; }

 private:
  void read_into_memory() {
    std::ifstream in(path_, std::ios::binary | std::ios::ate);
    if (!in) throw IoError("cannot open '" + path_ + "'");
    const std::streamoff end = in.tellg();
    if (end < 0) throw IoError("cannot read '" + path_ + "': not a regular file");
    const auto n = static_cast<std::size_t>(end);
    auto buf = std::make_shared<std::vector<std::byte>>(n);
    in.seekg(0);
    if (n > 0 && !in.read(reinterpret_cast<char*>(buf->data()), static_cast<std::streamsize>(n)))
      throw IoError("cannot read '" + path_ + "' (" + std::to_string(n) + " bytes): it changed while being read?");
    size_ = n;
    data_ = buf->data();
    mapping_ = std::shared_ptr<void>(buf, buf->data());
  }

  std::shared_ptr<void> mapping_;  // shared: copies of a SafeTensors share one mapping
  const std::byte* data_ = nullptr;
  std::size_t size_ = 0;
  std::string path_;
};

}  // namespace mmm
