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
  return env;
}
