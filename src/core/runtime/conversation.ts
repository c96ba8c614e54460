/**
 * The conversation a session keeps, shared by both backends: an optional system prompt, then the
 * turns. `chat()` input is checked here (roles, a user message last) so both backends reject the
 * same things with the same words; a busy flag keeps one reply at a time per session.
 */
import { UsageError } from '../errors';
import type { ChatMessage, ChatRole, GenerateOptions, GenerateResult, RuntimeSession, SessionInfo } from './types';

const ROLES: readonly ChatRole[] = ['system', 'user', 'assistant'];

/** A string is one user message; a list must end with a user message; "system" only comes first. */
export function normalizeMessages(input: string | readonly ChatMessage[]): ChatMessage[] {
  const messages =
    typeof input === 'string' ? [{ role: 'user' as const, content: input }] : input.map((m) => ({ role: m.role, content: m.content }));
  if (!messages.length) throw new UsageError('chat() needs at least one message');
  messages.forEach((m, i) => {
    if (!ROLES.includes(m.role)) throw new UsageError(`message ${i} has role "${String(m.role)}"; use system, user or assistant`);
    if (typeof m.content !== 'string') throw new UsageError(`message ${i} has no text content`);
    if (m.role === 'system' && i > 0) throw new UsageError(`message ${i} is a system message; only the first message may be one`);
  });
  if (messages[messages.length - 1]!.role !== 'user') throw new UsageError('the last message must be a user message: the model answers it');
  return messages;
}

export class Conversation {
  private turns: ChatMessage[] = [];
  private busy = false;

  constructor(private systemPrompt: string | null = null) {}

  /** System prompt (when set) and turns. */
  messages(): ChatMessage[] {
    const system: ChatMessage[] = this.systemPrompt !== null ? [{ role: 'system', content: this.systemPrompt }] : [];
    return [...system, ...this.turns.map((m) => ({ ...m }))];
  }

  get system(): string | null {
    return this.systemPrompt;
  }

  /** Adds checked input; a leading system message replaces the system prompt. Returns the new user message. */
  add(input: string | readonly ChatMessage[]): ChatMessage {
    const messages = normalizeMessages(input);
    if (messages[0]!.role === 'system') this.systemPrompt = messages.shift()!.content;
    this.turns.push(...messages);
    return messages[messages.length - 1]!;
  }

  /** The state to go back to when a turn fails (see restore). */
  snapshot(): { systemPrompt: string | null; turns: number } {
    return { systemPrompt: this.systemPrompt, turns: this.turns.length };
  }

  /** Undoes everything added since `snapshot()` (a reply failed before producing anything). */
  restore(snapshot: { systemPrompt: string | null; turns: number }): void {
    this.systemPrompt = snapshot.systemPrompt;
    this.turns.length = Math.min(this.turns.length, snapshot.turns);
  }

  addReply(text: string): void {
    this.turns.push({ role: 'assistant', content: text });
  }

  reset(): void {
    this.turns = [];
  }

  /** Runs `fn` as the only generation in progress; a second concurrent call is a usage error. */
  async exclusive<T>(fn: () => Promise<T>): Promise<T> {
    if (this.busy) throw new UsageError('the session is still generating a reply; wait for it or cancel it first');
    this.busy = true;
    try {
      return await fn();
    } finally {
      this.busy = false;
    }
  }
}

/** A model that answers a whole conversation (or completes raw text) without keeping any of it. */
export interface StatelessModel {
  chat(messages: ChatMessage[], opts: GenerateOptions): Promise<GenerateResult>;
  complete(prompt: string, opts: GenerateOptions): Promise<GenerateResult>;
  /** Frees the model (stops its process); called once. */
  close(): Promise<void>;
}

/**
 * A RuntimeSession over a stateless model: the conversation lives here and every turn sends it
 * whole (the model's KV cache keeps the common prefix). A failed turn leaves the conversation as
 * it was; a cancelled one keeps the partial reply.
 */
export function conversationSession(info: SessionInfo, systemPrompt: string | undefined, model: StatelessModel): RuntimeSession {
  const conversation = new Conversation(systemPrompt ?? null);
  let closed: Promise<void> | null = null;
  const ensureOpen = () => {
    if (closed) throw new UsageError('the session is closed; open a new one');
  };
  return {
    info,
    chat: (messages: string | ChatMessage[], gen: GenerateOptions = {}) =>
      conversation.exclusive(async () => {
        ensureOpen();
        const before = conversation.snapshot();
        conversation.add(messages);
        let result: GenerateResult;
        try {
          result = await model.chat(conversation.messages(), gen);
        } catch (error) {
          conversation.restore(before);
          throw error;
        }
        conversation.addReply(result.text);
        return result;
      }),
    complete: (prompt: string, gen: GenerateOptions = {}) =>
      conversation.exclusive(async () => {
        ensureOpen();
        return model.complete(prompt, gen);
      }),
    history: () => conversation.messages(),
    reset: async () => {
      ensureOpen();
      conversation.reset();
    },
    close: () => (closed ??= model.close()),
  };
}
