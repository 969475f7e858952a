// Why the server did not let someone join, in their words: by status and
// the answer's stable `code`, never by the server's English text.

import type { Message } from '../i18n';
import { ApiError, NetworkError } from './api';

/** A problem with the code typed (shown on the field), or with the session (shown under the form). */
export type JoinFailure = { on: 'code'; message: Message } | { on: 'form'; message: Message };

export function joinFailure(err: unknown): JoinFailure {
  if (err instanceof ApiError) {
    if (err.status === 404) return { on: 'code', message: { key: 'join.error.unknownCode' } };
    if (err.code === 'joining_closed') return { on: 'form', message: { key: 'join.error.joiningClosed' } };
    if (err.code === 'session_full') return { on: 'form', message: { key: 'join.error.sessionFull' } };
    if (err.status === 503) return { on: 'form', message: { key: 'join.error.unavailable' } };
    return { on: 'form', message: { key: 'common.serverError', params: { message: err.message } } };
  }
  if (err instanceof NetworkError) return { on: 'form', message: { key: 'common.networkError' } };
  return { on: 'form', message: { key: 'common.serverError', params: { message: String(err) } } };
}
