/**
 * The chat's state and its traffic with the worker. The host keeps the conversation (and stores it,
 * capped, in workspace state after every turn, so it survives hiding the view and reloading the
 * window); the worker keeps at most one loaded model. Picking a model runs the runtime's memory-fit
 * check first: one that does not fit is not loaded, and the view says why and offers one that fits.
 * A reply streams from the worker as batched text; Stop cancels it and keeps what came.
 */
import type * as vscode from 'vscode';
import {
  type ChatFitResult,
  type ChatMessage,
  type ChatModelOption,
  type ChatSettings,
  type ChatTurn,
  type ChatViewState,
  type SessionView,
  ChatFitRequest,
  ChatGenerateRequest,
  ChatLoadRequest,
  ChatUnloadRequest,
  DEFAULT_CHAT_SETTINGS,
} from '../../protocol/chat';
import type { Ctx } from '../ctx';
import { logError } from '../errors';
import type { ModelIndex } from '../tree/model-index';
import { adHocOption, chatModelOptions } from './models';
import { capTurns, restoredTurns } from './storage';
import { StallMonitor } from './stall';

export interface ChatEvents {
  /** The whole state changed (the view re-renders). */
  state(state: ChatViewState): void;
  /** More text of the streaming reply `turnId`, which now starts at `at`. */
  text(turnId: string, at: number, text: string): void;
}

/** What the in-host tests read after each reply. */
export interface ChatFigures {
  /** Worst event-loop stall of the extension host while any reply streamed, in ms. */
  worstStallMs: number;
  /** Streaming time those stalls were measured over, in ms (a reference window of the same length compares). */
  streamedMs: number;
  /** The longest the host spent on one piece of streamed text (taking it and posting it to the view), in ms. */
  longestTextMs: number;
  /** The last load's memory figures (RSS of the worker and its children). */
  lastLoad: { key: string; beforeBytes: number; afterCloseBytes: number; loadedBytes: number; loadMs: number } | null;
}

export class ChatController implements vscode.Disposable {
  private models: ChatModelOption[] = [];
  private modelsNote: string | null = null;
  private selected: string | null;
  private session: SessionView = { state: 'none' };
  private loaded: { key: string; sessionId: number } | null = null;
  private turns: ChatTurn[];
  private settings: ChatSettings;
  private droppedTurns: number;
  private reply: { jobId: string; turn: ChatTurn } | null = null;
  private ggufBackend = 'node-llama-cpp';
  private turnCounter = 0;
  private readonly stall = new StallMonitor();
  readonly figures: ChatFigures = { worstStallMs: 0, streamedMs: 0, longestTextMs: 0, lastLoad: null };
  private readonly disposables: vscode.Disposable[] = [];
  private readonly replyListeners: ((turn: ChatTurn) => void)[] = [];

  constructor(
    private readonly ctx: Ctx,
    private readonly index: ModelIndex,
    private readonly events: ChatEvents,
  ) {
    const stored = ctx.state.chat();
    this.selected = stored.selected;
    this.turns = restoredTurns(stored.turns);
    this.settings = stored.settings ?? DEFAULT_CHAT_SETTINGS;
    this.droppedTurns = stored.droppedTurns;
    if (this.selected) this.session = { state: 'idle', key: this.selected };
    this.refreshModels();
    this.disposables.push(
      index.onDidChange(() => {
        this.refreshModels();
        this.emit();
      }),
      ctx.worker.onChatText(({ jobId, text }) => this.onText(jobId, text)),
      ctx.worker.onDidRestart(() => this.forgetSession('the worker restarted; the model loads again with the next message')),
    );
  }

  get state(): ChatViewState {
    return {
      models: this.models,
      modelsNote: this.modelsNote,
      session: this.session,
      turns: this.turns,
      settings: this.settings,
      droppedTurns: this.droppedTurns,
      busy: this.reply !== null || this.session.state === 'checking' || this.session.state === 'loading',
    };
  }

  /** Resolves with the next finished reply (tests). */
  nextReply(): Promise<ChatTurn> {
    return new Promise((resolve) => this.replyListeners.push(resolve));
  }

  dispose(): void {
    for (const d of this.disposables) d.dispose();
    this.stall.dispose();
  }

