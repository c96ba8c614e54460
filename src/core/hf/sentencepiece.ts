/**
 * A reader for SentencePiece `tokenizer.model` files (a protobuf `ModelProto`), written against the
 * message layout in sentencepiece_model.proto: only the fields a GGUF vocabulary needs are decoded
 * (pieces with score and type, the trainer's model type and byte fallback, the normalizer's dummy
 * prefix and whitespace handling). Unknown fields are skipped, as protobuf readers must.
 */
import { promises as fsp } from 'node:fs';
import { FormatError } from '../errors';

/** Largest tokenizer.model accepted (real ones are 0.5-5 MB; Gemma's 256k vocab is ~4.5 MB). */
export const MAX_SENTENCEPIECE_BYTES = 64 << 20;
/** Most pieces accepted (the largest real vocabularies have ~260k). */
export const MAX_SENTENCEPIECE_PIECES = 4_000_000;

/** Piece types, numbered as in sentencepiece_model.proto (and as GGUF token types). */
export const PieceType = {
  normal: 1,
  unknown: 2,
  control: 3,
  userDefined: 4,
  unused: 5,
  byte: 6,
} as const;
export type PieceTypeValue = (typeof PieceType)[keyof typeof PieceType];

export interface SentencePiece {
  piece: string;
  score: number;
  type: PieceTypeValue;
}

export type SentencePieceModelType = 'unigram' | 'bpe' | 'word' | 'char';

export interface SentencePieceModel {
  pieces: SentencePiece[];
  modelType: SentencePieceModelType;
  byteFallback: boolean;
  /** NormalizerSpec.add_dummy_prefix (default true): a space is prepended to the input. */
  addDummyPrefix: boolean;
  /** NormalizerSpec.remove_extra_whitespaces (default true). */
  removeExtraWhitespaces: boolean;
  /** NormalizerSpec.name, e.g. "nmt_nfkc" or "identity". */
  normalizerName: string | null;
}

const MODEL_TYPES: Record<number, SentencePieceModelType> = { 1: 'unigram', 2: 'bpe', 3: 'word', 4: 'char' };

export async function readSentencePieceModel(path: string): Promise<SentencePieceModel> {
  const stat = await fsp.stat(path).catch(() => undefined);
  if (!stat?.isFile()) throw new FormatError('SentencePiece model not found', { path });
  if (stat.size > MAX_SENTENCEPIECE_BYTES) {
    throw new FormatError(
      `SentencePiece model is ${stat.size} bytes, more than the ${MAX_SENTENCEPIECE_BYTES} accepted; is this really a tokenizer.model?`,
      { path },
    );
  }
  return parseSentencePieceModel(await fsp.readFile(path), path);
}

export function parseSentencePieceModel(bytes: Uint8Array, path = 'tokenizer.model'): SentencePieceModel {
  const model: SentencePieceModel = {
    pieces: [],
    modelType: 'unigram',
    byteFallback: false,
    addDummyPrefix: true,
    removeExtraWhitespaces: true,
    normalizerName: null,
  };
  const r = new ProtoReader(bytes, path);
  while (!r.done()) {
    const { field, wire } = r.tag();
    if (field === 1 && wire === WIRE_LEN) {
      if (model.pieces.length >= MAX_SENTENCEPIECE_PIECES) r.fail(`more than ${MAX_SENTENCEPIECE_PIECES} pieces`);
      model.pieces.push(parsePiece(r.sub()));
    } else if (field === 2 && wire === WIRE_LEN) {
      parseTrainerSpec(r.sub(), model);
    } else if (field === 3 && wire === WIRE_LEN) {
      parseNormalizerSpec(r.sub(), model);
    } else {
      r.skip(wire);
    }
  }
  if (model.pieces.length === 0)
    throw new FormatError('SentencePiece model has no pieces; the file is not a tokenizer.model or is corrupt', { path });
  return model;
}

