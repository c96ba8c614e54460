/**
 * A small Hugging Face Hub on 127.0.0.1 for tests: the endpoints @huggingface/hub and our
 * downloader call (model info, tree, paths-info, resolve) with the Hub's headers (X-Error-Code,
 * X-Linked-Size / X-Linked-Etag, a 302 to a CDN on another origin for LFS files, Range), plus
 * faults on demand: a connection cut mid-file, a corrupted byte, a server that ignores Range.
 * Every request is recorded (never the token itself).
 */
import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface FixtureRepo {
  repoId: string;
  commit: string;
  /** Repo path -> content. */
  files: Record<string, Buffer>;
  /** Branches and tags -> commit (default: main). */
  refs?: Record<string, string>;
}

export interface HubFaults {
  /** Serve only this many bytes of `path` before dropping the connection, `times` times. */
  cut?: { path: string; afterBytes: number; times: number };
  /** Flip one byte of `path` as it is served. */
  corrupt?: { path: string; offset: number };
  /** Answer Range requests with the whole file (200). */
  ignoreRange?: boolean;
  /** Stop sending `path` after this many bytes without closing the connection, `times` times. */
  stall?: { path: string; afterBytes: number; times: number };
}

export interface HubServerOptions {
  repos: FixtureRepo[];
  /** Every request must carry this token (else 401). */
  token?: string;
  /** Repos answered with 403 (gated, terms not accepted). */
  forbidden?: string[];
  /** Tree entries per page (the Hub paginates with a Link header). */
  pageSize?: number;
}

export interface RecordedRequest {
  origin: 'hub' | 'cdn';
  method: string;
  path: string;
  range: string | null;
  authorized: boolean;
}

export interface HubServer {
  url: string;
  cdnUrl: string;
  requests: RecordedRequest[];
  faults: HubFaults;
  /** Requests that moved file bytes (resolve or CDN GETs that were not the 1-byte probe). */
  fileTransfers(): RecordedRequest[];
  close(): Promise<void>;
}

interface ServedFile {
  path: string;
  content: Buffer;
  gitOid: string;
  lfs: { oid: string; size: number; pointerSize: number } | null;
}

/** Files larger than this, and every weight file, are LFS (as .gitattributes makes them on the Hub). */
const LFS_THRESHOLD = 1024;

export function gitBlobSha1(content: Buffer): string {
  return createHash('sha1').update(`blob ${content.length}\0`).update(content).digest('hex');
}

function describeFile(path: string, content: Buffer): ServedFile {
  const isLfs = content.length > LFS_THRESHOLD || /\.(safetensors|bin|gguf|pth|onnx)$/.test(path);
  if (!isLfs) return { path, content, gitOid: gitBlobSha1(content), lfs: null };
  const oid = createHash('sha256').update(content).digest('hex');
  const pointer = Buffer.from(`version https://git-lfs.github.com/spec/v1\noid sha256:${oid}\nsize ${content.length}\n`);
  return { path, content, gitOid: gitBlobSha1(pointer), lfs: { oid, size: content.length, pointerSize: pointer.length } };
}

