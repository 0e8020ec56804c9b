#pragma once
// Text that a Hugging Face tokenizer pipeline has rewritten, with where each byte came
// from: the model of the `tokenizers` library's NormalizedString. A `Buffer` holds the
// rewritten text of many pieces back to back, each byte aligned to a byte range of the
// original input; a `Piece` is one split of it (its bytes in the buffer, the original range
// it stands for, and the id when it is an added token).
//
// Rewrites follow the library's `transform`: each new character comes with a change —
// 0 replaces the next input character (and takes its alignment), n > 0 inserts (aligned
// like the character before), −n replaces and also drops the n characters after it — so
// that the offsets of the tokens in the end are the ones the library reports.

#include <algorithm>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "mmm/preprocess/text/unicode.hpp"
#include "mmm/preprocess/text/utf8.hpp"

namespace mmm::detail::hf {

struct Align {
  std::uint32_t begin = 0, end = 0;  // bytes of the original text
};

// Swaps two scratch containers that take turns, leaving both with the larger capacity, so
// that once warm neither grows again whichever role it has in the next call.
template <class T>
void swap_scratch(std::vector<T>& a, std::vector<T>& b) {
  std::swap(a, b);
  if (a.capacity() < b.capacity()) a.reserve(b.capacity());
  if (b.capacity() < a.capacity()) b.reserve(a.capacity());
}

struct Buffer {
  std::string text;
  std::vector<Align> align;  // one per byte of text

  void clear() noexcept {
    text.clear();
    align.clear();
  }
  std::size_t size() const noexcept { return text.size(); }
  void push(char32_t c, Align a) {
    const std::size_t before = text.size();
    utf8::append(text, c);
    align.insert(align.end(), text.size() - before, a);
  }
  friend void swap_scratch(Buffer& a, Buffer& b) {
    std::swap(a.text, b.text);
    swap_scratch(a.align, b.align);
    if (a.text.capacity() < b.text.capacity()) a.text.reserve(b.text.capacity());
    if (b.text.capacity() < a.text.capacity()) b.text.reserve(a.text.capacity());
  }
  // Bytes copied from another buffer with their alignments.
  void copy(const Buffer& from, std::size_t begin, std::size_t end) {
    text.append(from.text, begin, end - begin);
    align.insert(align.end(), from.align.begin() + static_cast<std::ptrdiff_t>(begin),
                 from.align.begin() + static_cast<std::ptrdiff_t>(end));
  }
};

struct Piece {
  std::uint32_t begin = 0, end = 0;            // bytes in the buffer
  std::uint32_t orig_begin = 0, orig_end = 0;  // what it stands for in the original text
  std::int32_t id = -1;                        // an added token's id, or -1
  bool empty() const noexcept { return begin == end; }
};

// The original range of bytes [b, e) of a buffer: first byte's start to last byte's end.
inline Align original_of(const Buffer& buf, std::uint32_t b, std::uint32_t e) noexcept {
  if (b >= e) return {b < buf.align.size() ? buf.align[b].begin : 0, b < buf.align.size() ? buf.align[b].begin : 0};
  return {buf.align[b].begin, buf.align[e - 1].end};
}

// A piece's characters, decoded once.
struct Char {
  char32_t code;
  std::uint32_t at;  // byte in the input buffer
  std::uint8_t length;
};

inline void decode_chars(const Buffer& in, const Piece& p, std::vector<Char>& out) {
  out.clear();
  const std::string_view s(in.text);
  for (std::uint32_t i = p.begin; i < p.end;) {
    const utf8::Decoded d = utf8::decode(s.data() + i, s.data() + p.end);
    out.push_back({d.code, i, static_cast<std::uint8_t>(d.length)});
    i += static_cast<std::uint32_t>(d.length);
  }
}

// Writes one rewritten piece: emit(c, change) as the library's transform() reads it.
class Rewriter {
 public:
  Rewriter(const Buffer& in, const Piece& piece, const std::vector<Char>& chars, Buffer& out, std::size_t initial_offset = 0)
      : in_(in), piece_(piece), chars_(chars), out_(out), pos_(initial_offset), start_(out.size()) {}

