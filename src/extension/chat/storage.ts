/**
 * The stored conversation's cap, and reading one back. A conversation is kept in workspace state
 * (VS Code writes that to disk as one JSON value), so it is capped by turns and by characters; the
 * oldest turns go first and the view says how many went.
 */
import type { ChatTurn, ReplyStats } from '../../protocol/chat';

export const MAX_STORED_TURNS = 200;
export const MAX_STORED_CHARS = 256_000;

/** The newest turns that fit both caps (the last turn always stays), and how many were dropped. */
export function capTurns(turns: ChatTurn[]): { turns: ChatTurn[]; dropped: number } {
  let chars = 0;
  let keep = 0;
  for (let i = turns.length - 1; i >= 0; i--) {
    chars += turns[i]!.text.length;
    if (keep > 0 && (keep >= MAX_STORED_TURNS || chars > MAX_STORED_CHARS)) break;
    keep++;
  }
  return { turns: turns.slice(turns.length - keep), dropped: turns.length - keep };
}

const STAT_FIELDS: (keyof ReplyStats)[] = ['tokens', 'ttftMs', 'tokensPerSecond', 'totalMs', 'contextSize', 'memoryBytes'];

function validStats(v: unknown): v is ChatTurn['stats'] {
  if (typeof v !== 'object' || v === null) return false;
  const s = v as Record<string, unknown>;
  return (
    [...STAT_FIELDS, 'worstStallMs'].every((k) => typeof s[k] === 'number') && (s.contextUsed === null || typeof s.contextUsed === 'number')
  );
}

/** Turns read back from storage: only known fields, a reply cut off by a reload marked as stopped. */
export function restoredTurns(turns: ChatTurn[]): ChatTurn[] {
  return turns.map((t) => {
    const turn: ChatTurn = { id: t.id, role: t.role, text: t.text };
    if (typeof t.model === 'string') turn.model = t.model;
    if (typeof t.error === 'string') turn.error = t.error;
    if (validStats(t.stats)) turn.stats = t.stats;
    if (t.role === 'assistant') turn.stopReason = t.pending ? 'cancelled' : (t.stopReason ?? 'eos');
    return turn;
  });
}
