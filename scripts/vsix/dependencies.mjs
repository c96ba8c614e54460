// The packages a set of run-time dependencies needs, found the way Node resolves them in the
// project's installed node_modules (nested copies included). Optional dependencies are kept when
// installed, except platform packages for other targets: of `@node-llama-cpp/*`, only the plain
// CPU build for the VSIX's target ships.
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';

/** Optional platform packages: `<scope>/<platform>-<arch>[-variant]`; only the target's plain build ships. */
const PLATFORM_PACKAGE = /^@node-llama-cpp\/(.+)$/;

function manifest(dir) {
  return JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8'));
}

/** Where `name` resolves from a package folder: its own node_modules, then each parent's. */
function resolvePackage(root, fromDir, name) {
  for (let dir = fromDir; ; dir = path.dirname(dir)) {
    const candidate = path.join(dir, 'node_modules', name);
    if (existsSync(path.join(candidate, 'package.json'))) return candidate;
    if (dir === root || path.dirname(dir) === dir) return null;
  }
}

function wanted(name, target) {
  const m = PLATFORM_PACKAGE.exec(name);
  return !m || m[1] === target;
}

/** Package folders relative to `root` (e.g. "node_modules/chalk"), sorted; throws on a missing required one. */
export function dependencyClosure(root, names, { target }) {
  const seen = new Set();
  const queue = names.map((name) => ({ name, from: root, optional: false }));
  while (queue.length) {
    const { name, from, optional } = queue.shift();
    if (!wanted(name, target)) continue;
    const dir = resolvePackage(root, from, name);
    if (!dir) {
      if (optional) continue;
      throw new Error(`${name} (needed by ${path.relative(root, from) || 'the extension'}) is not installed; run npm ci`);
    }
    const rel = path.relative(root, dir);
    if (seen.has(rel)) continue;
    seen.add(rel);
    const m = manifest(dir);
    for (const dep of Object.keys(m.dependencies ?? {})) queue.push({ name: dep, from: dir, optional: false });
    for (const dep of Object.keys(m.optionalDependencies ?? {})) queue.push({ name: dep, from: dir, optional: true });
  }
  return [...seen].sort();
}
