#!/usr/bin/env node
// `npm run demo`: the main job end to end, through the CLI a user would type. The model is, in this
// order: a small real instruct model from the Hugging Face Hub (HuggingFaceTB/SmolLM2-135M-Instruct,
// Apache-2.0, ~270 MB, downloaded into the shared HF cache; PAJAMAS_DEMO_HUB_MODEL picks another),
// ../shared/models/pajama-tiny-gqa when the Hub cannot be used, else a small random-weight Llama
// generated here. The demo says which one it used and why. Output goes to demo-output/.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const shared = path.resolve(root, '..', 'shared');
const out = path.join(root, 'demo-output');
const cli = path.join(root, 'bin', 'pajamas.js');
const DEFAULT_HUB_MODEL = 'HuggingFaceTB/SmolLM2-135M-Instruct';
const HUB_MODEL = process.env.PAJAMAS_DEMO_HUB_MODEL || DEFAULT_HUB_MODEL;

function run(title, args, { allowFail = false } = {}) {
  console.log(`\n=== ${title}\n$ pajamas ${args.map((a) => (a.includes(' ') ? JSON.stringify(a) : a)).join(' ')}`);
  const r = spawnSync(process.execPath, [cli, ...args], { stdio: 'inherit', cwd: root });
  if (r.status !== 0 && !allowFail) {
    console.error(`\ndemo stopped: "pajamas ${args[0]}" exited with ${r.status ?? r.signal}`);
    process.exit(r.status ?? 1);
  }
  return r.status;
}

/**
 * `pajamas download` of the Hub model, its progress shown as it goes; resolves to null when it
 * worked, else to the reason (the CLI's error line: offline, gated, no disk space...).
 */
function downloadFromHub() {
  console.log(`\n=== 0. the model: ${HUB_MODEL} from the Hugging Face Hub, into the shared HF cache\n$ pajamas download ${HUB_MODEL}`);
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [cli, 'download', HUB_MODEL], { cwd: root, stdio: ['ignore', 'inherit', 'pipe'] });
    let reason = '';
    child.stderr.on('data', (chunk) => {
      // Progress passes through; the error line is said once, below, as the reason.
      for (const line of chunk.toString().split(/(?<=\n)/)) {
        if (line.startsWith('pajamas download: ')) reason = line.slice('pajamas download: '.length).trim();
        else process.stderr.write(line);
      }
    });
    child.on('error', (error) => resolve(error.message));
    child.on('close', (code) => resolve(code === 0 ? null : reason || `pajamas download exited with ${code}`));
  });
}

mkdirSync(out, { recursive: true });
let model;
let evalArgs;
let prompt;
const hubProblem = await downloadFromHub();
if (hubProblem === null) {
  model = HUB_MODEL;
  evalArgs = ['--ctx', '256'];
  prompt = ['-p', 'What are the three primary colours?'];
  const what = HUB_MODEL === DEFAULT_HUB_MODEL ? 'a real 135M-parameter instruct model' : 'from the Hub';
  console.log(`model: ${HUB_MODEL} (${what}; the steps below name it by its repo id)`);
} else {
  console.log(`the Hub model is not used, because: ${hubProblem}`);
  model = path.join(shared, 'models', 'pajama-tiny-gqa');
  evalArgs = ['--text', path.join(shared, 'data', 'war-and-peace-heldout.txt'), '--ctx', '256'];
  prompt = ['-p', 'Pierre looked at'];
  if (existsSync(path.join(model, 'config.json'))) {
    console.log(`model: ${model} (a trained 4.8M-parameter Llama, GQA 4:1, from ../shared)`);
  } else {
    model = path.join(out, 'models', 'demo-llama');
    evalArgs = ['--ctx', '256'];
    console.log(
      `model: ../shared is not here either, so the demo generates its own: ${model} (random weights, GQA 4:1; its text is gibberish)`,
    );
    const r = spawnSync(process.execPath, ['--import', 'tsx', path.join(root, 'scripts', 'demo-model.ts'), model], {
      stdio: 'inherit',
      cwd: root,
    });
    if (r.status !== 0) process.exit(r.status ?? 1);
  }
}
const name = path.basename(model); // for a repo id, its name part
const dir = path.join(out, name);

run("1. the llama.cpp tools (built once per machine from node-llama-cpp's bundled source)", ['tools', '--build']);
run('2. what the model is', ['detect', model]);
run("3. the architecture-aware plan, tensor by tensor, against llama.cpp's stock Q4_K_M", ['plan', model, '--target', 'Q4_K_M']);
run('4. the claim, measured: stock (naive) vs pajamas, without and with an importance matrix', [
  'compare',
  model,
  '--target',
  'Q4_K_M',
  '-o',
  dir,
  ...evalArgs,
]);
run('5. the pipeline with MLX output too (GGUF artifacts already made are reused)', [
  'quantize',
  model,
  '-o',
  dir,
  '--formats',
  'gguf,mlx',
  '--no-gate',
  ...evalArgs.map((a) => (a === '--text' ? '--eval-text' : a)),
]);
run('6. every artifact checked against the manifest', ['verify', dir]);
run('7. chat with the quantized model (greedy, one reply)', [
  'run',
  path.join(dir, 'manifest.json'),
  ...prompt,
  '--max-tokens',
  '40',
  '--temperature',
  '0',
]);
console.log(`\ndone: artifacts, manifest.json and compare-Q4_K_M.svg are in ${dir}`);
