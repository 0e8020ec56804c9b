#pragma once
// SentencePiece `.model` files (unigram and BPE), read directly: the ModelProto is parsed
// with a minimal protobuf reader, the normalizer runs the model's precompiled charsmap
// (a Darts double-array trie over the input bytes plus a blob of replacement strings),
// and the encoders follow sentencepiece's own: a Viterbi pass over the pieces that start
// at each character for unigram, score-ordered pair merges for BPE, then unknown-run
// merging or byte fallback. Ids match the reference library exactly (tests/text).
//
// Not supported: word/char model types, nbest/sampling. With treat_whitespace_as_suffix,
// decoding keeps the trailing space, as sentencepiece 0.1.97 does.

#include <algorithm>
#include <array>
#include <cfloat>
#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "mmm/core/errors.hpp"
#include "mmm/io/mapped_file.hpp"
#include "mmm/preprocess/text/byte_trie.hpp"
#include "mmm/preprocess/text/piece_table.hpp"
#include "mmm/preprocess/text/protobuf.hpp"
#include "mmm/preprocess/text/token_batch.hpp"
#include "mmm/preprocess/text/utf8.hpp"

namespace mmm {

class SentencePiece : public EncodeReturning<SentencePiece> {
 public:
  enum class Model { unigram = 1, bpe = 2, word = 3, character = 4 };
  enum class PieceType : std::uint8_t { normal = 1, unknown = 2, control = 3, user_defined = 4, unused = 5, byte = 6 };

  static SentencePiece load(const std::string& path) {
    MappedFile file(path);
    const auto bytes = file.bytes();
    return from_bytes(std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()), path);
  }

  // `name` is what errors call the source (a file name).
  static SentencePiece from_bytes(std::string_view bytes, const std::string& name = "SentencePiece model") {
    SentencePiece sp;
    sp.name_ = name;
    sp.parse(bytes);
    sp.build();
    return sp;
  }

  using EncodeReturning<SentencePiece>::encode;
  // Replaces `ids` with the encoding; reusing the vector makes repeated calls allocation-free.
  void encode(std::string_view text, std::vector<std::int32_t>& ids) const {
    ids.clear();
    Scratch& s = scratch();
    run<false>(text, s);
    emit(s, [&](std::int32_t id, std::uint32_t, std::uint32_t) { ids.push_back(id); });
  }
  Encoding encode_with_offsets(std::string_view text) const {
    Encoding e;
    Scratch& s = scratch();
    run<true>(text, s);
    emit(s, [&](std::int32_t id, std::uint32_t b, std::uint32_t end) {
      e.ids.push_back(id);
      e.offsets.push_back({s.norm_to_orig[b], s.norm_to_orig[end]});
    });
    return e;
  }
  std::vector<std::string> encode_pieces(std::string_view text) const {
    std::vector<std::string> out;
    for (std::int32_t id : encode(text)) out.push_back(pieces_[static_cast<std::size_t>(id)]);
    return out;
  }

  std::string decode(std::span<const std::int32_t> ids) const {
    for (std::int32_t id : ids) detail::check_decode_id(id, size(), "SentencePiece::decode");
    std::string out, bytes;
    auto flush_bytes = [&] {
      for (std::size_t i = 0; i < bytes.size();) {
        const utf8::Decoded d = utf8::decode(bytes, i);
        if (d.valid)
          out.append(bytes, i, static_cast<std::size_t>(d.length));
        else
          out.append(utf8::replacement_utf8);
        i += static_cast<std::size_t>(d.length);
      }
      bytes.clear();
    };
    // The leading ▁ that normalization added is dropped: from the first visible piece, or,
    // when extra whitespace was removed, from every piece until some text appears.
    const bool strip_space = add_dummy_prefix_ || remove_extra_whitespaces_;
    bool at_start = true, stripped = false;
    for (std::size_t i = 0; i < ids.size(); ++i) {
      const auto id = static_cast<std::size_t>(ids[i]);
      const PieceType type = types_[id];
      if (type == PieceType::byte) {
        bytes += static_cast<char>(byte_value_[id]);
        continue;
      }
      flush_bytes();
      if (stripped || !out.empty()) at_start = false;
      stripped = false;
      if (type == PieceType::control) continue;
      if (type == PieceType::unknown) {
        out += unk_surface_;
        continue;
      }
      std::string_view piece = pieces_[id];
      if (at_start && strip_space && piece.starts_with(space_symbol)) {
        piece.remove_prefix(space_symbol.size());
        stripped = !remove_extra_whitespaces_;
      }
      for (std::size_t p = 0; p < piece.size();) {
        if (piece.substr(p, space_symbol.size()) == space_symbol) {
          out += ' ';
          p += space_symbol.size();
        } else {
          out += piece[p++];
        }
      }
    }
    flush_bytes();
    return out;
  }