  void emit(char32_t c, int change) {
    Align a;
    if (change > 0) {
      a = pos_ > 0 ? in_.align[chars_[pos_ - 1].at + chars_[pos_ - 1].length - 1] : Align{piece_.orig_begin, piece_.orig_begin};
    } else {
      a = pos_ < chars_.size() ? in_.align[chars_[pos_].at] : Align{piece_.orig_end, piece_.orig_end};
      pos_ += 1 + static_cast<std::size_t>(-change);
    }
    out_.push(c, a);
  }
  // The new piece: the bytes written, standing for the same original range.
  Piece finish() const {
    return {static_cast<std::uint32_t>(start_), static_cast<std::uint32_t>(out_.size()), piece_.orig_begin, piece_.orig_end, -1};
  }

 private:
  const Buffer& in_;
  const Piece& piece_;
  const std::vector<Char>& chars_;
  Buffer& out_;
  std::size_t pos_, start_;
};

// ---- normalization forms with the library's changes (unicode-normalization-alignments) ----

// Canonical or compatibility decomposition in canonical order; calls out(c, change).
// Non-starters since the last starter are sorted by combining class, stably.
template <class Out>
void decompose_with_changes(const std::vector<Char>& chars, bool compatibility, Out&& out) {
  struct Item {
    std::uint8_t ccc;
    char32_t code;
    int change;
  };
  thread_local std::vector<Item> buffer;
  buffer.clear();
  std::size_t ready = 0;
  auto flush_sorted = [&](std::size_t upto) {  // a stable insertion sort: runs of marks are short, and it allocates nothing
    for (std::size_t i = ready + 1; i < upto; ++i)
      for (std::size_t j = i; j > ready && buffer[j - 1].ccc > buffer[j].ccc; --j) std::swap(buffer[j - 1], buffer[j]);
    ready = upto;
  };
  for (const Char& ch : chars) {
    bool first = true;
    unicode::decompose(ch.code, compatibility, [&](char32_t d) {
      const std::uint8_t ccc = unicode::combining_class(d);
      if (ccc == 0) {
        flush_sorted(buffer.size());
        for (const Item& it : buffer) out(it.code, it.change);
        buffer.clear();
        ready = 0;
      }
      buffer.push_back({ccc, d, first ? 0 : 1});
      first = false;
    });
  }
  flush_sorted(buffer.size());
  for (const Item& it : buffer) out(it.code, it.change);
}

// Canonical composition of a decomposed stream (the library's Recompositions).
template <class Out>
void compose_with_changes(const std::vector<std::pair<char32_t, int>>& decomposed, Out&& out) {
  thread_local std::vector<std::pair<char32_t, int>> held;
  held.clear();
  bool have_composee = false;
  std::pair<char32_t, int> composee{};
  int last_ccc = -1;  // -1: none
  for (const auto& [ch, change] : decomposed) {
    const int ch_class = unicode::combining_class(ch);
    if (!have_composee) {
      if (ch_class != 0) {
        out(ch, change);
        continue;
      }
      composee = {ch, change};
      have_composee = true;
      continue;
    }
    if (last_ccc < 0) {
      if (const char32_t r = unicode::compose(composee.first, ch)) {
        composee = {r, composee.second + change - 1};
        continue;
      }
      if (ch_class == 0) {
        out(composee.first, composee.second);
        composee = {ch, change};
        continue;
      }
      held.push_back({ch, change});
      last_ccc = ch_class;
      continue;
    }
    if (last_ccc >= ch_class) {  // blocked
      if (ch_class == 0) {
        out(composee.first, composee.second);
        for (const auto& h : held) out(h.first, h.second);
        held.clear();
        composee = {ch, change};
        last_ccc = -1;
        continue;
      }
      held.push_back({ch, change});
      last_ccc = ch_class;
      continue;
    }
    if (const char32_t r = unicode::compose(composee.first, ch)) {
      composee = {r, composee.second + change - 1};
      continue;
    }
    held.push_back({ch, change});
    last_ccc = ch_class;
  }
  if (have_composee) out(composee.first, composee.second);
  for (const auto& h : held) out(h.first, h.second);
}

}  // namespace mmm::detail::hf
