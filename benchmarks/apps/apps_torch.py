"""The work of bench_apps in PyTorch (eager, torch.inference_mode): the four applications on
their first shipped inputs, batch 1, with the training scripts' modules and the shipped
weights, decoded by tools/mmm_generate.py (the procedures of generate/, which the examples'
agreement.py runs as the PyTorch oracle): the torch code a user of these models runs.

    /usr/bin/python3 benchmarks/apps/apps_torch.py [--repetitions 5] [--threads 1,2]
    /usr/bin/python3 benchmarks/apps/apps_torch.py --export DIR    (ONNX pieces and inputs for apps_ort.mjs)

  Caption     normalized image → caption: Captioner.memory, beam search (width 4) whose steps
              run model.logits over the prefix (nn.TransformerDecoder has no KV cache)
  Transcribe  log-mel features → transcript: chunked_logits, log_softmax, CTC prefix beam
              search (width 8, Python); TranscribeFeatures: the WAV's samples → log-mel
              (torchaudio MelSpectrogram), timed apart as in bench_apps
  Draw        prompt → 8-bit pixels: encode, Drawer, the rounding of to_image()
  Ask         normalized image + question ids → answer: features, prefix, greedy over
              PrefixDecoder (the whole sequence each step, as the model has no KV cache)

Prints one row per case, named as bench_apps's: <App>/torch/threads:N and the median
milliseconds; Transcribe's row also says how much of it is the Python CTC decoding."""
import argparse
import json
import os
import statistics
import sys
import time
import wave

import numpy as np
import torch
from PIL import Image
from torch import nn

HERE = os.path.dirname(os.path.abspath(__file__))
EXAMPLES = os.path.join(HERE, "..", "..", "examples")
sys.path.insert(0, os.path.join(HERE, "..", "..", "tools"))
import mmm_generate  # noqa: E402
import scenes  # noqa: E402
import train_assistant as A  # noqa: E402
import train_captioner as C  # noqa: E402
import train_speech as S  # noqa: E402
import train_text_to_image as D  # noqa: E402
from mmm_decoders import MemoryDecoder  # noqa: E402
from mmm_oracle import load_weights  # noqa: E402


def first_input(example):
    """The first line of an example's inputs.tsv: its file's path, then its fields."""
    with open(os.path.join(EXAMPLES, example, "inputs.tsv")) as f:
        fields = next(line.rstrip("\n").split("\t") for line in f if line.strip() and not line.startswith("#"))
    return [os.path.join(EXAMPLES, example, fields[0])] + fields[1:]


def image_input(path):
    return torch.from_numpy(scenes.image_array(Image.open(path)))[None]


def read_wav(path):
    with wave.open(path) as w:
        assert w.getsampwidth() == 2 and w.getnchannels() == 1 and w.getframerate() == S.speech.RATE, path
        return np.frombuffer(w.readframes(w.getnframes()), dtype="<i2").astype(np.float32) / 32768.0


def loaded(model, example, file):
    meta = load_weights(model, os.path.join(EXAMPLES, example, file))
    return model.eval(), meta


def words(vocab, tokens, eos):
    return " ".join(vocab[t] for t in tokens if t != eos)


