import { afterEach, describe, expect, it, vi } from 'vitest';
import { ApiError, deleteSession, joinInfo, NetworkError, parseJoinInfo, rotateKey, setJoining, ticketGrant, ticketRejected } from './api';

/** Replaces `fetch` with one answer, and records what was asked. */
function answer(status: number, body: unknown) {
  const calls: { url: string; init: RequestInit }[] = [];
  vi.stubGlobal('fetch', async (url: string, init: RequestInit = {}) => {
    calls.push({ url, init });
    return new Response(typeof body === 'string' ? body : JSON.stringify(body), {
      status,
      headers: { 'Content-Type': 'application/json' },
    });
  });
  return calls;
}

const header = (init: RequestInit, name: string) => (init.headers as Record<string, string>)[name];

afterEach(() => void vi.unstubAllGlobals());

describe('ticketRejected', () => {
  it('asks /sync with the ticket in the header, not in the address', async () => {
    const fetchImpl = vi.fn(async () => new Response(null, { status: 401 }));
    expect(await ticketRejected('ab12', fetchImpl)).toBe(true);
    const [url, init] = fetchImpl.mock.calls[0] as unknown as [string, RequestInit];
    expect(url).toBe('/sync');
    expect(header(init, 'Authorization')).toBe('Bearer ab12');
  });

  it('takes any other answer, or none, as "not rejected"', async () => {
    expect(await ticketRejected('ab12', async () => new Response(null, { status: 400 }))).toBe(false);
    expect(await ticketRejected('ab12', async () => new Response(null, { status: 503 }))).toBe(false);
    expect(
      await ticketRejected('ab12', async () => {
        throw new TypeError('Failed to fetch');
      }),
    ).toBe(false);
  });
});

describe('ticketGrant', () => {
  it('sends the ticket as a bearer token and returns the grant', async () => {
    const grant = {
      role: 'viewer',
      session_id: 's1',
      session_doc: 'automerge:abc',
      title: 'Prima',
      join_code: 'ABC234',
      joining_open: true,
      expires_at: 10,
    };
    const calls = answer(200, grant);
    expect(await ticketGrant('ab12')).toEqual(grant);
    expect(calls[0]!.url).toBe('/api/grant');
    expect(calls[0]!.init.method).toBe('GET');
    expect(header(calls[0]!.init, 'Authorization')).toBe('Bearer ab12');
  });

  it('throws a 401 for a ticket that is unknown, expired or revoked', async () => {
    answer(401, { error: 'unknown ticket' });
    await expect(ticketGrant('ab12')).rejects.toMatchObject({ status: 401, message: 'unknown ticket' });
  });
});

describe('rotateKey and setJoining', () => {
  it('rotate the key with the secret in the header', async () => {
    const calls = answer(200, { facilitator_key: 'new', ticket: 't2' });
    await rotateKey('s 1', 'k3y', true);
    expect(calls[0]!.url).toBe('/api/sessions/s%201/rotate-key');
    expect(calls[0]!.init.method).toBe('POST');
    expect(header(calls[0]!.init, 'Authorization')).toBe('Bearer k3y');
    expect(JSON.parse(String(calls[0]!.init.body))).toEqual({ revoke_participants: true });
  });

  it('open and close joining', async () => {
    const calls = answer(200, { joining_open: false });
    expect(await setJoining('s1', 't1', false)).toEqual({ joining_open: false });
    expect(calls[0]!.url).toBe('/api/sessions/s1/joining');
    expect(header(calls[0]!.init, 'Authorization')).toBe('Bearer t1');
    expect(JSON.parse(String(calls[0]!.init.body))).toEqual({ open: false });
  });
});

describe('joinInfo', () => {
  const info = {
    title: 'Prima sessione',
    joining_open: true,
    privacy: { controller: 'Comune di Santarcangelo', contact: 'segreteria@example.org' },
  };

  it('asks about the code without any secret', async () => {
    const calls = answer(200, info);
    expect(await joinInfo('ABC234')).toEqual(info);
    expect(calls[0]!.url).toBe('/api/join/ABC234');
    expect(calls[0]!.init.method).toBe('GET');
    expect(header(calls[0]!.init, 'Authorization')).toBeUndefined();
  });

  it('throws a 404 for a code no session has', async () => {
    answer(404, { error: 'unknown join code' });
    await expect(joinInfo('ABC234')).rejects.toMatchObject({ status: 404 });
  });

  it('refuses an answer of another shape rather than show half a notice', async () => {
    answer(200, { title: 'Prima', joining_open: true });
    await expect(joinInfo('ABC234')).rejects.toBeInstanceOf(ApiError);
    expect(parseJoinInfo({ ...info, privacy: { controller: 1, contact: '' } })).toBeNull();
    expect(parseJoinInfo(null)).toBeNull();
  });

  it('keeps only what it knows', () => {
    expect(parseJoinInfo({ ...info, extra: 1, privacy: { ...info.privacy, more: 2 } })).toEqual(info);
  });
});

describe('deleteSession', () => {
  it('sends DELETE with the secret in the header', async () => {
    const calls = answer(200, { deleted: true });
    expect(await deleteSession('s 1', 'k3y')).toEqual({ deleted: true });
    expect(calls[0]!.url).toBe('/api/sessions/s%201');
    expect(calls[0]!.init.method).toBe('DELETE');
    expect(header(calls[0]!.init, 'Authorization')).toBe('Bearer k3y');
    expect(calls[0]!.init.body).toBeUndefined();
  });

  it('carries the server’s refusal', async () => {
    answer(403, { error: 'wrong facilitator key' });
    await expect(deleteSession('s1', 'bad')).rejects.toMatchObject({ status: 403, message: 'wrong facilitator key' });
  });
});

describe('errors', () => {
  it('carry the server’s stable code when there is one', async () => {
    answer(403, { error: 'joining is closed', code: 'joining_closed' });
    const err = await setJoining('s1', 't1', true).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApiError);
    expect(err).toMatchObject({ status: 403, code: 'joining_closed', message: 'joining is closed' });
  });

  it('fall back to the status line when the body is not ours', async () => {
    answer(502, '<html>bad gateway</html>');
    await expect(ticketGrant('t')).rejects.toMatchObject({ status: 502, code: null });
  });

  it('tell an unreachable server apart', async () => {
    vi.stubGlobal('fetch', async () => {
      throw new TypeError('Failed to fetch');
    });
    await expect(ticketGrant('t')).rejects.toBeInstanceOf(NetworkError);
  });
});