  // The normalized text the model segments (with ▁ for spaces).
  std::string normalize(std::string_view text) const {
    Scratch& s = scratch();
    normalize_into<false>(text, s);
    return s.normalized;
  }

  std::size_t size() const noexcept { return pieces_.size(); }
  Model model() const noexcept { return model_; }
  const std::string& piece(std::int32_t id) const {
    detail::check_decode_id(id, size(), "SentencePiece::piece");
    return pieces_[static_cast<std::size_t>(id)];
  }
  float score(std::int32_t id) const {
    detail::check_decode_id(id, size(), "SentencePiece::score");
    return scores_[static_cast<std::size_t>(id)];
  }
  PieceType type(std::int32_t id) const {
    detail::check_decode_id(id, size(), "SentencePiece::type");
    return types_[static_cast<std::size_t>(id)];
  }
  // The id of a piece, or the unknown id.
  std::int32_t piece_to_id(std::string_view piece) const noexcept {
    if (const std::int32_t r = reserved_.find(piece); r >= 0) return r;
    if (const std::int32_t n = normal_.find(piece); n >= 0) return n;
    return unk_id_;
  }
  std::int32_t unk_id() const noexcept { return unk_id_; }
  std::int32_t bos_id() const noexcept { return bos_id_; }
  std::int32_t eos_id() const noexcept { return eos_id_; }
  std::int32_t pad_id() const noexcept { return pad_id_; }
  bool byte_fallback() const noexcept { return byte_fallback_; }

 private:
  static constexpr std::string_view space_symbol = "\xE2\x96\x81";  // U+2581
  static constexpr float unk_penalty = 10.0f;

  // One segment of the normalized text: [begin, end) bytes and the piece id.
  struct Segment {
    std::uint32_t begin, end;
    std::int32_t id;
  };
  struct LatticeNode {
    float score = 0;
    std::int32_t starts_at = -1;
    std::int32_t id = -1;
  };
  struct Symbol {
    std::uint32_t begin, length;
    std::int32_t prev, next;
    std::int32_t id;  // in the normal-piece table, or -1
    bool freeze;
  };
  struct Candidate {
    float score;
    std::int32_t left, right;
    std::uint32_t length;
    std::int32_t merged;
  };
  struct Scratch {
    std::string normalized;
    std::vector<std::uint32_t> norm_to_orig;
    std::vector<Segment> segments;
    std::vector<LatticeNode> lattice;
    std::vector<Symbol> symbols;
    std::vector<Candidate> heap;
    std::vector<std::int32_t> starts, pair_merged;
    std::vector<std::array<std::uint32_t, 5>> rev_merge;  // merged begin,len → left len, right begin,len
    detail::StringIdMap rev_index;                        // merged text → its rev_merge entry
    std::vector<std::uint32_t> user_at;                   // user symbol length per position
    struct Match {
      std::uint32_t length;
      std::int32_t id;
    };
    std::vector<Match> matches;                           // unigram: pieces by start position,
    std::vector<std::uint32_t> match_begin, match_count;  // (from the last position to the first)
  };
  static Scratch& scratch() {
    thread_local Scratch s;
    return s;
  }

  // ---- parsing ----------------------------------------------------------------------

  void parse(std::string_view bytes) {
    detail::ProtoReader model(bytes, name_ + " (ModelProto)");
    while (model.next()) {
      switch (model.field()) {
        case 1: parse_piece(model.bytes_field()); break;
        case 2: parse_trainer(model.bytes_field()); break;
        case 3: parse_normalizer(model.bytes_field()); break;
        default: model.skip();
      }
    }
    if (pieces_.empty()) throw FormatError(name_ + ": the SentencePiece model has no pieces");
  }

  void parse_piece(std::string_view bytes) {
    const std::string where = name_ + ": ModelProto.pieces[" + std::to_string(pieces_.size()) + "]";
    detail::ProtoReader r(bytes, where);
    std::string piece;
    float score = 0;
    std::uint64_t type = 1;
    while (r.next()) {
      switch (r.field()) {
        case 1: piece = std::string(r.bytes_field()); break;
        case 2: score = r.float_field(); break;
        case 3: type = r.uint_field(); break;
        default: r.skip();
      }
    }
    if (type < 1 || type > 6) throw FormatError(where + ": unknown piece type " + std::to_string(type));
    if (piece.empty()) throw FormatError(where + ": a piece must not be empty");
    pieces_.push_back(std::move(piece));
    scores_.push_back(score);
    types_.push_back(static_cast<PieceType>(type));
  }

  void parse_trainer(std::string_view bytes) {
    detail::ProtoReader r(bytes, name_ + ": ModelProto.trainer_spec");
    while (r.next()) {
      switch (r.field()) {
        case 3: {
          const std::uint64_t t = r.uint_field();
          if (t < 1 || t > 4) r.fail("unknown model_type " + std::to_string(t));
          model_ = static_cast<Model>(t);
          break;
        }
        case 24: treat_whitespace_as_suffix_ = r.bool_field(); break;
        case 35: byte_fallback_ = r.bool_field(); break;
        case 41: bos_id_ = r.int32_field(); break;
        case 42: eos_id_ = r.int32_field(); break;
        case 43: pad_id_ = r.int32_field(); break;
        case 44: unk_surface_ = std::string(r.bytes_field()); break;
        default: r.skip();
      }
    }
  }

