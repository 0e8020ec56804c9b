// What the JavaScript decoding loops over ONNX Runtime share (benchmarks/generate/ort_loops.mjs,
// benchmarks/apps/apps_ort.mjs): onnxruntime-node from this directory's node_modules, their
// command line (DIR [--repetitions N] [--threads 1,2], DIR holding the exported models and
// torch's reference.json), and sessions opened as bench.mjs opens them.
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';

const here = path.dirname(new URL(import.meta.url).pathname);
export const ort = createRequire(import.meta.url)(path.join(here, 'node_modules', 'onnxruntime-node'));

export function loopArgs(argv = process.argv.slice(2)) {
  const option = (name, fallback) => { const i = argv.indexOf(name); return i < 0 ? fallback : argv[i + 1]; };
  const dir = argv[0];
  return {
    dir,
    repetitions: Number(option('--repetitions', '5')),
    threadCounts: option('--threads', '1,2').split(',').map(Number),
    reference: JSON.parse(fs.readFileSync(path.join(dir, 'reference.json'), 'utf8')),
  };
}

// One intra-op pool of `threads`, sequential execution, every graph optimization.
export const openSession = (file, threads) => ort.InferenceSession.create(file, {
  intraOpNumThreads: threads, interOpNumThreads: 1, executionMode: 'sequential', graphOptimizationLevel: 'all',
});

export const int64 = (values, dims) => new ort.Tensor('int64', BigInt64Array.from(values.map(BigInt)), dims);
