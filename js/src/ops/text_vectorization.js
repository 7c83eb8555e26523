// TextVectorization (rnnconvert/runtime/ops/text_vectorization.py, FORMAT.md 5.49): TensorFlow's
// tokenisation exactly -- ASCII-only lowercasing, the 32 ASCII punctuation characters stripped,
// splitting on runs of the six ASCII whitespace characters, characters as Unicode code points.

import { InputError } from "../errors.js";
import { Tensor } from "../tensor.js";
import { encodeRows, tokenIds } from "./text.js";

const PUNCTUATION = /[!"#$%&'()*+,\-./:;<=>?@[\\\]^_`{|}~]/g;
const WHITESPACE = /[ \t\n\v\f\r]+/;

function standardizeText(s, mode) {
  if (mode === "lower" || mode === "lower_and_strip_punctuation") s = s.replace(/[A-Z]+/g, (m) => m.toLowerCase());
  if (mode === "strip_punctuation" || mode === "lower_and_strip_punctuation") s = s.replace(PUNCTUATION, "");
  return s;
}

function splitText(s, split) {
  if (split === "whitespace") return s.split(WHITESPACE).filter((t) => t.length);
  if (split === "character") return Array.from(s);
  return [s];
}

function ngramTokens(tokens, widths) {
  if (!widths) return tokens;
  const out = [];
  for (const w of widths) for (let i = 0; i + w <= tokens.length; i++) out.push(tokens.slice(i, i + w).join(" "));
  return out;
}

export function tokenize(x, cfg) {
  const shape = x.shape;
  if (!(shape.length === 1 || (shape.length === 2 && shape[1] === 1))) throw new InputError(`TextVectorization reads (B,) or (B, 1) strings, got shape [${shape}]`);
  return Array.from(x.data, (s) => ngramTokens(splitText(standardizeText(s, cfg.standardize), cfg.split), cfg.ngrams));
}

export function textVectorization([x], w, cfg) {
  if (x.dtype !== "string") throw new InputError("TextVectorization expects a string input");
  const rows = tokenize(x, cfg);
  const B = rows.length;
  const int = cfg.output_mode === "int";
  const { ids, drop } = tokenIds(rows.flat(), cfg.vocabulary, "", 1, int ? 1 : 0);
  if (int) {
    const L = cfg.output_sequence_length !== null ? cfg.output_sequence_length : Math.max(0, ...rows.map((r) => r.length));
    const out = new Int32Array(B * L);
    let at = 0;
    rows.forEach((r, b) => {
      for (let j = 0; j < r.length; j++) if (j < L) out[b * L + j] = ids[at + j];
      at += r.length;
    });
    return [new Tensor(out, [B, L], "int32")];
  }
  return [encodeRows(rows.map((r) => r.length), ids, drop, cfg.depth, cfg.output_mode, w.idf_weights)];
}