  void parse_normalizer(std::string_view bytes) {
    detail::ProtoReader r(bytes, name_ + ": ModelProto.normalizer_spec");
    std::string_view charsmap;
    while (r.next()) {
      switch (r.field()) {
        case 2: charsmap = r.bytes_field(); break;
        case 3: add_dummy_prefix_ = r.bool_field(); break;
        case 4: remove_extra_whitespaces_ = r.bool_field(); break;
        case 5: escape_whitespaces_ = r.bool_field(); break;
        default: r.skip();
      }
    }
    if (charsmap.empty()) return;
    const std::string where = name_ + ": normalizer_spec.precompiled_charsmap";
    std::uint32_t trie_bytes = 0;
    if (charsmap.size() <= 4) throw FormatError(where + " is shorter than its header");
    std::memcpy(&trie_bytes, charsmap.data(), 4);
    if (trie_bytes >= charsmap.size() - 4 + 1 || trie_bytes % 4 != 0)
      throw FormatError(where + ": trie size " + std::to_string(trie_bytes) + " does not fit the " +
                        std::to_string(charsmap.size()) + "-byte blob");
    trie_.resize(trie_bytes / 4);
    if (trie_bytes) std::memcpy(trie_.data(), charsmap.data() + 4, trie_bytes);
    replacements_ = std::string(charsmap.substr(4 + trie_bytes));
    if (trie_.empty()) throw FormatError(where + ": the trie is empty");
  }

  void build() {
    std::array<bool, 256> byte_seen{};
    byte_value_.assign(pieces_.size(), 0);
    for (std::size_t i = 0; i < pieces_.size(); ++i) {
      const auto id = static_cast<std::int32_t>(i);
      const PieceType t = types_[i];
      const bool normal = t == PieceType::normal || t == PieceType::user_defined || t == PieceType::unused;
      if (!(normal ? normal_ : reserved_).insert(pieces_[i], id))
        throw FormatError(name_ + ": piece '" + pieces_[i] + "' (id " + std::to_string(i) + ") is defined twice");
      if (t == PieceType::user_defined) add_user_symbol(pieces_[i]);
      if (t == PieceType::unknown) {
        if (unk_id_ >= 0) throw FormatError(name_ + ": more than one unknown piece (ids " + std::to_string(unk_id_) + " and " + std::to_string(i) + ")");
        unk_id_ = id;
      }
      if (t == PieceType::byte) {
        if (!byte_fallback_)
          throw FormatError(name_ + ": byte piece '" + pieces_[i] + "' found although byte_fallback is off");
        const int b = piece_to_byte(pieces_[i]);
        if (b < 0) throw FormatError(name_ + ": byte piece '" + pieces_[i] + "' is not of the form <0xHH>");
        byte_value_[i] = static_cast<std::uint8_t>(b);
        byte_seen[static_cast<std::size_t>(b)] = true;
        byte_to_id_[static_cast<std::size_t>(b)] = id;
      }
      if (t == PieceType::normal) {
        min_score_ = std::min(min_score_, scores_[i]);
        max_score_ = std::max(max_score_, scores_[i]);
      }
    }
    user_symbols_.build();
    if (unk_id_ < 0) throw FormatError(name_ + ": the model defines no unknown piece");
    if (byte_fallback_)
      for (int b = 0; b < 256; ++b)
        if (!byte_seen[static_cast<std::size_t>(b)])
          throw FormatError(name_ + ": byte_fallback is on but there is no piece for byte " + std::to_string(b));
    for (std::int32_t id : {bos_id_, eos_id_, pad_id_})
      if (id >= static_cast<std::int32_t>(pieces_.size()))
        throw FormatError(name_ + ": trainer_spec names special id " + std::to_string(id) + " past the " +
                          std::to_string(pieces_.size()) + " pieces");
    if (model_ == Model::word || model_ == Model::character)
      throw FormatError(name_ + ": SentencePiece model type " + std::string(model_ == Model::word ? "WORD" : "CHAR") +
                        " is not supported (only UNIGRAM and BPE)");
    if (model_ == Model::unigram) build_trie();
    if (model_ == Model::bpe) build_pairs();
    // Fast paths that give the same ids: words merge independently when every piece's ▁s
    // lead it (no piece can then span a ▁ that follows other text); a merged symbol's id
    // is its output id when no piece is unused (resegmented) or shadowed by a reserved
    // piece of the same text.
    bool unused = false, shadowed = false, inner_space = false;
    for (std::size_t i = 0; i < pieces_.size(); ++i) {
      const PieceType t = types_[i];
      if (t == PieceType::unused) unused = true;
      if (t != PieceType::normal && t != PieceType::user_defined && t != PieceType::unused) continue;
      if (reserved_.find(pieces_[i]) >= 0) shadowed = true;
      std::string_view p = pieces_[i];
      while (p.starts_with(space_symbol)) p.remove_prefix(space_symbol.size());
      if (p.find(space_symbol) != std::string_view::npos) inner_space = true;
    }
    direct_ids_ = !unused && !shadowed;
    bpe_words_ = !unused && !inner_space && escape_whitespaces_;
  }

