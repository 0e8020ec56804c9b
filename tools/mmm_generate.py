"""Reference decoding algorithms for mmm's generate/ (run with Debian's /usr/bin/python3).

Plain Python over any step decoder with the protocol of include/mmm/generate/decoder.hpp:

    decoder.vocab_size
    state = decoder.make_state(rows)
    logits, state = decoder.step(new_tokens, state)   # new_tokens: one list of ids per row;
                                                      # logits: float32 numpy [rows, V] of each
                                                      # row's last new position
    state = decoder.reorder(state, sources)           # row r continues from row sources[r]

    greedy, sample, beam_search          the procedures of greedy.hpp, sampling.hpp, beam_search.hpp
    ctc_greedy, ctc_prefix_beam_search   those of ctc.hpp
    Pcg32                                the generator of random.hpp

Each returns, per prompt row (or utterance), a list of hypotheses {"tokens", "score",
"finish"}, best first, and records in `margins` how close each decision came to going the
other way (a gap between two scores, or between a draw and a boundary), so that an oracle can
avoid cases where float rounding between two implementations could flip a choice.
"""
import math

import numpy as np

MASK64 = (1 << 64) - 1
NEG_INF = float("-inf")


class Pcg32:
    """O'Neill's PCG32 (XSH-RR), pcg32_srandom_r/pcg32_random_r of pcg-c-basic."""

    def __init__(self, seed=0, stream=0):
        self.state = 0
        self.inc = ((stream << 1) | 1) & MASK64
        self.next()
        self.state = (self.state + seed) & MASK64
        self.next()

    def next(self):
        old = self.state
        self.state = (old * 6364136223846793005 + self.inc) & MASK64
        xorshifted = (((old >> 18) ^ old) >> 27) & 0xFFFFFFFF
        rot = old >> 59
        return ((xorshifted >> rot) | (xorshifted << ((-rot) & 31))) & 0xFFFFFFFF

    def uniform(self):
        return self.next() * 2.0 ** -32


def log_sum_exp(z):
    z = np.asarray(z, dtype=np.float64)
    m = z.max()
    return float(m + math.log(np.exp(z - m).sum()))


def penalize(z, seen, penalty):
    """CTRL's repetition penalty in float32, as Hugging Face applies it."""
    w = np.array(z, dtype=np.float32)
    if penalty != 1.0:
        p = np.float32(penalty)
        for i in seen:
            w[i] = w[i] / p if w[i] > 0 else w[i] * p
    return w


def _descending(w):
    return sorted(range(len(w)), key=lambda i: (-float(w[i]), i))


def sample_choice(z, rng, temperature, top_k, top_p, margins):
    """The draw of sampling.hpp from the (penalized) float32 logits z."""
    v = len(z)
    t = np.float32(temperature)
    w = z if t == np.float32(1.0) else (z / t).astype(np.float32)
    k = top_k if 0 < top_k < v else 0
    order = None
    if k:
        order = _descending(w)[:k]
        margins.append(float(w[order[k - 1]]) - float(w[_descending(w)[k]]))
        m = w[order[0]]
        e_sorted = np.exp((w[order] - m).astype(np.float32))
        total = 0.0
        for x in e_sorted:
            total += float(x)
    else:
        m = w.max()
        e = np.exp((w - m).astype(np.float32))
        total = 0.0
        for x in e:
            total += float(x)
    kept = None
    if top_p < 1.0:
        threshold = float(np.float32(top_p)) * total
        if not k:
            order = _descending(w)
            e_sorted = np.exp((w[order] - m).astype(np.float32))
        kept, cum = [], 0.0
        for j in range(len(order)):
            if cum >= threshold:
                break
            kept.append((order[j], float(e_sorted[j])))
            cum += float(e_sorted[j])
        margins.append(min(cum - threshold, threshold - (cum - kept[-1][1])) / total)
        kept_total = cum
    elif k:
        kept = [(order[j], float(e_sorted[j])) for j in range(k)]
        kept_total = sum(x for _, x in kept)
    u = rng.uniform()
    if kept is None:
        items, target, scale = [(i, float(e[i])) for i in range(v)], u * total, total
    else:
        items, target, scale = sorted(kept), u * kept_total, kept_total
    s = 0.0
    for i, x in items:
        before = s
        s += x
        if s > target:
            margins.append(min(s - target, target - before) / scale)
            return i
    return items[-1][0]