class Apps:
    """Each app's model, input and answer(): the timed work, giving the answer as text."""

    def __init__(self):
        self.captioner, meta = loaded(C.Captioner(), "caption", "caption.safetensors")
        self.caption_width = int(meta["beam_width"])
        path, self.caption_truth = first_input("caption")[:2]
        self.caption_image = image_input(path)

        self.speech, meta = loaded(S.SpeechModel(), "transcribe", "speech.safetensors")
        self.ctc_width = int(meta["beam_width"])
        path, self.transcript_truth = first_input("transcribe")[:2]
        self.samples = read_wav(path)
        self.features = S.features(self.samples)

        self.drawer, _ = loaded(D.Drawer(), "draw", "draw.safetensors")
        with open(os.path.join(EXAMPLES, "draw", "prompts.txt")) as f:
            self.prompt = next(line.strip() for line in f if line.strip() and not line.startswith("#"))

        self.assistant, meta = loaded(A.Assistant(), "assistant", "assistant.safetensors")
        assert int(meta["beam_width"]) == 1, "the assistant's default decoding is no longer greedy"
        path, self.question, self.answer_truth = first_input("assistant")[:3]
        self.ask_image = image_input(path)
        self.question_ids = A.encode_questions([self.question])

    def caption(self):
        decoder = MemoryDecoder(self.captioner, len(C.VOCAB))
        memory = self.captioner.memory(self.caption_image)
        best = mmm_generate.beam_search(decoder, decoder.make_state(memory, self.caption_width), [[C.BOS]], C.MAX_LEN,
                                        eos=C.EOS, width=self.caption_width)[0][0]
        return words(C.VOCAB, best["tokens"], C.EOS), best["tokens"]

    def log_probs(self):
        return torch.log_softmax(S.chunked_logits(self.speech, self.features), -1).numpy()

    def ctc(self, lp):
        best = mmm_generate.ctc_prefix_beam_search(lp, lp.shape[0], width=self.ctc_width)[0]
        return S.speech.decode(best["tokens"]), best["tokens"]

    def transcribe(self):
        return self.ctc(self.log_probs())

    def transcribe_features(self):
        return S.features(self.samples)

    def draw(self):
        tokens, lengths = D.encode([self.prompt])
        x = self.drawer(tokens, lengths)[0]
        return np.clip(np.rint((x.numpy().transpose(1, 2, 0) * 0.5 + 0.5) * 255), 0, 255).astype(np.uint8)

    def ask(self):
        q, ql = self.question_ids
        prefix, plen = self.assistant.prefix(self.assistant.features(self.ask_image), q, ql)
        decoder = A.PrefixDecoder(self.assistant)
        best = mmm_generate.greedy(decoder, decoder.make_state(prefix, plen, 1), [[A.BOS]], A.MAX_ANSWER, eos=A.EOS)[0][0]
        return words(A.VOCAB, best["tokens"], A.EOS), best["tokens"]


def median_ms(run, repetitions, minimum_seconds=0.3):
    """The median of `repetitions` timings, each the mean over enough calls to last
    minimum_seconds (as Google Benchmark's --benchmark_min_time does)."""
    t0 = time.perf_counter()
    run()
    once = max(time.perf_counter() - t0, 1e-6)
    calls = max(1, int(minimum_seconds / once))
    times = []
    for _ in range(repetitions):
        t0 = time.perf_counter()
        for _ in range(calls):
            run()
        times.append((time.perf_counter() - t0) / calls)
    return statistics.median(times) * 1e3


class SpeechFrames(nn.Module):
    """SpeechModel.forward for one recording of one window (no padding, so no packing, which
    ONNX cannot express): [1, T, 80] log-mels → [1, T', 37] log-probabilities."""

    def __init__(self, m):
        super().__init__()
        self.m = m

    def forward(self, x):
        m = self.m
        x = nn.functional.gelu(m.conv1(m.norm(x).transpose(1, 2)))
        y, _ = m.rnn(nn.functional.gelu(m.conv2(x)).transpose(1, 2))
        return torch.log_softmax(m.out(y), -1)


class CaptionMemory(nn.Module):
    def __init__(self, m):
        super().__init__()
        self.m = m

    def forward(self, images):
        return self.m.memory(images)


class CaptionSteps(nn.Module):
    def __init__(self, m):
        super().__init__()
        self.m = m

    def forward(self, memory, tokens):
        return self.m.logits(memory, tokens)[:, -1]


class AskPrefix(nn.Module):
    """Assistant.prefix for one image and one question: with nothing padded, SequenceJoin is
    a concatenation (join()'s gather and in-place masks do not export)."""

    def __init__(self, m):
        super().__init__()
        self.m = m

    def forward(self, images, questions):
        m = self.m
        return torch.cat([m.image_tokens(m.features(images)), m.question_tokens(questions)], 1)


class AskSteps(nn.Module):
    """Assistant.logits for one row, the last position's: [prefix][answer so far]."""

    def __init__(self, m):
        super().__init__()
        self.m = m

    def forward(self, prefix, answers):
        m = self.m
        x = m.pos(torch.cat([prefix, m.embed(answers)], 1))
        for block in m.blocks:
            x = block(x)
        return m.head(m.ln_f(x[:, -1]))


