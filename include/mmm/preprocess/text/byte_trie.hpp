#pragma once
// Tries over byte strings, for the tokenizers' pieces, with walks whose cost is linear in
// what they read — so that a model file with one very long piece, or a text that
// repeats a long symbol's prefix, costs its length and not its square:
//   ByteTrie       the strings, each with an id; walk(s) reports every one that is a
//                  prefix of s, in one pass over s.
//   PieceMatcher   every string that starts at each position of a text, all positions
//                  in one pass (Aho–Corasick over the reversed strings).

#include <algorithm>
#include <array>
#include <cstdint>
#include <string_view>
#include <vector>

#include "mmm/preprocess/text/piece_table.hpp"

namespace mmm::detail {

// Node 0 is the root; its children are an array, the others' are in one PairMap keyed by
// (node, byte). Each node keeps the id of the string that ends there (or -1).
class ByteTrie {
 public:
  ByteTrie() {
    root_.fill(-1);
    ids_.push_back(-1);
  }

  // Adds `s` (bytes taken from `begin` to `end`, so that a reversed string is a pair of
  // reverse iterators); a string added twice keeps its last id.
  template <class It>
  void insert(It begin, It end, std::int32_t id) {
    std::int32_t node = 0;
    for (; begin != end; ++begin) {
      const auto byte = static_cast<unsigned char>(*begin);
      std::int32_t next = child(node, byte);
      if (next < 0) {
        next = static_cast<std::int32_t>(ids_.size());
        ids_.push_back(-1);
        if (node == 0)
          root_[byte] = next;
        else
          edges_.insert(node, byte, {0, next});
        children_.push_back({node, next, byte});
      }
      node = next;
    }
    ids_[static_cast<std::size_t>(node)] = id;
  }
  void insert(std::string_view s, std::int32_t id) { insert(s.begin(), s.end(), id); }

  // The child of `node` along `byte`, or -1.
  std::int32_t child(std::int32_t node, unsigned char byte) const noexcept {
    return node == 0 ? root_[byte] : edges_.find(node, byte).merged;
  }
  // The id of the string that ends at `node`, or -1.
  std::int32_t id(std::int32_t node) const noexcept { return ids_[static_cast<std::size_t>(node)]; }
  std::size_t nodes() const noexcept { return ids_.size(); }

  // Calls found(length, id) for every string in the trie that is a prefix of the bytes
  // from `begin` to `end`, shortest first.
  template <class It, class Found>
  void walk(It begin, It end, Found&& found) const {
    std::int32_t node = 0;
    for (std::size_t length = 1; begin != end; ++begin, ++length) {
      node = child(node, static_cast<unsigned char>(*begin));
      if (node < 0) return;
      if (ids_[static_cast<std::size_t>(node)] >= 0) found(length, ids_[static_cast<std::size_t>(node)]);
    }
  }

  // Every edge as (parent, child, byte), in the order they were made.
  struct Edge {
    std::int32_t parent, child;
    unsigned char byte;
  };
  const std::vector<Edge>& edges() const noexcept { return children_; }

 private:
  std::array<std::int32_t, 256> root_;
  PairMap edges_;
  std::vector<std::int32_t> ids_;
  std::vector<Edge> children_;
};

// Every string of a set that starts at each position of a text, all positions in one
// right-to-left pass: the strings are reversed into a trie with Aho–Corasick failure links,
// so that reading the text backwards the automaton's state is the longest reversed string
// ending there, and the strings found at a position are that state's chain of "dictionary"
// links. Its cost is the text's length plus the matches found; walking a trie from every
// position instead costs the text's length times the longest string's (16,000 × 'a'
// against an 8 KB symbol: 10^8 steps).
class PieceMatcher {
 public:
  // Adds `s` with `id` (≥ 0); a string added twice keeps its last id.
  void insert(std::string_view s, std::int32_t id) {
    if (s.empty()) return;
    trie_.insert(s.rbegin(), s.rend(), id);
    built_ = false;
  }
  bool empty() const noexcept { return trie_.nodes() == 1; }

  // The failure and dictionary links, breadth-first (every link points to a shallower
  // node). Call after the last insert.
  void build() {
    const std::size_t n = trie_.nodes();
    fail_.assign(n, 0);
    dict_.assign(n, 0);
    depth_.assign(n, 0);
    first_child_.assign(n, -1);
    next_sibling_.assign(n, -1);
    byte_.assign(n, 0);
    for (const auto& e : trie_.edges()) {
      const auto c = static_cast<std::size_t>(e.child);
      next_sibling_[c] = first_child_[static_cast<std::size_t>(e.parent)];
      first_child_[static_cast<std::size_t>(e.parent)] = e.child;
      byte_[c] = e.byte;
      depth_[c] = depth_[static_cast<std::size_t>(e.parent)] + 1;  // edges come parents first
    }
    std::vector<std::int32_t> queue;
    queue.reserve(n);
    for (std::int32_t c = first_child_[0]; c >= 0; c = next_sibling_[static_cast<std::size_t>(c)]) queue.push_back(c);
    for (std::size_t head = 0; head < queue.size(); ++head) {
      const std::int32_t u = queue[head];
      for (std::int32_t v = first_child_[static_cast<std::size_t>(u)]; v >= 0; v = next_sibling_[static_cast<std::size_t>(v)]) {
        const unsigned char b = byte_[static_cast<std::size_t>(v)];
        std::int32_t f = fail_[static_cast<std::size_t>(u)];
        while (f != 0 && trie_.child(f, b) < 0) f = fail_[static_cast<std::size_t>(f)];
        const std::int32_t link = trie_.child(f, b);
        const std::int32_t fv = link >= 0 && link != v ? link : 0;
        fail_[static_cast<std::size_t>(v)] = fv;
        dict_[static_cast<std::size_t>(v)] = trie_.id(fv) >= 0 ? fv : dict_[static_cast<std::size_t>(fv)];
        queue.push_back(v);
      }
    }
    built_ = true;
  }

  // Calls found(position, length, id) for every string that starts at a position of
  // `text`: positions from the last to the first, at each the longest string first.
  template <class Found>
  void scan(std::string_view text, Found&& found) const {
    if (empty()) return;
    std::int32_t node = 0;
    for (std::size_t i = text.size(); i-- > 0;) {
      const auto b = static_cast<unsigned char>(text[i]);
      while (node != 0 && trie_.child(node, b) < 0) node = fail_[static_cast<std::size_t>(node)];
      const std::int32_t next = trie_.child(node, b);
      node = next < 0 ? 0 : next;
      for (std::int32_t m = trie_.id(node) >= 0 ? node : dict_[static_cast<std::size_t>(node)]; m != 0;
           m = dict_[static_cast<std::size_t>(m)])
        found(i, static_cast<std::size_t>(depth_[static_cast<std::size_t>(m)]), trie_.id(m));
    }
  }

  // out[i] = the length of the longest string that starts at text[i] (0: none).
  void longest(std::string_view text, std::vector<std::uint32_t>& out) const {
    out.assign(text.size(), 0);
    scan(text, [&](std::size_t i, std::size_t length, std::int32_t) {
      if (out[i] == 0) out[i] = static_cast<std::uint32_t>(length);
    });
  }

  bool built() const noexcept { return built_ || empty(); }

 private:
  ByteTrie trie_;
  std::vector<std::int32_t> fail_, dict_, depth_, first_child_, next_sibling_;
  std::vector<unsigned char> byte_;
  bool built_ = false;
};

}  // namespace mmm::detail
