// The wasm client refuses a dot with an English Error; people read the
// catalogue's words instead.

import type { Message } from '../i18n';

export function voteErrorMessage(error: unknown, budget: number): Message {
  const text = error instanceof Error ? error.message : String(error);
  if (/voting is closed/i.test(text)) return { key: 'vote.error.closed' };
  if (/no dots left/i.test(text)) {
    const m = /budget is (\d+)/i.exec(text);
    return { key: 'vote.error.noDots', params: { budget: m ? Number(m[1]) : budget } };
  }
  if (/locked/i.test(text)) return { key: 'board.phaseLocked' };
  if (/offline/i.test(text)) return { key: 'vote.error.offline' };
  return { key: 'vote.error.generic', params: { message: text } };
}

/** A clustering edit the client refused (the phase locked meanwhile, a title too long…). */
export function clusterErrorMessage(error: unknown): Message {
  const text = error instanceof Error ? error.message : String(error);
  if (/locked/i.test(text)) return { key: 'board.phaseLocked' };
  if (/title/i.test(text) && /long|at most/i.test(text)) return { key: 'cluster.error.titleTooLong' };
  return { key: 'cluster.error.generic', params: { message: text } };
}