def _token_loop(decoder, state, prompts, max_length, eos, penalty, stop_strings, token_text, choose, margins):
    rows = len(prompts)
    out = [None] * rows
    produced = [[] for _ in range(rows)]
    scores = [0.0] * rows
    seen = [set(p) for p in prompts]
    texts = [""] * rows
    logits, state = decoder.step([list(p) for p in prompts], state)
    while True:
        nxt = []
        for r in range(rows):
            if out[r] is not None:
                nxt.append([produced[r][-1]])
                continue
            z = logits[r]
            w = penalize(z, seen[r], penalty)
            token = choose(r, w)
            scores[r] += float(z[token]) - log_sum_exp(z)
            produced[r].append(token)
            seen[r].add(token)
            finish = None
            if token == eos:
                finish = "eos"
            elif stop_strings:
                before = len(texts[r])
                texts[r] += token_text(token)
                for s in stop_strings:
                    at = texts[r].find(s, max(0, before - len(s) + 1))
                    if at >= 0 and at + len(s) > before:
                        finish = "stop_string"
                        break
            if finish is None and len(produced[r]) == max_length - len(prompts[r]):
                finish = "max_length"
            if finish is not None:
                out[r] = [{"tokens": produced[r], "score": scores[r], "finish": finish}]
            nxt.append([token])
        if all(o is not None for o in out):
            return out
        logits, state = decoder.step(nxt, state)


def greedy(decoder, state, prompts, max_length, eos=-1, repetition_penalty=1.0, stop_strings=(), token_text=None,
           margins=None):
    margins = [] if margins is None else margins

    def choose(_, w):
        order = _descending(w)
        margins.append(float(w[order[0]]) - float(w[order[1]]))
        return order[0]

    return _token_loop(decoder, state, prompts, max_length, eos, repetition_penalty, stop_strings, token_text, choose,
                       margins)


def sample(decoder, state, prompts, max_length, eos=-1, temperature=1.0, top_k=0, top_p=1.0, repetition_penalty=1.0,
           seed=0, stop_strings=(), token_text=None, margins=None):
    margins = [] if margins is None else margins
    rng = Pcg32(seed)
    return _token_loop(decoder, state, prompts, max_length, eos, repetition_penalty, stop_strings, token_text,
                       lambda _, w: sample_choice(w, rng, temperature, top_k, top_p, margins), margins)


def _gaps(sorted_scores, margins):
    for a, b in zip(sorted_scores, sorted_scores[1:]):
        if math.isfinite(a) and math.isfinite(b):
            margins.append(a - b)


