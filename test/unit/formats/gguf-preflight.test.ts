/**
 * The GGUF pre-flight check: each case is one field of an otherwise loadable file changed the way
 * a corrupt or hostile file changes it, and each must be a FormatError naming the file and what is
 * wrong (llama.cpp aborts its process on several of them).
 */
import assert from 'node:assert/strict';
import { truncateSync, appendFileSync } from 'node:fs';
import { test, type TestContext } from 'node:test';
import { detectArchitecture } from '../../../src/core/arch/detect';
import { FormatError } from '../../../src/core/errors';
import { hasGgufMagic, preflightGguf } from '../../../src/core/formats/gguf-preflight';
import { tempFile } from '../../fixtures/bytes';
import { buildGguf, f32Bytes, GGML, type GgufFixture, T } from '../../fixtures/gguf-builder';
import { TINY_LLAMA, tinyLlamaGguf, tinyLlamaTensors } from '../../fixtures/gguf-model';

function write(t: TestContext, fixture: GgufFixture): string {
  return tempFile(t, 'model.gguf', buildGguf(fixture));
}

async function rejects(t: TestContext, fixture: GgufFixture | string, pattern: RegExp): Promise<void> {
  const file = typeof fixture === 'string' ? fixture : write(t, fixture);
  await assert.rejects(preflightGguf(file), (e: unknown) => {
    assert.ok(e instanceof FormatError, `a FormatError, got ${String(e)}`);
    assert.match(e.message, pattern);
    assert.ok(e.message.includes(file), 'names the file');
    return true;
  });
  // detect reads GGUF files through the same check, so it never describes such a file as valid.
  await assert.rejects(detectArchitecture(file), FormatError);
}

test('a complete tiny model passes, and detect describes it', async (t) => {
  const file = write(t, tinyLlamaGguf());
  const header = await preflightGguf(file);
  assert.equal(header.tensors.length, 12);
  assert.equal(await hasGgufMagic(file), true);
  const info = await detectArchitecture(file);
  assert.equal(info.numKeyValueHeads, 1);
});

