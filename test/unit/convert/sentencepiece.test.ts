import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FormatError } from '../../../src/core/errors';
import { MAX_SENTENCEPIECE_PIECES, PieceType, parseSentencePieceModel, readSentencePieceModel } from '../../../src/core/hf/sentencepiece';
import { sharedAsset } from '../../helpers/env';
import { buildSentencePieceModel, llamaStylePieces } from '../../fixtures/models/sentencepiece-builder';

test('reads pieces, scores, types and the normalizer/trainer flags of a tokenizer.model', () => {
  const bytes = buildSentencePieceModel({
    pieces: llamaStylePieces(['▁the', 'é', '🦙']),
    modelType: 2,
    byteFallback: true,
    addDummyPrefix: false,
  });
  const m = parseSentencePieceModel(bytes);
  assert.equal(m.pieces.length, 3 + 256 + 3);
  assert.deepEqual(m.pieces[0], { piece: '<unk>', score: 0, type: PieceType.unknown });
  assert.deepEqual(m.pieces[1], { piece: '<s>', score: 0, type: PieceType.control });
  assert.deepEqual(m.pieces[3 + 0x41], { piece: '<0x41>', score: 0, type: PieceType.byte });
  assert.deepEqual(m.pieces.slice(-3), [
    { piece: '▁the', score: 0, type: PieceType.normal },
    { piece: 'é', score: -1, type: PieceType.normal },
    { piece: '🦙', score: -2, type: PieceType.normal },
  ]);
  assert.equal(m.modelType, 'bpe');
  assert.equal(m.byteFallback, true);
  assert.equal(m.addDummyPrefix, false);
  assert.equal(m.normalizerName, 'identity');
});

test('the real stories260K tokenizer.model parses (512 pieces, byte fallback)', async (t) => {
  const p = sharedAsset(t, 'models/stories260K-hf/tokenizer.model');
  if (!p) return;
  const m = await readSentencePieceModel(p);
  assert.equal(m.pieces.length, 512);
  assert.equal(m.pieces.filter((x) => x.type === PieceType.byte).length, 256);
  assert.equal(m.modelType, 'bpe');
});

test('rejects truncated and malformed protobuf with a FormatError naming the file', () => {
  const bytes = buildSentencePieceModel({ pieces: llamaStylePieces(['▁a']) });
  for (const cut of [1, 7, bytes.length - 3]) {
    assert.throws(
      () => parseSentencePieceModel(bytes.subarray(0, cut), 'x/tokenizer.model'),
      (e: unknown) => e instanceof FormatError && /x\/tokenizer\.model/.test(e.message),
    );
  }
  // A field with wire type 3 (deprecated groups) is not valid here.
  assert.throws(() => parseSentencePieceModel(Buffer.from([0x0b, 0x00])), FormatError);
  // An unknown piece type.
  const badType = buildSentencePieceModel({ pieces: [{ piece: 'a', type: 9 }] });
  assert.throws(() => parseSentencePieceModel(badType), /unknown type 9/);
  // No pieces at all (e.g. an empty file).
  assert.throws(() => parseSentencePieceModel(Buffer.alloc(0)), /no pieces/);
  assert.ok(MAX_SENTENCEPIECE_PIECES >= 1_000_000);
});

test('skips unknown fields of every wire type', () => {
  const base = buildSentencePieceModel({ pieces: [{ piece: 'a' }] });
  // field 99 varint, field 98 fixed64, field 97 length-delimited, field 96 fixed32
  const extra = Buffer.from([0x98, 0x06, 0x05, 0x91, 0x06, 1, 2, 3, 4, 5, 6, 7, 8, 0x8a, 0x06, 0x02, 0xaa, 0xbb, 0x85, 0x06, 1, 2, 3, 4]);
  const m = parseSentencePieceModel(Buffer.concat([extra, base]));
  assert.deepEqual(
    m.pieces.map((p) => p.piece),
    ['a'],
  );
});
