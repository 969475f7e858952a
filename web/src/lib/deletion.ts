// Deleting a session is the one console action that cannot be undone, so
// the button waits for the facilitator to type what they are deleting: the
// session's title, or one plain word (ELIMINA in Italian). And when the
// server says no, the console says why in the facilitator's words.

import type { Message } from '../i18n';
import { ApiError, NetworkError } from './api';

/** Case, accents' composition and runs of spaces do not count; the words do. */
function comparable(s: string): string {
  return s.normalize('NFC').trim().replace(/\s+/g, ' ').toLocaleLowerCase();
}

/** Whether `typed` names the session (its title) or is the confirmation word. */
export function confirmsDeletion(typed: string, title: string, word: string): boolean {
  const said = comparable(typed);
  if (said === '') return false;
  return said === comparable(word) || (comparable(title) !== '' && said === comparable(title));
}

/** Why the server did not delete the session, in the facilitator's words. */
export function deletionError(err: unknown): Message {
  if (err instanceof ApiError && (err.status === 401 || err.status === 403)) return { key: 'console.delete.error.denied' };
  if (err instanceof ApiError && err.status === 404) return { key: 'console.delete.error.notFound' };
  if (err instanceof NetworkError) return { key: 'common.networkError' };
  return { key: 'console.delete.error.failed', params: { message: err instanceof Error ? err.message : String(err) } };
}
