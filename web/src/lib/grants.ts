// What the facilitator's and the projector's pages share: the secret
// carried in the link's fragment (read once, then removed from the address
// bar, which a projected screen or a shared screen would show), and the
// words for a refused grant.

import type { Message } from '../i18n';
import { ApiError, NetworkError } from './api';

/** The facilitator key in a fragment (`#<key>`), if any. */
export function parseKeyFragment(hash: string): string | null {
  try {
    return decodeURIComponent(hash.replace(/^#/, '')).trim() || null;
  } catch {
    return null;
  }
}

/** What a projector link carries: a viewer ticket (`#v=<ticket>`), or the facilitator key of older links (`#<key>`). */
export type ProjectorSecret = { viewerTicket: string } | { facilitatorKey: string };

export function parseProjectorFragment(hash: string): ProjectorSecret | null {
  const fragment = hash.replace(/^#/, '');
  if (fragment.startsWith('v=')) {
    const ticket = parseKeyFragment(fragment.slice(2));
    return ticket ? { viewerTicket: ticket } : null;
  }
  const key = parseKeyFragment(fragment);
  return key ? { facilitatorKey: key } : null;
}

/** Removes the fragment from the address bar and from this history entry. */
function clearFragment(): void {
  if (location.hash) history.replaceState(history.state, '', location.pathname + location.search);
}

/** Reads the facilitator key and removes it from the address bar. */
export function takeKeyFromFragment(): string | null {
  const key = parseKeyFragment(location.hash);
  clearFragment();
  return key;
}

/** Reads the projector link's secret and removes it from the address bar. */
export function takeProjectorFragment(): ProjectorSecret | null {
  const secret = parseProjectorFragment(location.hash);
  clearFragment();
  return secret;
}

/** Why the console's own request (rotate the key, open or close joining) failed, in the person's words. */
export function consoleActionError(err: unknown): Message {
  if (err instanceof ApiError && (err.status === 401 || err.status === 403)) return { key: 'facilitator.error.expired' };
  if (err instanceof NetworkError) return { key: 'common.networkError' };
  return { key: 'console.access.failed', params: { message: err instanceof Error ? err.message : String(err) } };
}

/** Why a facilitator or projector ticket was not granted, in the person's words. */
export function grantError(err: unknown, who: 'facilitator' | 'projector' = 'facilitator'): Message {
  if (err instanceof ApiError && err.status === 401) {
    return { key: who === 'projector' ? 'projector.error.linkExpired' : 'facilitator.error.expired' };
  }
  if (err instanceof ApiError && err.status === 403) return { key: 'facilitator.error.wrongKey' };
  if (err instanceof ApiError && err.status === 404) return { key: 'facilitator.error.unknownSession' };
  if (err instanceof NetworkError) return { key: 'common.networkError' };
  return { key: 'common.serverError', params: { message: err instanceof Error ? err.message : String(err) } };
}
