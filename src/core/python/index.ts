/** The managed Python environment for mlx_lm (MLX inference on Apple Silicon). */
export { MIN_PYTHON, findPython, isSupportedPython, probePython, pythonCandidates, type PythonInfo } from './find';
export { mlxPlatformSupport, type MlxPlatformSupport } from './platform';
export {
  MLX_LM_REQUIREMENT,
  VENV_DIR_NAME,
  defaultPythonStorageDir,
  ensureMlxVenv,
  readMlxVenv,
  venvPython,
  type EnsureMlxVenvOptions,
  type MlxVenv,
  type MlxVenvRecord,
} from './venv';