def export(apps, out):
    """ONNX pieces for apps_ort.mjs (opset 14, lengths dynamic), the inputs, and torch's
    answers, which the ONNX Runtime loops must reproduce."""
    os.makedirs(out, exist_ok=True)

    def onnx(module, args, name, inputs, outputs, dynamic):
        # eval() first: export restores the wrapper's mode, and a new wrapper is in training
        # mode, which would switch the model's dropout on for everything after.
        torch.onnx.export(module.eval(), args, os.path.join(out, name), opset_version=14, input_names=inputs,
                          output_names=outputs, dynamic_axes=dynamic)

    memory = apps.captioner.memory(apps.caption_image)
    onnx(CaptionMemory(apps.captioner), (apps.caption_image,), "caption_memory.onnx", ["images"], ["memory"], {})
    onnx(CaptionSteps(apps.captioner), (memory.repeat(2, 1, 1), torch.tensor([[C.BOS, 5, 6]] * 2)), "caption_step.onnx",
         ["memory", "tokens"], ["logits"], {"memory": {0: "B"}, "tokens": {0: "B", 1: "T"}, "logits": {0: "B"}})
    frames = apps.features.shape[0]
    assert frames <= S.CHUNK_FRAMES, "apps_ort.mjs hears one window: the shipped utterance is longer than 6 s"
    onnx(SpeechFrames(apps.speech), (apps.features[None],), "speech.onnx", ["features"], ["log_probs"],
         {"features": {1: "T"}, "log_probs": {1: "U"}})
    tokens, lengths = D.encode([apps.prompt])
    onnx(apps.drawer, (tokens, lengths), "draw.onnx", ["tokens", "lengths"], ["image"], {"tokens": {1: "T"}})
    q = apps.question_ids[0]
    prefix = AskPrefix(apps.assistant)(apps.ask_image, q)
    onnx(AskPrefix(apps.assistant), (apps.ask_image, q), "ask_prefix.onnx", ["images", "questions"], ["prefix"],
         {"questions": {1: "Q"}, "prefix": {1: "P"}})
    onnx(AskSteps(apps.assistant), (prefix, torch.tensor([[A.BOS, 5, 6]])), "ask_step.onnx", ["prefix", "answers"],
         ["logits"], {"prefix": {1: "P"}, "answers": {1: "T"}})
    caption, caption_tokens = apps.caption()
    transcript, transcript_tokens = apps.transcribe()
    answer, answer_tokens = apps.ask()
    reference = {
        "caption": {"image": apps.caption_image.flatten().tolist(), "width": apps.caption_width, "bos": C.BOS,
                    "eos": C.EOS, "max_length": C.MAX_LEN, "vocab": C.VOCAB, "tokens": caption_tokens, "text": caption},
        "transcribe": {"features": apps.features.flatten().tolist(), "frames": frames, "width": apps.ctc_width,
                       "labels": S.speech.LABELS, "tokens": transcript_tokens, "text": transcript},
        "draw": {"prompt": apps.prompt, "vocab": D.VOCAB, "pixels": apps.draw().flatten().tolist()},
        "ask": {"image": apps.ask_image.flatten().tolist(), "question": apps.question_ids[0][0].tolist(), "bos": A.BOS,
                "eos": A.EOS, "max_length": A.MAX_ANSWER, "vocab": A.VOCAB, "tokens": answer_tokens, "text": answer},
    }
    with open(os.path.join(out, "reference.json"), "w") as f:
        json.dump(reference, f)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--repetitions", type=int, default=5)
    parser.add_argument("--threads", default="1,2")
    parser.add_argument("--export", metavar="DIR", help="write the ONNX pieces for apps_ort.mjs and stop")
    args = parser.parse_args()
    apps = Apps()
    if args.export:
        with torch.no_grad():
            export(apps, args.export)
        return
    for threads in (int(t) for t in args.threads.split(",")):
        torch.set_num_threads(threads)
        with torch.inference_mode():
            for name, run, truth in (("Caption", apps.caption, apps.caption_truth),
                                     ("Transcribe", apps.transcribe, apps.transcript_truth),
                                     ("TranscribeFeatures", apps.transcribe_features, None),
                                     ("Draw", apps.draw, None),
                                     ("Ask", apps.ask, apps.answer_truth)):
                result = run()
                if truth is not None and result[0] != truth:
                    raise SystemExit(f"{name}: torch answered '{result[0]}', not '{truth}'")
                ms = median_ms(run, args.repetitions)
                note = ""
                if name == "Transcribe":
                    lp = apps.log_probs()
                    note = f"  (of which CTC beam search in Python {median_ms(lambda: apps.ctc(lp), args.repetitions):.2f} ms)"
                label = result[0] if truth is not None else ""
                print(f"{name}/torch/threads:{threads}  {ms:9.3f} ms  {label}{note}", flush=True)


if __name__ == "__main__":
    main()
