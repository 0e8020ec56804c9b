// The reference for mmm's tiktoken encoder: npm js-tiktoken (its ranks and its encoder),
// run by tiktoken_oracle.py as
//   node tiktoken_reference.cjs NPM_PREFIX texts.json out_dir
// It writes each encoding's ranks as a .tiktoken file (base64 token, space, rank per line,
// the format OpenAI publishes) and the ids of every text with specials as plain text and
// with all specials allowed (for the texts that hold one; the others encode the same).
//
// js-tiktoken's patterns are tiktoken's as first released; the encoder here is given the
// patterns tiktoken 0.14 uses (tiktoken_ext/openai_public.py) in JavaScript syntax, so that
// it encodes exactly as tiktoken does:
//   * \s is written out as Unicode White_Space (JavaScript's \s adds U+FEFF, drops U+0085);
//   * (?i:...) is spelled out with every case fold Rust's regex makes ('ſ is 's);
//   * possessive quantifiers are dropped where backtracking cannot change the match, and
//     \s++$ is \s+$ (it only matches the whole rest).
"use strict";
const fs = require("fs");
const path = require("path");

const [prefix, textsPath, outDir] = process.argv.slice(2);
const lib = (p) => require(path.join(prefix, "node_modules", "js-tiktoken", "dist", p));
const { Tiktoken } = lib("lite.cjs");

const WS = "\\t-\\r \\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000";
const s = `[${WS}]`, S = `[^${WS}]`;
const contraction = "'(?:[sSſ]|[tT]|[rR][eE]|[vV][eE]|[mM]|[lL][lL]|[dD])";
const PATTERNS = {
  // r50k_pat_str: '(?:[sdmt]|ll|ve|re)| ?\p{L}++| ?\p{N}++| ?[^\s\p{L}\p{N}]++|\s++$|\s+(?!\S)|\s
  r50k_base: `'(?:[sdmt]|ll|ve|re)| ?\\p{L}+| ?\\p{N}+| ?[^${WS}\\p{L}\\p{N}]+|${s}+$|${s}+(?!${S})|${s}`,
  // '(?i:[sdmt]|ll|ve|re)|[^\r\n\p{L}\p{N}]?+\p{L}++|\p{N}{1,3}+| ?[^\s\p{L}\p{N}]++[\r\n]*+|\s++$|\s*[\r\n]|\s+(?!\S)|\s
  cl100k_base: `${contraction}|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^${WS}\\p{L}\\p{N}]+[\\r\\n]*|${s}+$|${s}*[\\r\\n]|${s}+(?!${S})|${s}`,
  o200k_base: [
    `[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]*[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]+(?:${contraction})?`,
    `[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]+[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]*(?:${contraction})?`,
    `\\p{N}{1,3}`,
    ` ?[^${WS}\\p{L}\\p{N}]+[\\r\\n/]*`,
    `${s}*[\\r\\n]+`,
    `${s}+(?!${S})`,
    `${s}+`,
  ].join("|"),
};

const texts = JSON.parse(fs.readFileSync(textsPath, "utf8"));
const summary = {};
for (const [name, pattern] of Object.entries(PATTERNS)) {
  const ranks = lib(path.join("ranks", `${name}.cjs`));
  const data = ranks.default || ranks;
  const enc = new Tiktoken({ ...data, pat_str: pattern });
  // The rank file, in OpenAI's format (js-tiktoken ships a compressed form of the same).
  const lines = [];
  for (const line of data.bpe_ranks.split("\n").filter(Boolean)) {
    const [, offset, ...tokens] = line.split(" ");
    tokens.forEach((t, i) => lines.push(`${t} ${Number.parseInt(offset, 10) + i}`));
  }
  fs.writeFileSync(path.join(outDir, `${name}.tiktoken`), lines.join("\n") + "\n");
  const specials = Object.keys(data.special_tokens);
  const cases = texts.map((text) => {
    const plain = enc.encode(text, [], []);
    if (!specials.some((t) => text.includes(t))) return { plain };
    return { plain, special: enc.encode(text, "all", []) };
  });
  fs.writeFileSync(path.join(outDir, `${name}.json`), JSON.stringify({ special_tokens: data.special_tokens, cases }));
  summary[name] = { ranks: lines.length, tokens: cases.reduce((n, c) => n + c.plain.length, 0) };
}
console.log(JSON.stringify(summary));