  static int piece_to_byte(std::string_view p) {
    if (p.size() != 6 || !p.starts_with("<0x") || p[5] != '>') return -1;
    int v = 0;
    for (char c : p.substr(3, 2)) {
      v *= 16;
      if (c >= '0' && c <= '9') v += c - '0';
      else if (c >= 'A' && c <= 'F') v += c - 'A' + 10;
      else return -1;
    }
    return v;
  }

  // ---- user-defined symbols (never split, never normalized) -------------------------

  void add_user_symbol(std::string_view s) { user_symbols_.insert(s, 0); }
  // For every position of `text`, the length of the longest user-defined symbol that
  // starts there (0: none), in one linear pass.
  void find_user_symbols(std::string_view text, std::vector<std::uint32_t>& at) const {
    if (user_symbols_.empty())
      at.clear();
    else
      user_symbols_.longest(text, at);
  }
  static std::size_t user_symbol_at(const std::vector<std::uint32_t>& at, std::size_t pos) noexcept {
    return at.empty() ? 0 : at[pos];
  }
  static std::size_t one_char(std::string_view w) noexcept {
    return std::min<std::size_t>(w.size(), static_cast<std::size_t>(utf8::lead_length(static_cast<unsigned char>(w[0]))));
  }

  // ---- normalizer -------------------------------------------------------------------

  // Darts double-array common-prefix search; returns the longest match's value and length.
  bool longest_rule(std::string_view in, std::uint32_t& value, std::size_t& length) const noexcept {
    if (trie_.empty()) return false;
    auto offset = [](std::uint32_t u) { return (u >> 10) << ((u & (1u << 9)) >> 6); };
    const std::size_t n = trie_.size();
    std::size_t node = offset(trie_[0]);
    length = 0;
    for (std::size_t i = 0; i < in.size(); ++i) {
      const auto c = static_cast<unsigned char>(in[i]);
      node ^= c;
      if (node >= n) break;
      const std::uint32_t unit = trie_[node];
      if ((unit & ((1u << 31) | 0xFFu)) != c) break;
      node ^= offset(unit);
      if (node >= n) break;
      if ((unit >> 8) & 1) {
        value = trie_[node] & ((1u << 31) - 1);
        length = i + 1;
      }
    }
    return length > 0;
  }

  // The replacement for the longest normalization rule at the start of `in` and the
  // number of input bytes it consumes (one character when no rule applies).
  // `user` is the length of the user-defined symbol there (never normalized), or 0.
  std::pair<std::string_view, std::size_t> normalize_prefix(std::string_view in, std::size_t user) const noexcept {
    if (user) return {in.substr(0, user), user};
    std::uint32_t value = 0;
    std::size_t length = 0;
    if (longest_rule(in, value, length)) {
      if (value >= replacements_.size()) return {std::string_view(), length};
      const char* s = replacements_.data() + value;
      const std::size_t max = replacements_.size() - value;
      return {std::string_view(s, strnlen(s, max)), length};
    }
    const utf8::Decoded d = utf8::decode(in.data(), in.data() + in.size());
    if (!d.valid) return {utf8::replacement_utf8, 1};
    return {in.substr(0, static_cast<std::size_t>(d.length)), static_cast<std::size_t>(d.length)};
  }

