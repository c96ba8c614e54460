/**
 * The converter on broken inputs: hyperparameters that make no sense are refused before a byte is
 * written (never written as given), NaN/Inf weights convert with a warning, FP8 checkpoints are
 * refused as FP8, and a damaged tensor name is bad input (exit 3), not an unsupported feature.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { convertToGguf } from '../../../src/core/convert';
import { FormatError, UnsupportedError } from '../../../src/core/errors';
import { readGgufHeader } from '../../../src/core/formats/gguf';
import { readSafetensorsHeader } from '../../../src/core/formats/safetensors';
import { buildRawSafetensors } from '../../fixtures/safetensors-builder';
import { buildTinyModel } from '../../fixtures/models/tiny-models';
import { tempDir } from '../../fixtures/bytes';

function tiny(t: import('node:test').TestContext, config: Record<string, unknown> = {}) {
  const dir = tempDir(t);
  buildTinyModel('llama', { dir, config });
  return dir;
}

test('hyperparameters are checked by meaning before anything is written', async (t) => {
  const cases: [Record<string, unknown>, RegExp][] = [
    [{ rms_norm_eps: 0 }, /"rms_norm_eps" is 0; a normalisation epsilon must lie in \(0, 1\)/],
    [{ rms_norm_eps: -1 }, /"rms_norm_eps" is -1/],
    [{ rope_theta: 0 }, /"rope_theta" is 0; a RoPE base frequency must lie in \(0, 1000000000000\]/],
    [{ rope_theta: 1e18 }, /"rope_theta" is 1000000000000000000/],
    [{ max_position_embeddings: 0 }, /"max_position_embeddings" is 0; a context length must be at least 1/],
    [{ num_key_value_heads: '2' }, /"num_key_value_heads" is the string "2"; expected a whole number/],
    [{ num_hidden_layers: 1e6 }, /"num_hidden_layers" is 1000000, more than the limit of 512 \(MAX_LAYERS\)/],
    [{ num_key_value_heads: 3 }, /is not a multiple of .*"num_key_value_heads" \(3\)/],
  ];
  for (const [config, message] of cases) {
    const dir = tiny(t, config);
    const out = path.join(dir, 'out.gguf');
    await assert.rejects(convertToGguf(dir, { outPath: out }), (e: unknown) => e instanceof FormatError && message.test(e.message));
    assert.deepEqual(
      readdirSync(dir).filter((f) => f.includes('out.gguf')),
      [],
      `${JSON.stringify(config)}: nothing written`,
    );
  }
});

test('NaN and infinite weights convert with a warning naming the tensor', async (t) => {
  const dir = tiny(t);
  const file = path.join(dir, 'model.safetensors');
  const header = await readSafetensorsHeader(file);
  const target = header.tensors.find((x) => x.name.endsWith('layers.0.mlp.up_proj.weight'))!;
  const bytes = readFileSync(file);
  for (let i = 0; i < target.byteLength; i += 4) bytes.writeFloatLE(i % 8 ? NaN : Infinity, target.dataOffset + i);
  writeFileSync(file, bytes);
  const logs: string[] = [];
  const result = await convertToGguf(dir, { outPath: path.join(dir, 'out.gguf') }, { log: (l) => logs.push(l) });
  assert.match(result.warnings.join('\n'), /tensor blk\.0\.ffn_up\.weight holds \d+ NaN or infinite value\(s\) after conversion to f16/);
  assert.ok(logs.some((l) => l.startsWith('warning: tensor blk.0.ffn_up.weight')));
  const clean = tiny(t);
  assert.deepEqual((await convertToGguf(clean, { outPath: path.join(clean, 'out.gguf') })).warnings, []);
});

test('FP8 checkpoints are refused as FP8, not by naming their scale tensors', async (t) => {
  const declared = tiny(t, { quantization_config: { quant_method: 'fp8', fmt: 'e4m3' } });
  await assert.rejects(
    convertToGguf(declared, { outPath: path.join(declared, 'o.gguf') }),
    (e: unknown) => e instanceof UnsupportedError && /FP8 checkpoints are not supported \(config.json declares an fp8/.test(e.message),
  );
  const dir = tiny(t);
  const file = path.join(dir, 'model.safetensors');
  const bytes = readFileSync(file);
  const length = Number(bytes.readBigUInt64LE(0));
  const header = JSON.parse(bytes.subarray(8, 8 + length).toString()) as Record<
    string,
    { dtype: string; shape: number[]; data_offsets: number[] }
  >;
  const data = bytes.subarray(8 + length);
  // Store one matrix as F8_E4M3 with its scale, as FP8 checkpoints do (1 byte per element).
  const name = 'model.layers.0.self_attn.q_proj.weight';
  const q = header[name]!;
  const n = q.shape.reduce((a, b) => a * b, 1);
  const rebuilt: Record<string, unknown> = {};
  const parts: Buffer[] = [];
  let offset = 0;
  for (const [k, v] of Object.entries(header)) {
    const chunk = k === name ? Buffer.alloc(n, 0x38) : data.subarray(v.data_offsets[0], v.data_offsets[1]);
    rebuilt[k] = { dtype: k === name ? 'F8_E4M3' : v.dtype, shape: v.shape, data_offsets: [offset, offset + chunk.length] };
    parts.push(chunk);
    offset += chunk.length;
  }
  rebuilt[`${name}_scale_inv`] = { dtype: 'F32', shape: [1], data_offsets: [offset, offset + 4] };
  parts.push(Buffer.from(new Float32Array([1]).buffer));
  writeFileSync(file, buildRawSafetensors({ header: rebuilt, data: Buffer.concat(parts) }));
  await assert.rejects(
    convertToGguf(dir, { outPath: path.join(dir, 'o.gguf') }),
    (e: unknown) =>
      e instanceof UnsupportedError && /FP8 checkpoints are not supported \(tensor .*q_proj.weight is F8_E4M3\)/.test(e.message),
  );
});

test('a damaged tensor name is bad input; an unknown extra tensor is unsupported', async (t) => {
  const rename = (dir: string, from: string, to: string) => {
    const file = path.join(dir, 'model.safetensors');
    const bytes = readFileSync(file);
    const length = Number(bytes.readBigUInt64LE(0));
    const text = bytes
      .subarray(8, 8 + length)
      .toString()
      .replace(`"${from}"`, `"${to}"`);
    writeFileSync(file, buildRawSafetensors({ header: text, data: bytes.subarray(8 + length) }));
  };
  const damaged = tiny(t);
  rename(damaged, 'model.layers.1.self_attn.k_proj.weight', 'model.layers.1.self_attn.k_pRoj.weight');
  await assert.rejects(
    convertToGguf(damaged, { outPath: path.join(damaged, 'o.gguf') }),
    (e: unknown) =>
      e instanceof FormatError && /k_pRoj.weight\) while 1 tensor\(s\) the model needs are missing \(blk.1.attn_k.weight\)/.test(e.message),
  );
  const extra = tiny(t);
  rename(extra, 'model.layers.1.self_attn.k_proj.weight', 'model.layers.1.self_attn.k_proj.weight');
  const file = path.join(extra, 'model.safetensors');
  const bytes = readFileSync(file);
  const length = Number(bytes.readBigUInt64LE(0));
  const header = JSON.parse(bytes.subarray(8, 8 + length).toString()) as Record<string, unknown>;
  const dataLength = bytes.length - 8 - length;
  header['model.layers.0.mlp.novel_proj.weight'] = { dtype: 'F32', shape: [1], data_offsets: [dataLength, dataLength + 4] };
  writeFileSync(file, buildRawSafetensors({ header, data: Buffer.concat([bytes.subarray(8 + length), Buffer.alloc(4)]) }));
  await assert.rejects(
    convertToGguf(extra, { outPath: path.join(extra, 'o.gguf') }),
    (e: unknown) => e instanceof UnsupportedError && /novel_proj/.test(e.message),
  );
});

test('a config without rms_norm_eps gets the class default, so llama.cpp can load the result', async (t) => {
  const dir = tempDir(t);
  buildTinyModel('llama', { dir });
  const config = JSON.parse(readFileSync(path.join(dir, 'config.json'), 'utf8')) as Record<string, unknown>;
  delete config.rms_norm_eps;
  writeFileSync(path.join(dir, 'config.json'), JSON.stringify(config));
  await convertToGguf(dir, { outPath: path.join(dir, 'o.gguf') });
  const eps = (await readGgufHeader(path.join(dir, 'o.gguf'))).metadata.get('llama.attention.layer_norm_rms_epsilon');
  assert.ok(eps && Math.abs((eps.value as number) - 1e-6) < 1e-12);
});
