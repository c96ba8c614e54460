/**
 * Starts the worker the way the extension does (dist/server.js over node IPC) and talks to it with
 * the same protocol constants, without VS Code: initialize, custom requests, notifications, and
 * the language features (hover, diagnostics). Built by `node esbuild.mjs` first.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import {
  type Diagnostic,
  DidOpenTextDocumentNotification,
  ExitNotification,
  HoverRequest,
  InitializeRequest,
  InitializedNotification,
  IPCMessageReader,
  IPCMessageWriter,
  type ProtocolConnection,
  PublishDiagnosticsNotification,
  ShutdownRequest,
  createProtocolConnection,
} from 'vscode-languageserver-protocol/node';
import { JobProgressNotification, type JobProgressParams, LogNotification } from '../../../src/protocol/worker';
import { projectRoot } from '../../helpers/env';

export const SERVER_BUNDLE = path.join(projectRoot, 'dist', 'server.js');

export interface WorkerHandle {
  connection: ProtocolConnection;
  child: ChildProcess;
  progress: JobProgressParams[];
  logs: string[];
  diagnostics: Map<string, Diagnostic[]>;
  /** Resolves with the next diagnostics published for `uri`. */
  nextDiagnostics(uri: string): Promise<Diagnostic[]>;
  stop(): Promise<void>;
}

export async function startWorker(env: Record<string, string> = {}): Promise<WorkerHandle> {
  if (!existsSync(SERVER_BUNDLE)) throw new Error(`${SERVER_BUNDLE} is missing: run "node esbuild.mjs" first`);
  const child = fork(SERVER_BUNDLE, ['--node-ipc'], { stdio: ['ignore', 'ignore', 'pipe', 'ipc'], env: { ...process.env, ...env } });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => {
    stderr = (stderr + d.toString()).slice(-4000);
  });
  const exited = new Promise<never>((_, reject) =>
    child.on('exit', (code, signal) => reject(new Error(`the worker exited (${signal ?? `code ${code}`}):\n${stderr}`))),
  );
  exited.catch(() => undefined);
  const connection = createProtocolConnection(new IPCMessageReader(child), new IPCMessageWriter(child));
  const handle: WorkerHandle = {
    connection,
    child,
    progress: [],
    logs: [],
    diagnostics: new Map(),
    nextDiagnostics: (uri) =>
      new Promise((resolve) => {
        const sub = connection.onNotification(PublishDiagnosticsNotification.type, (p) => {
          if (p.uri !== uri) return;
          sub.dispose();
          resolve(p.diagnostics);
        });
      }),
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) {
        await connection.sendRequest(ShutdownRequest.type).catch(() => undefined);
        await connection.sendNotification(ExitNotification.type).catch(() => undefined);
        await new Promise((r) => setTimeout(r, 200));
        child.kill('SIGKILL');
      }
      connection.dispose();
    },
  };
  connection.onNotification(JobProgressNotification, (p) => {
    handle.progress.push(p);
  });
  connection.onNotification(LogNotification, (p) => {
    handle.logs.push(p.line);
  });
  connection.onNotification(PublishDiagnosticsNotification.type, (p) => {
    handle.diagnostics.set(p.uri, p.diagnostics);
  });
  connection.listen();
  await Promise.race([connection.sendRequest(InitializeRequest.type, { processId: process.pid, rootUri: null, capabilities: {} }), exited]);
  await connection.sendNotification(InitializedNotification.type, {});
  return handle;
}

export function openDocument(w: WorkerHandle, uri: string, text: string): Promise<void> {
  return w.connection.sendNotification(DidOpenTextDocumentNotification.type, {
    textDocument: { uri, languageId: 'json', version: 1, text },
  });
}

export function hover(w: WorkerHandle, uri: string, line: number, character: number) {
  return w.connection.sendRequest(HoverRequest.type, { textDocument: { uri }, position: { line, character } });
}