  template <bool Offsets>
  void normalize_into(std::string_view input, Scratch& s) const {
    std::string& out = s.normalized;
    std::vector<std::uint32_t>& map = s.norm_to_orig;
    out.clear();
    map.clear();
    find_user_symbols(input, s.user_at);
    std::uint32_t consumed = 0;
    if (remove_extra_whitespaces_) {
      while (!input.empty()) {
        const auto [rep, n] = normalize_prefix(input, user_symbol_at(s.user_at, consumed));
        if (rep != " ") break;
        input.remove_prefix(n);
        consumed += static_cast<std::uint32_t>(n);
      }
    }
    if (input.empty()) {
      if constexpr (Offsets) map.push_back(consumed);
      return;
    }
    auto add_space = [&] {
      if (escape_whitespaces_) {
        out += space_symbol;
        if constexpr (Offsets) map.insert(map.end(), space_symbol.size(), consumed);
      } else {
        out += ' ';
        if constexpr (Offsets) map.push_back(consumed);
      }
    };
    if (!treat_whitespace_as_suffix_ && add_dummy_prefix_) add_space();
    bool prev_space = remove_extra_whitespaces_;
    while (!input.empty()) {
      auto [rep, n] = normalize_prefix(input, user_symbol_at(s.user_at, consumed));
      while (prev_space && !rep.empty() && rep[0] == ' ') rep.remove_prefix(1);
      if (!rep.empty()) {
        for (char c : rep) {
          if (escape_whitespaces_ && c == ' ') {
            out += space_symbol;
            if constexpr (Offsets) map.insert(map.end(), space_symbol.size(), consumed);
          } else {
            out += c;
            if constexpr (Offsets) map.push_back(consumed);
          }
        }
        prev_space = rep.back() == ' ';
      }
      consumed += static_cast<std::uint32_t>(n);
      input.remove_prefix(n);
      if (!remove_extra_whitespaces_) prev_space = false;
    }
    if (remove_extra_whitespaces_) {
      const std::string_view space = escape_whitespaces_ ? space_symbol : std::string_view(" ");
      while (std::string_view(out).ends_with(space)) {
        const std::size_t length = out.size() - space.size();
        if constexpr (Offsets) {
          consumed = map[length];
          map.resize(length);
        }
        // (erase, not resize: GCC 12 misreads a shrinking resize as a huge append)
        out.erase(out.begin() + static_cast<std::ptrdiff_t>(length), out.end());
      }
    }
    if (treat_whitespace_as_suffix_ && add_dummy_prefix_) add_space();
    if constexpr (Offsets) map.push_back(consumed);
  }

  // ---- encoders ---------------------------------------------------------------------

  template <bool Offsets>
  void run(std::string_view text, Scratch& s) const {
    normalize_into<Offsets>(text, s);
    s.segments.clear();
    if (s.normalized.empty()) return;
    if (model_ == Model::unigram)
      encode_unigram(s);
    else
      encode_bpe(s);
  }

  // Unknown runs merge into one unknown id; with byte fallback they become byte ids.
  template <class Sink>
  void emit(const Scratch& s, Sink&& sink) const {
    bool prev_unk = false, pending = false;
    std::uint32_t unk_begin = 0, unk_end = 0;
    for (const Segment& seg : s.segments) {
      const bool unk = types_[static_cast<std::size_t>(seg.id)] == PieceType::unknown;
      if (unk && byte_fallback_) {
        // Only the last byte carries the character's surface, as in sentencepiece.
        for (std::uint32_t b = seg.begin; b < seg.end; ++b)
          sink(byte_to_id_[static_cast<unsigned char>(s.normalized[b])], seg.begin, b + 1 == seg.end ? seg.end : seg.begin);
      } else if (unk && prev_unk) {
        unk_end = seg.end;
      } else {
        if (pending) sink(unk_id_, unk_begin, unk_end);
        pending = unk;
        if (unk) {
          unk_begin = seg.begin;
          unk_end = seg.end;
        } else {
          sink(seg.id, seg.begin, seg.end);
        }
      }
      prev_unk = unk;
    }
    if (pending) sink(unk_id_, unk_begin, unk_end);
  }

  static bool is_normal(PieceType t) noexcept {
    return t == PieceType::normal || t == PieceType::user_defined || t == PieceType::unused;
  }

  // The normal pieces, for the unigram lattice: a trie walked from each position, which
  // costs at most the longest piece per position; for models with longer pieces than
  // that bound (a 1 MB piece, an 8 KB user symbol), an automaton that finds the pieces at
  // every position in one pass instead.
  static constexpr std::size_t short_piece = 64;
  void build_trie() {
    for (std::size_t i = 0; i < pieces_.size(); ++i)
      if (is_normal(types_[i])) long_pieces_ = long_pieces_ || pieces_[i].size() > short_piece;
    for (std::size_t i = 0; i < pieces_.size(); ++i) {
      if (!is_normal(types_[i])) continue;
      if (long_pieces_)
        pieces_matcher_.insert(pieces_[i], static_cast<std::int32_t>(i));
      else
        pieces_trie_.insert(pieces_[i], static_cast<std::int32_t>(i));
    }
    pieces_matcher_.build();
  }

