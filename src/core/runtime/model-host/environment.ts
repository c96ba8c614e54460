import { EVAL_ON_CALLING_THREAD_ENV } from '../../llamacpp/binding-patches';

/**
 * The model host's environment. Native libraries read these once, when they load, so they are set
 * when the process starts rather than from inside it. The user's own values always win.
 */

/**
 * libuv pool threads. node-llama-cpp runs every llama_decode and every sampling step as a task on
 * libuv's pool; each task that lands on a different pool thread wakes another thread, and with
 * llama.cpp's own threads that is more runnable threads than cores. Measured (issue 14 note).
 */
export const HOST_UV_THREADPOOL_SIZE = 1;

export function modelHostEnvironment(parent: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...parent };
  env.UV_THREADPOOL_SIZE ??= String(HOST_UV_THREADPOOL_SIZE);
  // The binding built here evaluates on the host's own thread (llamacpp/binding-patches.ts): the
  // host does nothing else, and each token then costs no thread hand-off. The prebuilt ignores it.
  env[EVAL_ON_CALLING_THREAD_ENV] ??= '1';
  return env;
}

/**
 * Node.js options for the host process only (the parent's own, such as tsx's loader, are not
 * passed on). For profiling and debugging: PAJAMAS_MODEL_HOST_NODE_OPTIONS="--cpu-prof --cpu-prof-dir=/tmp/p".
 */
export function modelHostExecArgv(parent: NodeJS.ProcessEnv): string[] {
  return parent.PAJAMAS_MODEL_HOST_NODE_OPTIONS?.split(/\s+/).filter(Boolean) ?? [];
}
