/**
 * Fixes applied to the bundled llama.cpp source before building. Each one is small, says why, and
 * is part of the cache key, so a cache built without it is rebuilt.
 */
import { createHash } from 'node:crypto';

export interface SourcePatch {
  name: string;
  why: string;
  /** A unified diff against the bundled release, applied with `git apply`. */
  diff: string;
}

export const SOURCE_PATCHES: readonly SourcePatch[] = [
  {
    name: 'flush-tool-logs',
    why:
      'llama-perplexity and llama-imatrix print through a log worker thread that is never joined, so on a busy ' +
      'machine the process often exits before the last lines (the final estimate, the KL divergence statistics) ' +
      'are written; flushing the log before returning from main makes their output complete',
    diff: `diff --git a/tools/imatrix/imatrix.cpp b/tools/imatrix/imatrix.cpp
index f5fee62..dbf829c 100644
--- a/tools/imatrix/imatrix.cpp
+++ b/tools/imatrix/imatrix.cpp
@@ -1189,5 +1189,8 @@ int main(int argc, char ** argv) {
 
     llama_backend_free();
 
+    // the log worker thread is never joined: flush it so the last lines (the results) reach the output
+    common_log_flush(common_log_main());
+
     return 0;
 }
diff --git a/tools/perplexity/perplexity.cpp b/tools/perplexity/perplexity.cpp
index ba41287..ed7ab83 100644
--- a/tools/perplexity/perplexity.cpp
+++ b/tools/perplexity/perplexity.cpp
@@ -2094,5 +2094,8 @@ int llama_perplexity(int argc, char ** argv) {
 
     llama_backend_free();
 
+    // the log worker thread is never joined: flush it so the last lines (the results) reach the output
+    common_log_flush(common_log_main());
+
     return 0;
 }
`,
  },
];

/** Short hash of the patch set, for the cache key and the source stamp. */
export function patchesHash(patches: readonly SourcePatch[] = SOURCE_PATCHES): string {
  const h = createHash('sha256');
  for (const p of patches) h.update(p.name).update('\0').update(p.diff).update('\0');
  return h.digest('hex').slice(0, 8);
}
