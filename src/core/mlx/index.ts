/** MLX output in TypeScript: the affine quantizer, the model writer, the reader and dequantizer. */
export {
  MLX_AFFINE_BITS,
  MLX_AFFINE_GROUP_SIZES,
  checkAffineParams,
  dequantizeAffine,
  decodeFloats,
  encodeFloats,
  isQuantizableShape,
  quantizeAffine,
  quantizedShapes,
  roundScalesAndBiases,
  type AffineParams,
  type AffineQuantized,
  type MlxFloatDtype,
} from './affine';
export { AffinePool, defaultQuantizeThreads } from './affine-pool';
export { MLX_QUANT_MODE, pythonJson, quantizationBlock, readQuantization } from './config';
export { dequantizeMlxModel, readFloatTensor, type DequantizeMlxOptions, type DequantizeMlxResult } from './dequantize';
export { MLX_SUPPORTED_MODEL_TYPES, isMlxSupportedModelType, mlxSourceTensors, type MlxSourceTensor } from './names';
export {
  PAJAMAS_MLX_EMBEDDING_BITS,
  PAJAMAS_MLX_ROUTER_BITS,
  mlxPolicyFromPlan,
  naiveMlxPolicy,
  pajamasMlxPolicy,
  parseMlxQuant,
  type MlxChoice,
  type MlxPolicy,
  type MlxQuant,
  type MlxWeightInfo,
} from './policy';
export {
  moduleQuantization,
  openMlxModel,
  quantizedWeight,
  readDequantizedWeight,
  readQuantizedRows,
  type MlxModel,
  type QuantizedWeight,
} from './reader';
export { MLX_INDEX_FILE, MLX_MAX_SHARD_BYTES } from './shards';
export { MLX_COPIED_FILES, writeMlxModel, type MlxWeightDecision, type MlxWriteResult, type WriteMlxOptions } from './writer';
