// What the facilitator's and the projector's pages share: the key carried
// in the link's fragment, and the words for a refused grant.

import type { Message } from '../i18n';
import { ApiError, NetworkError } from './api';

/** The facilitator key in the address's fragment (`#<key>`), if any. */
export function keyFromFragment(): string | null {
  try {
    return decodeURIComponent(location.hash.replace(/^#/, '')).trim() || null;
  } catch {
    return null;
  }
}

/** Reads the key and removes it from the address bar (a projected screen must not show it). */
export function takeKeyFromFragment(): string | null {
  const key = keyFromFragment();
  if (location.hash) history.replaceState(history.state, '', location.pathname + location.search);
  return key;
}

/** Why a facilitator or projector ticket was not granted, in the person's words. */
export function grantError(err: unknown): Message {
  if (err instanceof ApiError && err.status === 403) return { key: 'facilitator.error.wrongKey' };
  if (err instanceof ApiError && err.status === 404) return { key: 'facilitator.error.unknownSession' };
  if (err instanceof NetworkError) return { key: 'common.networkError' };
  return { key: 'common.serverError', params: { message: err instanceof Error ? err.message : String(err) } };
}