test('hyperparameters llama.cpp asserts on', async (t) => {
  const u32 = (key: string, value: number) => ({ [key]: { key, type: T.u32, value } });
  const f32 = (key: string, value: number) => ({ [key]: { key, type: T.f32, value } });
  await rejects(
    t,
    tinyLlamaGguf(u32('llama.attention.head_count_kv', 0)),
    /head_count_kv" is 0; a key\/value head count must be at least 1/,
  );
  await rejects(t, tinyLlamaGguf(f32('llama.attention.layer_norm_rms_epsilon', NaN)), /layer_norm_rms_epsilon" is NaN/);
  await rejects(t, tinyLlamaGguf(f32('llama.attention.layer_norm_rms_epsilon', 0)), /must lie in \(0, 1\)/);
  await rejects(t, tinyLlamaGguf(f32('llama.rope.freq_base', Infinity)), /freq_base" is Infinity/);
  await rejects(
    t,
    tinyLlamaGguf(u32('llama.feed_forward_length', 0)),
    /ffn_gate.weight.*shape \[8, 16\] does not match the metadata, which implies \[8, 0\]/,
  );
  await rejects(
    t,
    tinyLlamaGguf(u32('llama.block_count', 1_000_000)),
    /block_count" is 1000000, more than the limit of 512 \(MAX_LAYERS\)/,
  );
  await rejects(t, tinyLlamaGguf(u32('llama.expert_used_count', 2)), /expert_used_count" is 2 but the model declares no experts/);
  await rejects(
    t,
    tinyLlamaGguf({ 'llama.rope.scaling.type': { key: 'llama.rope.scaling.type', type: T.str, value: 'warp' } }),
    /llama.cpp knows none, linear, yarn, longrope/,
  );
});

test('metadata that contradicts the tensors', async (t) => {
  const u32 = (key: string, value: number) => ({ [key]: { key, type: T.u32, value } });
  // 3 heads of an 8-wide model: no whole head size, and the tensors say 2 heads.
  await rejects(t, tinyLlamaGguf(u32('llama.attention.head_count', 3)), /is not a multiple of|does not match the metadata/);
  await rejects(t, tinyLlamaGguf(u32('llama.expert_count', 8)), /expert_used_count" is missing or 0, but the model has 8 experts/);
  const experts = { ...u32('llama.expert_count', 8), ...u32('llama.expert_used_count', 2) };
  await rejects(t, tinyLlamaGguf(experts), /expert_count" is 8, but the file has no expert tensors/);
  await rejects(t, tinyLlamaGguf(u32('llama.embedding_length', 16)), /does not match/);
  const extraLayer = [
    ...tinyLlamaTensors(),
    { name: 'blk.1.attn_norm.weight', dims: [8], typeId: GGML.F32, data: f32Bytes(new Array(8).fill(1)) },
  ];
  await rejects(t, tinyLlamaGguf({}, extraLayer), /belongs to layer 1, but .*block_count" is 1/);
});

test('vocabularies llama.cpp indexes without checking', async (t) => {
  const tokens = (items: string[]) => ({
    'tokenizer.ggml.tokens': { key: 'tokenizer.ggml.tokens', type: T.arr, value: { itemType: T.str, items } },
  });
  await rejects(t, tinyLlamaGguf(tokens(['<unk>', '<s>', '<s>', 'a'])), /lists "<s>" twice \(ids 1 and 2\)/);
  const scores = { 'tokenizer.ggml.scores': { key: 'tokenizer.ggml.scores', type: T.arr, value: { itemType: T.f32, items: [0, 0] } } };
  await rejects(t, tinyLlamaGguf(scores), /scores" has 2 entries for 4 tokens/);
  const bos = { 'tokenizer.ggml.bos_token_id': { key: 'tokenizer.ggml.bos_token_id', type: T.u32, value: 99 } };
  await rejects(t, tinyLlamaGguf(bos), /bos_token_id" is 99, not the id of one of the 4 tokens/);
  const nullId = { 'tokenizer.ggml.padding_token_id': { key: 'tokenizer.ggml.padding_token_id', type: T.u32, value: 0xffffffff } };
  await preflightGguf(write(t, tinyLlamaGguf(nullId)));
});

test("llama.cpp's layout rules: order, alignment, nothing after the last tensor", async (t) => {
  // general.alignment 1: the data section starts off a 32-byte boundary, which the CPU backend asserts on.
  const align1 = tinyLlamaGguf({ 'general.alignment': { key: 'general.alignment', type: T.u32, value: 1 } });
  await rejects(t, { ...align1, alignment: 1 }, /not on a 32-byte boundary/);
  // A table one tensor short: the last tensor's data is left over at the end.
  const fixture = tinyLlamaGguf();
  const bytes = buildGguf(fixture);
  const short = buildGguf({ ...fixture, tensorCount: fixture.tensors!.length - 1 });
  assert.equal(short.length, bytes.length);
  await rejects(t, tempFile(t, 'short.gguf', short), /belong to no tensor|runs past|not on a 32-byte boundary|offset/);
  // Tensors out of file order.
  const swapped = tinyLlamaTensors();
  [swapped[0], swapped[1]] = [swapped[1]!, swapped[0]!];
  const reordered = { ...fixture, tensors: swapped.map((x, i) => ({ ...x, offset: i === 0 ? 4096 : i === 1 ? 0 : undefined })) };
  await assert.rejects(preflightGguf(write(t, reordered)), FormatError);
  // Trailing garbage after the last tensor.
  const file = write(t, fixture);
  appendFileSync(file, Buffer.alloc(256, 7));
  await rejects(t, file, /256 bytes after the last tensor's data belong to no tensor/);
  const cut = write(t, fixture);
  truncateSync(cut, bytes.length - 8);
  await assert.rejects(preflightGguf(cut), FormatError);
});

test("'data' GGUFs (an importance matrix) are checked for structure only", async (t) => {
  const file = write(t, {
    kvs: [{ key: 'imatrix.chunk_count', type: T.u32, value: 3 }],
    tensors: [{ name: 'x.in_sum2', dims: [8], typeId: GGML.F32, data: f32Bytes(new Array(8).fill(1)) }],
  });
  await preflightGguf(file, { kind: 'data' });
  await assert.rejects(preflightGguf(file), /no general.architecture/);
  assert.equal(TINY_LLAMA.tokens.length, 4);
});