  // Calls piece(length, id) for every normal piece that starts at `pos` of the normalized
  // text (after find_pieces for the whole text when the model has long pieces).
  template <class Piece>
  void pieces_at(const Scratch& s, std::uint32_t pos, Piece&& piece) const {
    if (long_pieces_) {
      const Scratch::Match* m = s.matches.data() + s.match_begin[pos];
      for (std::uint32_t k = 0; k < s.match_count[pos]; ++k) piece(m[k].length, m[k].id);
      return;
    }
    const std::string_view text = s.normalized;
    std::int32_t node = 0;
    for (std::size_t at = pos; at < text.size(); ++at) {
      node = pieces_trie_.child(node, static_cast<unsigned char>(text[at]));
      if (node < 0) return;
      if (const std::int32_t id = pieces_trie_.id(node); id >= 0) piece(static_cast<std::uint32_t>(at + 1 - pos), id);
    }
  }
  void find_pieces(Scratch& s) const {
    if (!long_pieces_) return;
    const auto size = s.normalized.size();
    s.matches.clear();
    s.match_begin.assign(size, 0);
    s.match_count.assign(size, 0);
    pieces_matcher_.scan(s.normalized, [&](std::size_t pos, std::size_t length, std::int32_t id) {
      if (s.match_count[pos]++ == 0) s.match_begin[pos] = static_cast<std::uint32_t>(s.matches.size());
      s.matches.push_back({static_cast<std::uint32_t>(length), id});
    });
  }

  void encode_unigram(Scratch& s) const {
    const std::string_view text = s.normalized;
    const auto size = static_cast<std::uint32_t>(text.size());
    find_pieces(s);
    s.lattice.assign(size + 1, LatticeNode{});
    const float unk_score = min_score_ - unk_penalty;
    std::uint32_t starts_at = 0;
    while (starts_at < size) {
      const float best_here = s.lattice[starts_at].score;
      bool has_single = false;
      const auto mblen = static_cast<std::uint32_t>(one_char(text.substr(starts_at)));
      pieces_at(s, starts_at, [&](std::uint32_t length, std::int32_t id) {
        const PieceType t = types_[static_cast<std::size_t>(id)];
        if (t == PieceType::unused) return;
        const std::uint32_t end = starts_at + length;
        LatticeNode& target = s.lattice[end];
        // Same arithmetic types as sentencepiece: user symbols score in double.
        const double score = t == PieceType::user_defined ? static_cast<double>(static_cast<float>(length) * max_score_) - 0.1
                                                           : static_cast<double>(scores_[static_cast<std::size_t>(id)]);
        const double candidate = score + static_cast<double>(best_here);
        if (target.starts_at == -1 || candidate > static_cast<double>(target.score)) {
          target.score = static_cast<float>(candidate);
          target.starts_at = static_cast<std::int32_t>(starts_at);
          target.id = id;
        }
        if (!has_single && length == mblen) has_single = true;
      });
      if (!has_single) {
        LatticeNode& target = s.lattice[starts_at + mblen];
        const float candidate = unk_score + best_here;
        if (target.starts_at == -1 || candidate > target.score) {
          target.score = candidate;
          target.starts_at = static_cast<std::int32_t>(starts_at);
          target.id = unk_id_;
        }
      }
      starts_at += mblen;
    }
    for (std::uint32_t end = size; end > 0;) {
      const LatticeNode& n = s.lattice[end];
      const auto begin = static_cast<std::uint32_t>(n.starts_at);
      s.segments.push_back({begin, end, n.id});
      end = begin;
    }
    std::reverse(s.segments.begin(), s.segments.end());
  }

  // Every way a normal piece splits into two normal pieces, so that BPE merges look up an
  // id pair instead of hashing the concatenated string. A short piece tries each cut (at
  // lengths some piece has) by hashing both halves: at most 64 cuts of at most 64 bytes
  // (short_piece).
  // That is quadratic in a piece's length (a 1 MB piece took 88 s to load), so a longer
  // piece instead walks along a trie of the pieces, finding the pieces it starts with,
  // and backwards along a trie of the reversed pieces, finding those it ends with: linear
  // in its length. The tries are built only for models that have such pieces.
  void build_pairs() {
    std::vector<bool> has_length;
    bool any_long = false;
    for (std::size_t i = 0; i < pieces_.size(); ++i) {
      if (!is_normal(types_[i])) continue;
      const std::size_t n = pieces_[i].size();
      if (has_length.size() <= n) has_length.resize(n + 1);
      has_length[n] = true;
      any_long = any_long || n > short_piece;
    }
    for (std::size_t i = 0; i < pieces_.size(); ++i) {
      const std::string_view p = pieces_[i];
      if (!is_normal(types_[i]) || p.size() > short_piece) continue;
      for (std::size_t cut = 1; cut < p.size(); ++cut) {
        if (!has_length[cut] || !has_length[p.size() - cut]) continue;
        const std::int32_t a = normal_.find(p.substr(0, cut));
        if (a < 0) continue;
        const std::int32_t b = normal_.find(p.substr(cut));
        if (b >= 0) pair_pieces_.insert(a, b, {0, static_cast<std::int32_t>(i)});
      }
    }
    if (!any_long) return;
    detail::ByteTrie forward, backward;
    for (std::size_t i = 0; i < pieces_.size(); ++i) {
      if (!is_normal(types_[i])) continue;
      forward.insert(pieces_[i], static_cast<std::int32_t>(i));
      backward.insert(pieces_[i].rbegin(), pieces_[i].rend(), static_cast<std::int32_t>(i));
    }
    std::vector<std::int32_t> starts_with;  // by length: the piece that is this piece's prefix
    for (std::size_t i = 0; i < pieces_.size(); ++i) {
      const std::string& p = pieces_[i];
      if (!is_normal(types_[i]) || p.size() <= short_piece) continue;
      starts_with.assign(p.size() + 1, -1);
      forward.walk(p.begin(), p.end() - 1, [&](std::size_t length, std::int32_t id) { starts_with[length] = id; });
      backward.walk(p.rbegin(), p.rend() - 1, [&](std::size_t length, std::int32_t right) {
        if (const std::int32_t left = starts_with[p.size() - length]; left >= 0)
          pair_pieces_.insert(left, right, {0, static_cast<std::int32_t>(i)});
      });
    }
  }