export async function startHubServer(options: HubServerOptions): Promise<HubServer> {
  const repos = new Map(
    options.repos.map((r) => [r.repoId, { repo: r, files: new Map(Object.entries(r.files).map(([p, c]) => [p, describeFile(p, c)])) }]),
  );
  const blobs = new Map<string, ServedFile>();
  for (const { files } of repos.values()) for (const f of files.values()) if (f.lfs) blobs.set(f.lfs.oid, f);
  const requests: RecordedRequest[] = [];
  const faults: HubFaults = {};
  const cutsDone = new Map<string, number>();
  const stallsDone = new Map<string, number>();
  let hubUrl = '';
  let cdnUrl = '';

  const serveContent = (req: IncomingMessage, res: ServerResponse, file: ServedFile, headers: Record<string, string>) => {
    let body = file.content;
    if (faults.corrupt?.path === file.path) {
      body = Buffer.from(body);
      body[faults.corrupt.offset] = body[faults.corrupt.offset]! ^ 0xff;
    }
    const total = body.length;
    let start = 0;
    let end = total - 1;
    const range = /^bytes=(\d+)-(\d*)$/.exec(req.headers.range ?? '');
    let status = 200;
    // A server that ignores Range still answers the 1-byte probe (the Hub's resolve always does).
    if (range && (!faults.ignoreRange || req.headers.range === 'bytes=0-0')) {
      start = Number(range[1]);
      end = range[2] ? Math.min(Number(range[2]), total - 1) : total - 1;
      if (start >= total) {
        res.writeHead(416, { 'Content-Range': `bytes */${total}` }).end();
        return;
      }
      status = 206;
      headers['Content-Range'] = `bytes ${start}-${end}/${total}`;
    }
    const slice = body.subarray(start, end + 1);
    res.writeHead(status, {
      ...headers,
      'Accept-Ranges': 'bytes',
      'Content-Length': String(slice.length),
      'Content-Type': 'application/octet-stream',
    });
    if (req.method === 'HEAD') return void res.end();
    const cut = faults.cut;
    if (cut?.path === file.path && slice.length > 1 && (cutsDone.get(file.path) ?? 0) < cut.times) {
      cutsDone.set(file.path, (cutsDone.get(file.path) ?? 0) + 1);
      res.write(slice.subarray(0, Math.max(0, cut.afterBytes - start)), () => res.socket?.destroy());
      return;
    }
    const stall = faults.stall;
    if (stall?.path === file.path && slice.length > 1 && (stallsDone.get(file.path) ?? 0) < stall.times) {
      stallsDone.set(file.path, (stallsDone.get(file.path) ?? 0) + 1);
      res.write(slice.subarray(0, Math.max(0, stall.afterBytes - start))); // and then nothing
      return;
    }
    res.end(slice);
  };

  const hub = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const authorized = !!req.headers.authorization;
    requests.push({ origin: 'hub', method: req.method ?? 'GET', path: url.pathname, range: req.headers.range ?? null, authorized });
    if (options.token !== undefined && req.headers.authorization !== `Bearer ${options.token}`) {
      return error(
        res,
        401,
        req.headers.authorization ? 'Invalid credentials in Authorization header' : 'Access to this repo requires a token',
        'GatedRepo',
      );
    }
    if (url.pathname === '/api/models') {
      const query = (url.searchParams.get('search') ?? '').toLowerCase();
      const found = [...repos.keys()].filter((id) => id.toLowerCase().includes(query));
      return json(
        res,
        found.slice(0, Number(url.searchParams.get('limit') ?? 20)).map((id) => ({
          _id: `id-${id}`,
          id,
          private: false,
          gated: options.forbidden?.includes(id) ? 'manual' : false,
          downloads: 100,
          likes: 1,
          lastModified: '2025-01-01T00:00:00.000Z',
          pipeline_tag: 'text-generation',
          tags: ['safetensors', 'text-generation'],
        })),
      );
    }
    const api = /^\/api\/models\/([^/]+\/[^/]+)\/(revision|tree|paths-info)\/([^/]+)(?:\/(.*))?$/.exec(url.pathname);
    const resolve = /^\/([^/]+\/[^/]+)\/resolve\/([^/]+)\/(.+)$/.exec(url.pathname);
    const repoId = decodeURIComponent((api ?? resolve)?.[1] ?? '');
    const entry = repos.get(repoId);
    if (!api && !resolve) return error(res, 404, 'Not found', null);
    if (!entry) return error(res, 404, 'Repository not found', 'RepoNotFound');
    if (options.forbidden?.includes(repoId))
      return error(res, 403, `Access to model ${repoId} is restricted and you are not in the authorized list.`, 'GatedRepo');
    const revision = decodeURIComponent((api ? api[3] : resolve![2])!);
    const commit = /^[0-9a-f]{40}$/.test(revision) ? revision : (entry.repo.refs ?? { main: entry.repo.commit })[revision];
    if (commit !== entry.repo.commit) return error(res, 404, `Invalid rev id: ${revision}`, 'RevisionNotFound');
    if (resolve) {
      const file = entry.files.get(decodeURIComponent(resolve[3]!));
      if (!file) return error(res, 404, 'Entry not found', 'EntryNotFound');
      if (!file.lfs) return serveContent(req, res, file, { ETag: `"${file.gitOid}"`, 'X-Repo-Commit': commit });
      res
        .writeHead(302, {
          Location: `${cdnUrl}/blobs/${file.lfs.oid}`,
          'X-Linked-Size': String(file.lfs.size),
          'X-Linked-Etag': `"${file.lfs.oid}"`,
          ETag: `"${file.gitOid}"`,
          'X-Repo-Commit': commit,
        })
        .end();
      return;
    }
    const kind = api![2];
    if (kind === 'revision') {
      return json(res, {
        _id: `id-${repoId}`,
        id: repoId,
        sha: commit,
        private: false,
        gated: false,
        downloads: 0,
        likes: 0,
        lastModified: '2025-01-01T00:00:00.000Z',
      });
    }
    const all = [...entry.files.values()].map(treeEntry);
    if (kind === 'paths-info')
      return readBody(req).then((body) =>
        json(
          res,
          all.filter((e) => (JSON.parse(body) as { paths: string[] }).paths.includes(e.path)),
        ),
      );
    const prefix = api![4] ? `${decodeURIComponent(api![4])}/` : '';
    const listed = all.filter(
      (e) => e.path.startsWith(prefix) && (url.searchParams.get('recursive') === 'true' || !e.path.slice(prefix.length).includes('/')),
    );
    const cursor = Number(url.searchParams.get('cursor') ?? 0);
    const size = options.pageSize ?? 1000;
    const page = listed.slice(cursor, cursor + size);
    const headers: Record<string, string> = {};
    if (cursor + size < listed.length) {
      const next = new URL(`${hubUrl}${url.pathname}${url.search}`);
      next.searchParams.set('cursor', String(cursor + size));
      headers.Link = `<${next.href}>; rel="next"`;
    }
    return json(res, page, headers);
  });

  const cdn = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    requests.push({
      origin: 'cdn',
      method: req.method ?? 'GET',
      path: url.pathname,
      range: req.headers.range ?? null,
      authorized: !!req.headers.authorization,
    });
    const file = blobs.get(url.pathname.replace(/^\/blobs\//, ''));
    if (!file) return error(res, 404, 'NoSuchKey', null);
    serveContent(req, res, file, { ETag: `"cdn-${file.lfs!.oid.slice(0, 8)}"` });
  });

  hubUrl = `http://127.0.0.1:${await listen(hub)}`;
  cdnUrl = `http://127.0.0.1:${await listen(cdn)}`;
  return {
    url: hubUrl,
    cdnUrl,
    requests,
    faults,
    fileTransfers: () =>
      requests.filter(
        (r) =>
          (r.origin === 'cdn' || /\/resolve\//.test(r.path)) &&
          r.range !== 'bytes=0-0' &&
          r.method === 'GET' &&
          !(r.origin === 'hub' && isLfsResolve(r.path)),
      ),
    close: async () => {
      for (const s of [hub, cdn]) {
        s.closeAllConnections();
        await new Promise<void>((resolve) => s.close(() => resolve()));
      }
    },
  };

  function isLfsResolve(p: string): boolean {
    const m = /^\/([^/]+\/[^/]+)\/resolve\/[^/]+\/(.+)$/.exec(p);
    return !!m && !!repos.get(decodeURIComponent(m[1]!))?.files.get(decodeURIComponent(m[2]!))?.lfs;
  }
}

function treeEntry(f: ServedFile) {
  return { type: 'file', oid: f.gitOid, size: f.content.length, path: f.path, ...(f.lfs ? { lfs: f.lfs } : {}) };
}

function json(res: ServerResponse, value: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(200, { 'Content-Type': 'application/json', ...headers }).end(JSON.stringify(value));
}

function error(res: ServerResponse, status: number, message: string, code: string | null): void {
  res
    .writeHead(status, { 'Content-Type': 'application/json', ...(code ? { 'X-Error-Code': code } : {}) })
    .end(JSON.stringify({ error: message }));
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => (text += chunk));
    req.on('end', () => resolve(text));
    req.on('error', reject);
  });
}

function listen(server: Server): Promise<number> {
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port)));
}