  /** Picks a model and loads it (after the memory-fit check). */
  async select(key: string, force = false): Promise<boolean> {
    if (this.reply) this.stop();
    if (!this.option(key)) {
      // Not listed (yet): a manifest just written, or one outside the workspace folders.
      await this.index.refresh();
      this.refreshModels();
      if (!this.option(key)) this.models = [...this.models, adHocOption(key, this.ggufBackend)];
    }
    this.selected = key;
    void this.save();
    return this.ensureLoaded(force);
  }

  async loadAnyway(): Promise<void> {
    if (this.selected) await this.select(this.selected, true);
  }

  async send(text: string): Promise<void> {
    if (this.state.busy) return;
    this.turns.push({ id: this.newTurnId(), role: 'user', text });
    this.emit();
    void this.save();
    await this.answer();
  }

  /** Drops the last reply and answers the last user message again. */
  async regenerate(): Promise<void> {
    if (this.state.busy) return;
    while (this.turns.length && this.turns[this.turns.length - 1]!.role === 'assistant') this.turns.pop();
    if (!this.turns.length) return;
    await this.answer();
  }

  newChat(): void {
    if (this.reply) this.stop();
    this.turns = [];
    this.droppedTurns = 0;
    this.emit();
    void this.save();
  }

  stop(): void {
    if (this.reply) this.ctx.worker.cancelJob(this.reply.jobId);
  }

  setSettings(settings: ChatSettings): void {
    this.settings = settings;
    void this.save();
  }

  /** Frees the model in the worker (the view was closed for good, or the extension stops). */
  async unload(): Promise<void> {
    if (!this.loaded) return;
    const sessionId = this.loaded.sessionId;
    this.forgetSession(null);
    await this.ctx.worker.request(ChatUnloadRequest, { sessionId }, 'unloading the chat model').catch(() => undefined);
  }

  private refreshModels(): void {
    const s = this.index.current;
    if (s.kind === 'loaded') {
      this.models = chatModelOptions(s.listing, this.ggufBackend);
      this.modelsNote = this.models.length ? null : 'No artifacts or .gguf files in the workspace yet: quantize a model first.';
    } else if (s.kind === 'failed') this.modelsNote = `Could not list models: ${s.message}`;
    else {
      this.modelsNote = 'Listing models…';
      void this.index.ensure();
    }
  }

  private option(key: string): ChatModelOption | undefined {
    return this.models.find((m) => m.key === key);
  }

  /** True once the selected model is loaded; false when it does not fit (and not forced) or failed. */
  private async ensureLoaded(force = false): Promise<boolean> {
    const key = this.selected;
    if (!key) return false;
    if (this.loaded?.key === key) return true;
    const option = this.option(key);
    if (!option) {
      this.setSession({ state: 'error', key, message: 'This model is not in the workspace any more; pick another one.' });
      return false;
    }
    if (option.unavailable) {
      this.setSession({ state: 'error', key, message: `${option.label} cannot run here: ${option.unavailable}.` });
      return false;
    }
    try {
      if (!force) {
        this.setSession({ state: 'checking', key });
        const fit = await this.ctx.worker.request(ChatFitRequest, option.target, 'checking the memory fit');
        if (this.selected !== key) return false;
        if (!fit.fits) {
          this.setSession({ state: 'noFit', key, fit, alternativeKey: this.alternativeKey(option, fit) });
          return false;
        }
      }
      await this.load(option);
      return this.loaded?.key === key;
    } catch (error) {
      const e = logError(this.ctx, `Chat: loading ${option.label}`, error);
      if (this.selected === key)
        this.setSession(e.code === 'cancelled' ? { state: 'idle', key } : { state: 'error', key, message: e.message });
      return false;
    }
  }

  private alternativeKey(option: ChatModelOption, fit: ChatFitResult): string | null {
    if (!fit.alternative) return null;
    const key = `${option.target.input}#${fit.alternative.artifactId}`;
    return this.option(key) ? key : null;
  }

