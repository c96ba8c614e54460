/** HF safetensors -> GGUF conversion. */
export { convertToGguf, type ConvertOptions, type ConvertResult } from './convert';
export { modelTensorsFromSafetensors, planTensors, type TensorPlan } from './tensor-map';
export { supportedModelTypes } from './arch-specs';
export { OUT_TYPES, isOutType, type OutType, type TensorRecipe } from './recipe';
