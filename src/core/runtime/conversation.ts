/**
 * The conversation a session keeps, shared by both backends: an optional system prompt, then the
 * turns. `chat()` input is checked here (roles, a user message last) so both backends reject the
 * same things with the same words; a busy flag keeps one reply at a time per session.
 */
import { UsageError } from '../errors';
import type { ChatMessage, ChatRole } from './types';

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