  private async load(option: ChatModelOption): Promise<void> {
    this.setSession({ state: 'loading', key: option.key });
    this.loaded = null;
    const { result } = this.ctx.jobs.start({
      kind: 'chat-load',
      title: `Loading ${option.label} for the chat`,
      send: (jobId) => this.ctx.worker.request(ChatLoadRequest, { jobId, ...option.target }, `loading ${option.label}`),
    });
    const r = await result;
    const backend = r.info.backend === 'gguf' ? `node-llama-cpp (${r.info.device})` : 'mlx_lm';
    if (r.info.backend === 'gguf' && backend !== this.ggufBackend) {
      this.ggufBackend = backend;
      this.refreshModels();
    }
    this.loaded = { key: option.key, sessionId: r.sessionId };
    this.figures.lastLoad = { key: option.key, ...r.memory, loadMs: r.loadMs };
    this.ctx.output.log(
      `Chat: loaded ${option.label} in ${(r.loadMs / 1000).toFixed(1)} s (${backend}); worker RSS ${mib(r.memory.beforeBytes)} before, ` +
        `${mib(r.memory.afterCloseBytes)} after closing the previous model, ${mib(r.memory.loadedBytes)} loaded`,
    );
    if (this.selected === option.key)
      this.setSession({ state: 'ready', key: option.key, info: r.info, memoryBytes: r.memory.loadedBytes, backend });
  }

  /** The conversation as the model gets it: the system prompt first, then the turns (errors left out). */
  private messages(): ChatMessage[] {
    const out: ChatMessage[] = this.settings.systemPrompt.trim() ? [{ role: 'system', content: this.settings.systemPrompt }] : [];
    for (const t of this.turns) if (!t.error && !t.pending) out.push({ role: t.role, content: t.text });
    return out;
  }

  private async answer(): Promise<void> {
    if (!(await this.ensureLoaded())) return; // the session state says why
    const loaded = this.loaded!;
    const option = this.option(loaded.key);
    const turn: ChatTurn = { id: this.newTurnId(), role: 'assistant', text: '', model: option?.label ?? loaded.key, pending: true };
    const messages = this.messages();
    const jobId = this.ctx.worker.newJobId('chat');
    this.reply = { jobId, turn };
    this.turns.push(turn);
    this.emit();
    this.stall.start();
    try {
      const { temperature, topP, maxTokens } = this.settings;
      const r = await this.ctx.worker.request(
        ChatGenerateRequest,
        { jobId, sessionId: loaded.sessionId, messages, generation: { temperature, topP, maxTokens } },
        'generating a reply',
      );
      turn.text = r.text;
      turn.stopReason = r.stopReason;
      turn.stats = { ...r.stats, worstStallMs: this.stall.stop() };
      if (this.session.state === 'ready') this.session = { ...this.session, memoryBytes: r.stats.memoryBytes };
    } catch (error) {
      turn.error = logError(this.ctx, 'Chat', error).message;
      this.stall.stop();
      if (/no longer loaded/.test(turn.error)) this.forgetSession(null);
    } finally {
      this.figures.worstStallMs = Math.max(this.figures.worstStallMs, turn.stats?.worstStallMs ?? 0);
      this.figures.streamedMs += turn.stats?.totalMs ?? 0;
      turn.pending = false;
      this.reply = null;
      this.emit();
      void this.save();
      for (const l of this.replyListeners.splice(0)) l(turn);
    }
  }

  private onText(jobId: string, text: string): void {
    if (this.reply?.jobId !== jobId) return;
    const started = performance.now();
    const turn = this.reply.turn;
    const at = turn.text.length;
    turn.text += text;
    this.events.text(turn.id, at, text);
    this.figures.longestTextMs = Math.max(this.figures.longestTextMs, performance.now() - started);
  }

  /** The worker holds no model for us any more (`why` goes to the log). */
  private forgetSession(why: string | null): void {
    this.loaded = null;
    this.setSession(this.selected ? { state: 'idle', key: this.selected } : { state: 'none' });
    if (why) this.ctx.output.log(`Chat: ${why}`);
  }

  private setSession(session: SessionView): void {
    this.session = session;
    this.emit();
  }

  private emit(): void {
    this.events.state(this.state);
  }

  private newTurnId(): string {
    return `${Date.now().toString(36)}-${++this.turnCounter}`;
  }

  private async save(): Promise<void> {
    const { turns, dropped } = capTurns(this.turns);
    this.turns = turns;
    this.droppedTurns += dropped;
    await this.ctx.state.setChat({ selected: this.selected, turns: this.turns, settings: this.settings, droppedTurns: this.droppedTurns });
  }
}

const mib = (bytes: number) => `${(bytes / 2 ** 20).toFixed(1)} MiB`;
