// What the privacy notice at join says about the two parties a person may
// need (GDPR art. 13): who holds their data and whom to ask. The session
// says it in its own words (`GET /api/join/{code}`); when it says nothing,
// or cannot be asked (no code yet, offline, an unknown code), the notice
// says it in general words instead of leaving a gap.

import type { MessageKey } from '../i18n';
import { normalizeJoinCode } from './links';
import type { JoinInfo } from './types';
import { JOIN_CODE_LENGTH } from './validation';

/** Where the join page is in asking about a code. */
export type JoinInfoState =
  | { status: 'none' }
  | { status: 'loading'; code: string }
  | { status: 'ready'; code: string; info: JoinInfo }
  | { status: 'failed'; code: string };

/** A line of the notice: the session's own words, or the catalogue's. */
export type NoticeLine = { text: string } | { key: MessageKey };

const FALLBACK: Record<'controller' | 'contact', MessageKey> = {
  controller: 'privacy.controller.fallback',
  contact: 'privacy.contact.fallback',
};

/** The notice's line for a party, from what is known about the session so far. */
export function partyLine(state: JoinInfoState, party: 'controller' | 'contact'): NoticeLine {
  if (state.status === 'loading') return { key: 'common.loading' };
  if (state.status === 'ready') {
    const words = state.info.privacy[party].trim();
    if (words) return { text: words };
  }
  return { key: FALLBACK[party] };
}

/** The code worth asking about: a whole one, as the server spells it; else null. */
export function askableCode(raw: string): string | null {
  const code = normalizeJoinCode(raw);
  return code.length === JOIN_CODE_LENGTH && /^[A-Z0-9]+$/.test(code) ? code : null;
}
