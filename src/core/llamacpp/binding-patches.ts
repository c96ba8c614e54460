/**
 * Changes made to node-llama-cpp's addon sources (node_modules/node-llama-cpp/llama/addon) when
 * Llama-Pajamas builds the binding itself. Each is an exact text substitution that must match
 * once, so a node-llama-cpp update that moves the code fails the build with a clear message
 * instead of building something else; the set is part of the binding's cache key.
 */
import { createHash } from 'node:crypto';
import { FailureError } from '../errors';

export interface BindingPatch {
  name: string;
  why: string;
  /** Path relative to node-llama-cpp's llama/ folder. */
  file: string;
  find: string;
  replace: string;
}

/** The environment variable the patched binding reads, once, when it loads. */
export const EVAL_ON_CALLING_THREAD_ENV = 'PAJAMAS_EVAL_ON_CALLING_THREAD';

export const BINDING_PATCHES: readonly BindingPatch[] = [
  {
    name: 'eval-on-calling-thread',
    why:
      "node-llama-cpp runs every llama_decode and every sampling step as a task on libuv's thread pool, so each " +
      'generated token costs four thread hand-offs; in the model host, a process that does nothing else, ' +
      `${EVAL_ON_CALLING_THREAD_ENV}=1 runs them on the calling thread instead (the promise is settled before it is returned)`,
    file: 'addon/AddonContext.cpp',
    find: `Napi::Value AddonContext::DecodeBatch(const Napi::CallbackInfo& info) {
    AddonContextDecodeBatchWorker* worker = new AddonContextDecodeBatchWorker(info.Env(), this);
    worker->Queue();
    return worker->GetPromise();
}
Napi::Value AddonContext::SampleToken(const Napi::CallbackInfo& info) {
    AddonContextSampleTokenWorker* worker = new AddonContextSampleTokenWorker(info, this);
    worker->Queue();
    return worker->GetPromise();
}`,
    replace: `// Llama-Pajamas: see src/core/llamacpp/binding-patches.ts ("eval-on-calling-thread").
static bool evalOnCallingThread() {
    static const bool enabled = [] {
        const char* value = std::getenv("${EVAL_ON_CALLING_THREAD_ENV}");
        return value != nullptr && std::string(value) == "1";
    }();
    return enabled;
}
template <typename Worker>
static Napi::Value runWorker(Worker* worker, const Napi::Env& env) {
    Napi::Promise promise = worker->GetPromise();
    if (evalOnCallingThread()) {
        worker->OnExecute(env);
        worker->OnWorkComplete(env, napi_ok); // settles the promise, then deletes the worker
    } else {
        worker->Queue();
    }
    return promise;
}
Napi::Value AddonContext::DecodeBatch(const Napi::CallbackInfo& info) {
    return runWorker(new AddonContextDecodeBatchWorker(info.Env(), this), info.Env());
}
Napi::Value AddonContext::SampleToken(const Napi::CallbackInfo& info) {
    return runWorker(new AddonContextSampleTokenWorker(info, this), info.Env());
}`,
  },
  {
    name: 'eval-on-calling-thread-includes',
    why: 'std::getenv and std::string for the patch above',
    file: 'addon/AddonContext.cpp',
    find: '#include <thread>\n',
    replace: '#include <thread>\n#include <cstdlib>\n#include <string>\n',
  },
];

/** Applies `patches` to the text of `file`; throws naming the patch when its text is not there exactly once. */
export function applyBindingPatches(file: string, text: string, patches: readonly BindingPatch[] = BINDING_PATCHES): string {
  let out = text;
  for (const p of patches.filter((x) => x.file === file)) {
    const first = out.indexOf(p.find);
    if (first < 0 || out.indexOf(p.find, first + 1) >= 0) {
      throw new FailureError(
        `binding patch "${p.name}" does not apply to ${file}: the text it changes is ${first < 0 ? 'missing' : 'there more than once'} ` +
          '(node-llama-cpp changed; update src/core/llamacpp/binding-patches.ts)',
      );
    }
    out = out.slice(0, first) + p.replace + out.slice(first + p.find.length);
  }
  return out;
}

/** Short hash of the patch set, part of the binding's cache key. */
export function bindingPatchesHash(patches: readonly BindingPatch[] = BINDING_PATCHES): string {
  const h = createHash('sha256');
  for (const p of patches)
    h.update(p.name).update('\0').update(p.file).update('\0').update(p.find).update('\0').update(p.replace).update('\0');
  return h.digest('hex').slice(0, 8);
}
