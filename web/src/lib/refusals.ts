// The server refuses an edit with a stable code (`tavolo_model::policy::RefusalCode`
// and the sync layer's quota); people read the catalogue's explanation,
// and the server's English text only for a code this build does not know.

import type { Message, MessageKey } from '../i18n';
import type { Refusal } from './types';

/** Every code the server sends in `tavolo/refused`, each with a `refusal.<code>` message. */
export const REFUSAL_CODES = [
  'read_only_document',
  'phase_locked',
  'not_yours',
  'malformed',
  'over_budget',
  'voting_closed',
  'reset_required',
  'quota_exceeded',
  'board_rewritten',
] as const;

const KNOWN: ReadonlySet<string> = new Set(REFUSAL_CODES);

export function refusalMessage(refusal: Pick<Refusal, 'code' | 'message'>): Message {
  return KNOWN.has(refusal.code)
    ? { key: `refusal.${refusal.code}` as MessageKey }
    : { key: 'refusal.unknown', params: { message: refusal.message } };
}
