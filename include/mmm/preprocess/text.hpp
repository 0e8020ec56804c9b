#pragma once
// Text preprocessing: vocabularies and tokenizers. Every tokenizer has encode(text) → ids,
// encode_with_offsets(text) → ids + byte spans, decode(ids) → text, and encode_batch()
// turns texts into a padded Tokens batch.

#include "mmm/preprocess/text/bpe.hpp"            // GPT-2 byte-level BPE (vocab.json + merges.txt, GPT-2's tokenizer.json)
#include "mmm/preprocess/text/hf_tokenizer.hpp"   // any Hugging Face tokenizer.json pipeline (HfTokenizer)
#include "mmm/preprocess/text/sentencepiece.hpp"  // SentencePiece .model (unigram, BPE)
#include "mmm/preprocess/text/special_tokens.hpp" // AllowedSpecial: special tokens split out when allowed
#include "mmm/preprocess/text/split_pattern.hpp"  // the GPT-2 / cl100k / o200k pre-tokenizer patterns
#include "mmm/preprocess/text/tiktoken.hpp"       // tiktoken rank files (cl100k_base, o200k_base, r50k_base)
#include "mmm/preprocess/text/token_batch.hpp"    // Encoding, TokenBatch, encode_batch, pad_batch
#include "mmm/preprocess/text/unicode.hpp"        // Unicode properties the tokenizers use
#include "mmm/preprocess/text/utf8.hpp"           // UTF-8 decoding with replacement
#include "mmm/preprocess/text/vocabulary.hpp"     // word / character vocabularies with specials
#include "mmm/preprocess/text/wordpiece.hpp"      // BERT WordPiece (vocab.txt)