  static bool lower_priority(const Candidate& a, const Candidate& b) noexcept {
    return a.score < b.score || (a.score == b.score && a.left > b.left);
  }

  void encode_bpe(Scratch& s) const {
    const std::string_view text = s.normalized;
    auto& symbols = s.symbols;
    symbols.clear();
    s.heap.clear();
    s.rev_merge.clear();
    s.rev_index.clear();
    s.starts.clear();
    // With bpe_words_, a word starts at a ▁ that follows other text; each merges on its own.
    find_user_symbols(text, s.user_at);
    for (std::size_t pos = 0; pos < text.size();) {
      const std::string_view rest = text.substr(pos);
      std::size_t n = user_symbol_at(s.user_at, pos);
      const bool freeze = n > 0;
      if (!freeze) n = one_char(rest);
      const auto index = static_cast<std::int32_t>(symbols.size());
      const bool starts_word =
          index == 0 || (bpe_words_ && rest.starts_with(space_symbol) && !text.substr(0, pos).ends_with(space_symbol));
      if (starts_word) {
        if (index > 0) symbols.back().next = -1;
        s.starts.push_back(index);
      }
      symbols.push_back({static_cast<std::uint32_t>(pos), static_cast<std::uint32_t>(n), starts_word ? -1 : index - 1,
                         pos + n < text.size() ? index + 1 : -1, normal_.find(rest.substr(0, n)), freeze});
      pos += n;
    }
    s.starts.push_back(static_cast<std::int32_t>(symbols.size()));
    for (std::size_t w = 0; w + 1 < s.starts.size(); ++w) {
      const std::int32_t first = s.starts[w], last = s.starts[w + 1];
      if (last - first == 1) continue;
      if (bpe_words_ && last - first <= 32)
        merge_scan(s, first, last);
      else
        merge_heap(s, first, last);
    }
    for (std::size_t w = 0; w + 1 < s.starts.size(); ++w) {
      for (std::int32_t i = s.starts[w]; i >= 0; i = symbols[static_cast<std::size_t>(i)].next) {
        const Symbol& sym = symbols[static_cast<std::size_t>(i)];
        if (direct_ids_ && sym.id >= 0)
          s.segments.push_back({sym.begin, sym.begin + sym.length, sym.id});
        else
          resegment(s, sym.begin, sym.length, 0);
      }
    }
  }

  // The piece two adjacent symbols merge into, or -1.
  std::int32_t merged_piece(std::string_view text, const Symbol& l, const Symbol& r) const noexcept {
    if (l.freeze || r.freeze) return -1;
    if (l.id >= 0 && r.id >= 0) return pair_pieces_.find(l.id, r.id).merged;
    return normal_.find(text.substr(l.begin, l.length + r.length));
  }

  // Short words: each round merges the best adjacent pair (highest score, leftmost), which
  // is the pair sentencepiece's queue would pop next.
  void merge_scan(Scratch& s, std::int32_t first, std::int32_t last) const {
    const std::string_view text = s.normalized;
    auto& symbols = s.symbols;
    auto& merged = s.pair_merged;
    if (merged.size() < symbols.size()) merged.resize(symbols.size());
    auto update = [&](std::int32_t i) {
      const std::int32_t j = symbols[static_cast<std::size_t>(i)].next;
      merged[static_cast<std::size_t>(i)] =
          j < 0 ? -1 : merged_piece(text, symbols[static_cast<std::size_t>(i)], symbols[static_cast<std::size_t>(j)]);
    };
    for (std::int32_t i = first; i < last; ++i) update(i);
    for (;;) {
      std::int32_t best = -1;
      float best_score = 0;
      for (std::int32_t i = first; i >= 0; i = symbols[static_cast<std::size_t>(i)].next) {
        const std::int32_t m = merged[static_cast<std::size_t>(i)];
        if (m >= 0 && (best < 0 || scores_[static_cast<std::size_t>(m)] > best_score))
          best = i, best_score = scores_[static_cast<std::size_t>(m)];
      }
      if (best < 0) return;
      Symbol& l = symbols[static_cast<std::size_t>(best)];
      Symbol& r = symbols[static_cast<std::size_t>(l.next)];
      l.length += r.length;
      l.id = merged[static_cast<std::size_t>(best)];
      l.next = r.next;
      if (r.next >= 0) symbols[static_cast<std::size_t>(r.next)].prev = best;
      r.length = 0;
      update(best);
      if (l.prev >= 0) update(l.prev);
    }
  }

