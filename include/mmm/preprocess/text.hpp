#pragma once
// Text preprocessing: vocabularies and tokenizers. Every tokenizer has encode(text) → ids,
// encode_with_offsets(text) → ids + byte spans, decode(ids) → text, and encode_batch()
// turns texts into a padded Tokens batch.

#include "mmm/preprocess/bpe.hpp"            // GPT-2 byte-level BPE (vocab.json + merges.txt, tokenizer.json)
#include "mmm/preprocess/sentencepiece.hpp"  // SentencePiece .model (unigram, BPE)
#include "mmm/preprocess/token_batch.hpp"    // Encoding, TokenBatch, encode_batch, pad_batch
#include "mmm/preprocess/unicode.hpp"        // Unicode properties the tokenizers use
#include "mmm/preprocess/utf8.hpp"           // UTF-8 decoding with replacement
#include "mmm/preprocess/vocabulary.hpp"     // word / character vocabularies with specials
#include "mmm/preprocess/wordpiece.hpp"      // BERT WordPiece (vocab.txt)
