// The session's outcome as files: the report and its attendance annex (the
// facilitator's key), a participant's own notes (their ticket). The secret
// goes in an `Authorization` header, never in the address, so a plain link
// cannot fetch these: the app fetches them and hands the browser a Blob,
// either to save (`<a download>`) or to open in a tab for printing.

import type { Language, Message } from '../i18n';
import { ApiError, apiError, NetworkError } from './api';

/** `odt`: the editable OpenDocument Text file (LibreOffice Writer, Word), a binary download. */
export type ReportFormat = 'md' | 'csv' | 'json' | 'html' | 'odt';
export type AnnexFormat = 'csv' | 'html';
export type NotesFormat = 'md' | 'csv';

const EXTENSIONS: Record<ReportFormat, string> = { md: 'md', csv: 'csv', json: 'json', html: 'html', odt: 'odt' };

const sessionPath = (sessionId: string) => `/api/sessions/${encodeURIComponent(sessionId)}`;

export function reportPath(sessionId: string, format: ReportFormat, publicVersion: boolean, lang: Language): string {
  const query = new URLSearchParams({ format, public: String(publicVersion), lang });
  return `${sessionPath(sessionId)}/report?${query}`;
}

export function attendancePath(sessionId: string, format: AnnexFormat, lang: Language): string {
  return `${sessionPath(sessionId)}/report/attendance?${new URLSearchParams({ format, lang })}`;
}

export function myNotesPath(sessionId: string, format: NotesFormat, lang: Language): string {
  return `${sessionPath(sessionId)}/my-notes?${new URLSearchParams({ format, lang })}`;
}

/**
 * The file name a `Content-Disposition` header suggests (RFC 6266): the
 * UTF-8 `filename*` when present, else `filename` quoted or bare. Anything
 * that could climb out of the downloads folder or hide is dropped; null when
 * nothing usable is left.
 */
export function filenameFromDisposition(header: string | null | undefined): string | null {
  if (!header) return null;
  const params = new Map<string, string>();
  // name=value pairs after the disposition type; values quoted (with \-escapes) or tokens.
  const param = /;\s*([!#$%&'*+.^_`|~0-9A-Za-z-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^;]*))/g;
  for (const m of header.matchAll(param)) {
    const name = m[1]!.toLowerCase();
    const value = m[2] !== undefined ? m[2].replace(/\\(.)/g, '$1') : (m[3] ?? '').trim();
    if (!params.has(name)) params.set(name, value);
  }
  const extended = params.get('filename*');
  if (extended) {
    const m = /^([\w!#$%&+^`{}~-]+)'[\w-]*'(.*)$/.exec(extended);
    if (m && /^utf-8$/i.test(m[1]!)) {
      try {
        const name = sanitize(decodeURIComponent(m[2]!));
        if (name) return name;
      } catch {
        // Malformed percent-encoding: fall back to the plain parameter.
      }
    }
  }
  const plain = params.get('filename');
  return plain ? sanitize(plain) : null;
}

function sanitize(name: string): string | null {
  // eslint-disable-next-line no-control-regex
  const base = name.split(/[/\\]/).pop()!.replace(/[\u0000-\u001f\u007f]/g, '').trim();
  const visible = base.replace(/^\.+/, '');
  return visible.length > 0 ? visible : null;
}

/** What came back: the bytes as sent (a CSV's BOM included) and the name to save them under. */
export interface FetchedDocument {
  blob: Blob;
  filename: string;
}

/**
 * GETs `path` with `Authorization: Bearer <secret>`. Throws `ApiError` for
 * an error status, `NetworkError` when the server was not reached or the
 * body broke off.
 */
export async function fetchDocument(
  path: string,
  secret: string,
  fallbackName: string,
  fetchImpl: typeof fetch = fetch,
): Promise<FetchedDocument> {
  let response: Response;
  try {
    response = await fetchImpl(path, { headers: { Authorization: `Bearer ${secret}` }, cache: 'no-store' });
  } catch (e) {
    throw new NetworkError(e);
  }
  if (!response.ok) throw await apiError(response);
  let blob: Blob;
  try {
    blob = await response.blob();
  } catch (e) {
    throw new NetworkError(e);
  }
  return { blob, filename: filenameFromDisposition(response.headers.get('Content-Disposition')) ?? fallbackName };
}

/** `tavolo-<what>.<ext>`, for a response that named no file. */
export function fallbackFilename(what: string, format: ReportFormat): string {
  return `tavolo-${what}.${EXTENSIONS[format]}`;
}

/** Whose secret went with the request: it decides what a 401 or 403 means to the person. */
export type Requester = 'facilitator' | 'participant';

/** Why a document did not come, in the person's words. */
export function documentError(err: unknown, requester: Requester): Message {
  if (err instanceof NetworkError) return { key: 'common.networkError' };
  if (err instanceof ApiError) {
    switch (err.status) {
      case 401:
      case 403:
        return { key: requester === 'facilitator' ? 'report.error.key' : 'report.error.ticket' };
      case 404:
        return { key: 'report.error.notFound' };
      case 400:
        return { key: 'report.error.badRequest', params: { message: err.message } };
      case 429:
        return { key: 'report.error.tooMany' };
      case 502:
      case 503:
      case 504:
        return { key: 'report.error.unavailable' };
    }
  }
  return { key: 'common.serverError', params: { message: err instanceof Error ? err.message : String(err) } };
}

/** Hands `blob` to the browser as a download named `filename`. */
export function saveBlob(blob: Blob, filename: string): void {
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = filename;
  a.rel = 'noopener';
  a.style.display = 'none';
  document.body.append(a);
  a.click();
  a.remove();
  // The download has its own copy once started; give slow browsers a minute.
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}

/**
 * Opens an empty tab now, while the click still counts as the person's
 * (after an `await` a browser may call it a popup and block it). Null when
 * blocked anyway.
 */
export function openPendingTab(waitingText: string): Window | null {
  let tab: Window | null = null;
  try {
    tab = window.open('', '_blank');
  } catch {
    return null;
  }
  if (!tab) return null;
  try {
    // Same origin for now (about:blank): no way back to the console from it.
    tab.opener = null;
    tab.document.title = waitingText;
    tab.document.body.textContent = waitingText;
  } catch {
    // Not ours to write to: it still navigates.
  }
  return tab;
}

/**
 * Shows a fetched HTML document in `tab` (from `openPendingTab`). A Blob URL
 * carries no headers and shares the app's origin; the report's own
 * Content-Security-Policy `<meta>` (written by the model) keeps it inert.
 */
export async function showInTab(tab: Window, blob: Blob): Promise<void> {
  const url = URL.createObjectURL(new Blob([blob], { type: 'text/html;charset=utf-8' }));
  // Not revoked: reloading the tab (or printing again later) needs it; it goes with the console's page.
  tab.location.href = url;
}