function parsePiece(r: ProtoReader): SentencePiece {
  let piece: string | null = null;
  let score = 0;
  let type: number = PieceType.normal;
  while (!r.done()) {
    const { field, wire } = r.tag();
    if (field === 1 && wire === WIRE_LEN) piece = r.string();
    else if (field === 2 && wire === WIRE_I32) score = r.float32();
    else if (field === 3 && wire === WIRE_VARINT) type = r.varint();
    else r.skip(wire);
  }
  if (piece === null) r.fail('a piece without text');
  if (type < PieceType.normal || type > PieceType.byte) r.fail(`piece "${piece}" has unknown type ${type}`);
  return { piece, score, type: type as PieceTypeValue };
}

function parseTrainerSpec(r: ProtoReader, model: SentencePieceModel): void {
  while (!r.done()) {
    const { field, wire } = r.tag();
    if (field === 3 && wire === WIRE_VARINT) {
      const t = r.varint();
      model.modelType = MODEL_TYPES[t] ?? r.fail(`unknown model type ${t}`);
    } else if (field === 35 && wire === WIRE_VARINT) {
      model.byteFallback = r.varint() !== 0;
    } else {
      r.skip(wire);
    }
  }
}

function parseNormalizerSpec(r: ProtoReader, model: SentencePieceModel): void {
  while (!r.done()) {
    const { field, wire } = r.tag();
    if (field === 1 && wire === WIRE_LEN) model.normalizerName = r.string();
    else if (field === 3 && wire === WIRE_VARINT) model.addDummyPrefix = r.varint() !== 0;
    else if (field === 4 && wire === WIRE_VARINT) model.removeExtraWhitespaces = r.varint() !== 0;
    else r.skip(wire);
  }
}

const WIRE_VARINT = 0;
const WIRE_I64 = 1;
const WIRE_LEN = 2;
const WIRE_I32 = 5;

/** The protobuf wire format, just enough of it: varints, length-delimited fields, fixed 32/64. */
class ProtoReader {
  private pos: number;
  private readonly view: DataView;

  constructor(
    private readonly bytes: Uint8Array,
    private readonly path: string,
    start = 0,
    private readonly end = bytes.length,
  ) {
    this.pos = start;
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  done(): boolean {
    return this.pos >= this.end;
  }

  fail(what: string): never {
    throw new FormatError(`not a valid SentencePiece model: ${what}`, { path: this.path, offset: this.pos });
  }

  tag(): { field: number; wire: number } {
    const key = this.varint();
    return { field: Math.floor(key / 8), wire: key & 7 };
  }

  varint(): number {
    let result = 0;
    let scale = 1;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.end) this.fail('a number runs past the end of its message');
      const b = this.bytes[this.pos++]!;
      result += (b & 0x7f) * scale;
      if ((b & 0x80) === 0) return result;
      scale *= 128;
    }
    return this.fail('a number longer than 10 bytes');
  }

  private length(): number {
    const n = this.varint();
    if (n > this.end - this.pos) this.fail(`a field of ${n} bytes runs past the end of its message`);
    return n;
  }

  sub(): ProtoReader {
    const n = this.length();
    const r = new ProtoReader(this.bytes, this.path, this.pos, this.pos + n);
    this.pos += n;
    return r;
  }

  string(): string {
    const n = this.length();
    const s = Buffer.from(this.bytes.buffer, this.bytes.byteOffset + this.pos, n).toString('utf8');
    this.pos += n;
    return s;
  }

  float32(): number {
    if (this.end - this.pos < 4) this.fail('a float runs past the end of its message');
    const v = this.view.getFloat32(this.pos, true);
    this.pos += 4;
    return v;
  }

  skip(wire: number): void {
    if (wire === WIRE_VARINT) this.varint();
    else if (wire === WIRE_LEN) {
      const n = this.length(); // read first: `this.pos += this.length()` would add to the old pos
      this.pos += n;
    } else if (wire === WIRE_I64 || wire === WIRE_I32) {
      const n = wire === WIRE_I64 ? 8 : 4;
      if (this.end - this.pos < n) this.fail('a fixed-size field runs past the end of its message');
      this.pos += n;
    } else this.fail(`unsupported wire type ${wire}`);
  }
}
