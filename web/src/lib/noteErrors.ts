// The wasm client refuses a bad edit with an English Error (the model's
// message). People read the catalogue's explanation; the original text is
// kept only when nothing better is known.

import type { Message } from '../i18n';

/** Longest note, mirrored from model/src/ops.rs for the composer's counter. */
export const MAX_NOTE_CHARS = 1000;

export function noteErrorMessage(error: unknown): Message {
  const text = error instanceof Error ? error.message : String(error);
  if (/needs some text/i.test(text)) return { key: 'noteError.empty' };
  if (/at most \d+ characters/i.test(text)) return { key: 'noteError.tooLong', params: { max: MAX_NOTE_CHARS } };
  if (/only the author/i.test(text)) return { key: 'noteError.notYours' };
  if (/unknown category/i.test(text)) return { key: 'noteError.unknownCategory' };
  return { key: 'noteError.generic', params: { message: text } };
}