def beam_search(decoder, state, prompts, max_length, eos=-1, width=4, length_penalty=1.0, n_best=1, margins=None):
    """The beam search of beam_search.hpp; the state has len(prompts) * width rows."""
    margins = [] if margins is None else margins
    v, w_ = decoder.vocab_size, width
    items = len(prompts)
    # Per item: live beams as (sum of log-probs, tokens), finished hypotheses as
    # (score, serial, tokens, finish).
    beams = [[(0.0, [])] + [(NEG_INF, [])] * (w_ - 1) for _ in range(items)]
    hyps = [[] for _ in range(items)]
    done = [False] * items
    serial = 0
    logits, state = decoder.step([list(prompts[r // w_]) for r in range(items * w_)], state)
    step = 0
    while True:
        generated = step + 1
        norm = float(generated) ** length_penalty
        sources, tokens = [], []
        for b in range(items):
            if done[b]:
                sources += [b * w_ + j for j in range(w_)]
                tokens += [eos if eos >= 0 else 0] * w_
                continue
            proposals = []
            for j, (s, seq) in enumerate(beams[b]):
                if s == NEG_INF:
                    continue
                z = logits[b * w_ + j]
                lse = log_sum_exp(z)
                for c in _descending(z)[:min(2 * w_, v)]:
                    proposals.append((s + float(z[c]) - lse, j * v + c, j, c))
            proposals.sort(key=lambda p: (-p[0], p[1]))
            considered = proposals[:2 * w_]
            _gaps([p[0] for p in proposals[:2 * w_ + 1]], margins)
            new = []
            for rank, (score, _, j, c) in enumerate(considered):
                if len(new) == w_:
                    break
                if c == eos:
                    if rank >= w_:
                        continue
                    serial = _add_hypothesis(hyps[b], w_, score / norm, serial, beams[b][j][1] + [c], "eos", margins)
                else:
                    new.append((score, beams[b][j][1] + [c], b * w_ + j))
            item_max_new = max_length - len(prompts[b])
            if generated == item_max_new:
                for score, seq, _ in new:
                    serial = _add_hypothesis(hyps[b], w_, score / norm, serial, seq, "max_length", margins)
                done[b] = True
            elif not new:
                done[b] = True
            elif len(hyps[b]) == w_:
                worst = min(h[0] for h in hyps[b])
                best = max(s for s, _, _ in new)
                margins.append(abs(worst - best / norm))
                done[b] = worst >= best / norm
            beams[b] = [(s, seq) for s, seq, _ in new] + [(NEG_INF, [])] * (w_ - len(new))
            sources += [src for _, _, src in new] + [b * w_] * (w_ - len(new))
            tokens += [seq[-1] for _, seq, _ in new] + [eos if eos >= 0 else 0] * (w_ - len(new))
        if all(done):
            break
        state = decoder.reorder(state, sources)
        logits, state = decoder.step([[t] for t in tokens], state)
        step += 1
    out = []
    for b in range(items):
        ranked = sorted(hyps[b], key=lambda h: (-h[0], h[1]))
        _gaps([h[0] for h in ranked], margins)
        out.append([{"tokens": h[2], "score": h[0], "finish": h[3]} for h in ranked[:n_best]])
    return out


def _add_hypothesis(hyps, width, score, serial, tokens, finish, margins):
    if len(hyps) < width:
        hyps.append((score, serial, tokens, finish))
        return serial + 1
    worst = min(range(width), key=lambda i: (hyps[i][0], hyps[i][1]))
    margins.append(abs(score - hyps[worst][0]))
    if score > hyps[worst][0]:
        hyps[worst] = (score, serial, tokens, finish)
    return serial + 1


def log_add(a, b):
    if a < b:
        a, b = b, a
    if b == NEG_INF:
        return a
    return a + math.log1p(math.exp(b - a))


def ctc_greedy(log_probs, length, blank=0, margins=None):
    """log_probs: [T, V] (float32); the best path, repeats merged, blanks removed."""
    margins = [] if margins is None else margins
    labels, previous, score = [], -1, 0.0
    for t in range(length):
        y = log_probs[t]
        order = _descending(y)
        margins.append(float(y[order[0]]) - float(y[order[1]]))
        best = order[0]
        score += float(y[best])
        if best != blank and best != previous:
            labels.append(best)
        previous = best
    return [{"tokens": labels, "score": score, "finish": "max_length"}]


def ctc_prefix_beam_search(log_probs, length, width=8, blank=0, n_best=1, margins=None):
    """Prefix beam search over [T, V] log-probabilities; prefixes are tuples."""
    margins = [] if margins is None else margins
    beams = [((), 0.0, NEG_INF)]  # (prefix, p_b, p_nb), best first
    v = len(log_probs[0]) if length else 0
    for t in range(length):
        y = [float(x) for x in log_probs[t]]
        entries = {}  # prefix -> [p_b, p_nb, order]

        def entry(prefix):
            if prefix not in entries:
                entries[prefix] = [NEG_INF, NEG_INF, len(entries)]
            return entries[prefix]

        for prefix, pb, pnb in beams:
            e = entry(prefix)
            e[0] = log_add(e[0], log_add(pb, pnb) + y[blank])
            if prefix:
                e[1] = log_add(e[1], pnb + y[prefix[-1]])
        for prefix, pb, pnb in beams:
            total = log_add(pb, pnb)
            for c in range(v):
                if c == blank:
                    continue
                extended = prefix + (c,)
                e = entry(extended)
                e[1] = log_add(e[1], (pb if prefix and c == prefix[-1] else total) + y[c])
        ranked = sorted((kv for kv in entries.items() if log_add(kv[1][0], kv[1][1]) != NEG_INF),
                        key=lambda kv: (-log_add(kv[1][0], kv[1][1]), kv[1][2]))
        _gaps([log_add(e[0], e[1]) for _, e in ranked[:width + 1]], margins)
        beams = [(prefix, e[0], e[1]) for prefix, e in ranked[:width]]
    return [{"tokens": list(p), "score": log_add(pb, pnb), "finish": "max_length"} for p, pb, pnb in beams[:n_best]]