  // sentencepiece's own loop: a priority queue of candidate merges, stale ones skipped.
  void merge_heap(Scratch& s, std::int32_t first, std::int32_t last) const {
    const std::string_view text = s.normalized;
    auto& symbols = s.symbols;
    auto& heap = s.heap;
    heap.clear();
    auto maybe_add = [&](std::int32_t left, std::int32_t right) {
      if (left < 0 || right < 0) return;
      const Symbol& l = symbols[static_cast<std::size_t>(left)];
      const Symbol& r = symbols[static_cast<std::size_t>(right)];
      const std::int32_t merged = merged_piece(text, l, r);
      if (merged < 0) return;
      heap.push_back({scores_[static_cast<std::size_t>(merged)], left, right, l.length + r.length, merged});
      std::push_heap(heap.begin(), heap.end(), lower_priority);
      if (types_[static_cast<std::size_t>(merged)] == PieceType::unused) {
        // The last way each unused piece's text was made, found by its text in a hash
        // table (a scan of the list made long texts quadratic).
        const std::array<std::uint32_t, 5> entry{l.begin, l.length + r.length, l.length, r.begin, r.length};
        const auto at = static_cast<std::int32_t>(s.rev_merge.size());
        if (s.rev_index.insert(text.substr(l.begin, l.length + r.length), at))
          s.rev_merge.push_back(entry);
        else
          s.rev_merge[static_cast<std::size_t>(s.rev_index.find(text.substr(l.begin, l.length + r.length)))] = entry;
      }
    };
    for (std::int32_t i = first + 1; i < last; ++i) maybe_add(i - 1, i);
    while (!heap.empty()) {
      std::pop_heap(heap.begin(), heap.end(), lower_priority);
      const Candidate top = heap.back();
      heap.pop_back();
      Symbol& l = symbols[static_cast<std::size_t>(top.left)];
      Symbol& r = symbols[static_cast<std::size_t>(top.right)];
      if (l.length == 0 || r.length == 0 || l.length + r.length != top.length) continue;
      l.length += r.length;
      l.id = top.merged;
      l.next = r.next;
      if (r.next >= 0) symbols[static_cast<std::size_t>(r.next)].prev = top.left;
      r.length = 0;
      maybe_add(l.prev, top.left);
      maybe_add(top.left, l.next);
    }
  }

  void resegment(Scratch& s, std::uint32_t begin, std::uint32_t length, int depth) const {
    const std::string_view w = std::string_view(s.normalized).substr(begin, length);
    const std::int32_t id = piece_to_id(w);
    if (types_[static_cast<std::size_t>(id)] == PieceType::unused && depth < 64) {
      if (const std::int32_t at = s.rev_index.find(w); at >= 0) {
        // The recorded halves may sit elsewhere in the text; their bytes are what matters,
        // and the segment keeps this occurrence's position.
        const std::uint32_t left_length = s.rev_merge[static_cast<std::size_t>(at)][2];
        resegment(s, begin, left_length, depth + 1);
        resegment(s, begin + left_length, length - left_length, depth + 1);
        return;
      }
    }
    s.segments.push_back({begin, begin + length, id});
  }

  // ---- state ------------------------------------------------------------------------

  std::string name_;
  std::vector<std::string> pieces_;
  std::vector<float> scores_;
  std::vector<PieceType> types_;
  std::vector<std::uint8_t> byte_value_;
  std::array<std::int32_t, 256> byte_to_id_{};
  detail::StringIdMap normal_, reserved_;
  detail::PieceMatcher user_symbols_;

  Model model_ = Model::unigram;
  bool byte_fallback_ = false;
  bool treat_whitespace_as_suffix_ = false;
  std::int32_t unk_id_ = -1, bos_id_ = 1, eos_id_ = 2, pad_id_ = -1;
  std::string unk_surface_ = " \xE2\x81\x87 ";
  float min_score_ = FLT_MAX, max_score_ = FLT_MIN;

  bool add_dummy_prefix_ = true, remove_extra_whitespaces_ = true, escape_whitespaces_ = true;
  std::vector<std::uint32_t> trie_;  // Darts units of the precompiled charsmap
  std::string replacements_;

  // Unigram: the pieces that start at each position (pieces_matcher_ when long_pieces_).
  detail::ByteTrie pieces_trie_;
  detail::PieceMatcher pieces_matcher_;
  bool long_pieces_ = false;
  // BPE merges.
  detail::PairMap pair_pieces_;
  bool direct_ids_ = false, bpe_words_ = false;
};

}  // namespace mmm
