/**
 * The worker: a language server (vscode-languageserver over node IPC) that the extension starts as
 * dist/server.js. It hosts the pipeline's jobs (src/server/requests.ts) and serves model files:
 * hover on config.json, diagnostics on Llama-Pajamas manifest.json files. Heavy work happens here
 * or in the tools it starts, never in the extension host.
 */
import { ProposedFeatures, TextDocumentSyncKind, TextDocuments, createConnection } from 'vscode-languageserver/node';
import { TextDocument } from 'vscode-languageserver-textdocument';
import { packageVersion } from '../core/assets';
import { killRunningChildren } from '../core/llamacpp/process';
import { CancelJobNotification, JobProgressNotification, LogNotification } from '../protocol/worker';
import { ChatSessions, chatTextSender, registerChatRequests } from './chat';
import { ManifestDiagnostics } from './diagnostics';
import { ConfigHover } from './hover';
import { registerHubRequests } from './hub';
import { JobRegistry } from './jobs';
import { registerManifestEditorRequests } from './manifest-editor';
import { registerRequests } from './requests';

const connection = createConnection(ProposedFeatures.all);
const documents = new TextDocuments(TextDocument);
const jobs = new JobRegistry({
  progress: (jobId, progress) => void connection.sendNotification(JobProgressNotification, { jobId, progress }),
  log: (jobId, line, level) => void connection.sendNotification(LogNotification, { jobId, line, level }),
});
const hover = new ConfigHover(documents);
const diagnostics = new ManifestDiagnostics(connection, documents);
const chat = new ChatSessions(chatTextSender(connection));

connection.onInitialize(() => ({
  capabilities: {
    textDocumentSync: TextDocumentSyncKind.Incremental,
    hoverProvider: true,
  },
  serverInfo: { name: 'Llama-Pajamas worker', version: packageVersion() },
}));

connection.onHover(({ textDocument, position }) => hover.hover(textDocument.uri, position));
documents.onDidOpen(({ document }) => diagnostics.schedule(document, 0));
documents.onDidChangeContent(({ document }) => diagnostics.changed(document));
documents.onDidClose(({ document }) => diagnostics.closed(document.uri));
connection.onDidChangeWatchedFiles(() => diagnostics.recheckAll());
connection.onNotification(CancelJobNotification, ({ jobId }) => {
  if (!chat.cancel(jobId)) jobs.cancel(jobId);
});
registerRequests({ connection, jobs, diagnostics, version: packageVersion() });
registerManifestEditorRequests(connection, diagnostics);
registerChatRequests(connection, jobs, chat);
registerHubRequests(connection, jobs);

// However the worker ends, no llama.cpp tool or model host it started outlives it.
process.on('exit', killRunningChildren);

// The client asks for shutdown before it stops us: stop every job so its tools and temporaries go.
connection.onShutdown(async () => {
  jobs.cancelAll();
  await chat.close();
});

documents.listen(connection);
connection.listen();
