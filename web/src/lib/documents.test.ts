import { describe, expect, it } from 'vitest';
import { ApiError, NetworkError } from './api';
import {
  attendancePath,
  documentError,
  fetchDocument,
  filenameFromDisposition,
  myNotesPath,
  reportPath,
} from './documents';

describe('filenameFromDisposition', () => {
  it('reads the quoted name the server sends', () => {
    expect(filenameFromDisposition('attachment; filename="tavolo-report-abc.csv"')).toBe('tavolo-report-abc.csv');
    expect(filenameFromDisposition('inline; filename="tavolo-report-abc.html"')).toBe('tavolo-report-abc.html');
  });

  it('reads a bare token and ignores case and spacing', () => {
    expect(filenameFromDisposition('attachment;filename=note.md')).toBe('note.md');
    expect(filenameFromDisposition('Attachment; FileName = note.md ; size=12')).toBe('note.md');
  });

  it('prefers the UTF-8 name, decoded', () => {
    const header = `attachment; filename="presenze.csv"; filename*=UTF-8''presenze%20%C3%A8%20citt%C3%A0.csv`;
    expect(filenameFromDisposition(header)).toBe('presenze è città.csv');
  });

  it('falls back to the plain name when the extended one is broken or in another charset', () => {
    expect(filenameFromDisposition(`attachment; filename="a.csv"; filename*=UTF-8''%E0%A4%A.csv`)).toBe('a.csv');
    expect(filenameFromDisposition(`attachment; filename="a.csv"; filename*=iso-8859-1'en'%A3.csv`)).toBe('a.csv');
  });

  it('unescapes quoted pairs and keeps semicolons inside quotes', () => {
    expect(filenameFromDisposition('attachment; filename="a \\"b\\"; c.md"')).toBe('a "b"; c.md');
  });

  it('keeps only the last path segment and drops hidden-file dots and control characters', () => {
    expect(filenameFromDisposition('attachment; filename="../../etc/passwd"')).toBe('passwd');
    expect(filenameFromDisposition('attachment; filename="C:\\\\Windows\\\\x.csv"')).toBe('x.csv');
    expect(filenameFromDisposition('attachment; filename="..bashrc"')).toBe('bashrc');
    expect(filenameFromDisposition('attachment; filename="a\u0007b.md"')).toBe('ab.md');
  });

  it('gives null when there is no usable name', () => {
    expect(filenameFromDisposition(null)).toBeNull();
    expect(filenameFromDisposition('')).toBeNull();
    expect(filenameFromDisposition('attachment')).toBeNull();
    expect(filenameFromDisposition('attachment; filename=""')).toBeNull();
    expect(filenameFromDisposition('attachment; filename="../"')).toBeNull();
    expect(filenameFromDisposition('attachment; filename="..."')).toBeNull();
  });
});

describe('paths', () => {
  it('carry the format, the version and the language, with the session id escaped', () => {
    expect(reportPath('abc', 'md', false, 'it')).toBe('/api/sessions/abc/report?format=md&public=false&lang=it');
    expect(reportPath('a/b', 'html', true, 'en')).toBe('/api/sessions/a%2Fb/report?format=html&public=true&lang=en');
    expect(attendancePath('abc', 'csv', 'it')).toBe('/api/sessions/abc/report/attendance?format=csv&lang=it');
    expect(myNotesPath('abc', 'md', 'en')).toBe('/api/sessions/abc/my-notes?format=md&lang=en');
  });
});

describe('documentError', () => {
  it('tells the facilitator and the participant what a refused secret means to each', () => {
    expect(documentError(new ApiError(401, 'no key'), 'facilitator')).toEqual({ key: 'report.error.key' });
    expect(documentError(new ApiError(403, 'wrong key'), 'facilitator')).toEqual({ key: 'report.error.key' });
    expect(documentError(new ApiError(401, 'expired'), 'participant')).toEqual({ key: 'report.error.ticket' });
    expect(documentError(new ApiError(403, 'other session'), 'participant')).toEqual({ key: 'report.error.ticket' });
  });

  it('explains the other statuses', () => {
    expect(documentError(new ApiError(404, 'unknown session'), 'facilitator')).toEqual({ key: 'report.error.notFound' });
    expect(documentError(new ApiError(400, 'unknown format "pdf"'), 'facilitator')).toEqual({
      key: 'report.error.badRequest',
      params: { message: 'unknown format "pdf"' },
    });
    expect(documentError(new ApiError(429, 'slow down'), 'participant')).toEqual({ key: 'report.error.tooMany' });
    expect(documentError(new ApiError(503, 'storage'), 'facilitator')).toEqual({ key: 'report.error.unavailable' });
    expect(documentError(new NetworkError(new TypeError('Failed to fetch')), 'facilitator')).toEqual({
      key: 'common.networkError',
    });
  });

  it('keeps the server’s words for anything unforeseen', () => {
    expect(documentError(new ApiError(500, 'Internal Server Error'), 'facilitator')).toEqual({
      key: 'common.serverError',
      params: { message: 'Internal Server Error' },
    });
    expect(documentError('boom', 'participant')).toEqual({ key: 'common.serverError', params: { message: 'boom' } });
  });
});

describe('fetchDocument', () => {
  const respond =
    (response: Response | Error, seen: Request[] = []): typeof fetch =>
    async (input, init) => {
      seen.push(new Request(new URL(String(input), 'http://tavolo.test'), init));
      if (response instanceof Error) throw response;
      return response;
    };

  it('sends the secret as a bearer header and keeps the bytes exactly, BOM included', async () => {
    const bytes = new Uint8Array([0xef, 0xbb, 0xbf, ...new TextEncoder().encode('testo;città\r\n')]);
    const seen: Request[] = [];
    const fetchImpl = respond(
      new Response(bytes, {
        headers: { 'Content-Type': 'text/csv; charset=utf-8', 'Content-Disposition': 'attachment; filename="tavolo-report-x.csv"' },
      }),
      seen,
    );
    const doc = await fetchDocument('/api/sessions/x/report?format=csv', 'k3y', 'tavolo-report.csv', fetchImpl);
    expect(seen[0]!.headers.get('Authorization')).toBe('Bearer k3y');
    expect(seen[0]!.url).toBe('http://tavolo.test/api/sessions/x/report?format=csv');
    expect(doc.filename).toBe('tavolo-report-x.csv');
    expect(new Uint8Array(await doc.blob.arrayBuffer())).toEqual(bytes);
  });

  it('uses the fallback name when the server names no file', async () => {
    const doc = await fetchDocument('/x', 'k', 'tavolo-report.md', respond(new Response('# Report')));
    expect(doc.filename).toBe('tavolo-report.md');
  });

  it('turns an error status into an ApiError with the server’s message', async () => {
    const fetchImpl = respond(new Response(JSON.stringify({ error: 'the key does not match' }), { status: 403 }));
    await expect(fetchDocument('/x', 'k', 'f', fetchImpl)).rejects.toMatchObject({
      name: 'ApiError',
      status: 403,
      message: 'the key does not match',
    });
  });

  it('turns a failed connection into a NetworkError', async () => {
    await expect(fetchDocument('/x', 'k', 'f', respond(new TypeError('Failed to fetch')))).rejects.toBeInstanceOf(NetworkError);
  });
});
