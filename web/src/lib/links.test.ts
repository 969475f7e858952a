import { describe, expect, it } from 'vitest';
import {
  facilitatorLink,
  joinLink,
  normalizeJoinCode,
  projectorLink,
  projectorPath,
  syncSocketProtocols,
  syncSocketUrl,
} from './links';

describe('links', () => {
  it('normalizes join codes like the server', () => {
    expect(normalizeJoinCode(' ab c-2 34 ')).toBe('ABC234');
  });

  it('builds the join link from a code as typed', () => {
    expect(joinLink('https://tavolo.example', 'abc-234')).toBe('https://tavolo.example/j/ABC234');
  });

  it('builds the projector links: a viewer ticket in the fragment, never the key', () => {
    expect(projectorPath('s 1')).toBe('/p/s%201');
    expect(projectorLink('http://localhost:8080', 's1', 'ab12')).toBe('http://localhost:8080/p/s1#v=ab12');
  });

  it('keeps the facilitator key in the fragment', () => {
    expect(facilitatorLink('http://localhost:8080', 's1', 'k3y')).toBe('http://localhost:8080/f/s1#k3y');
  });

  it('matches the socket scheme to the page, with no ticket in the address', () => {
    expect(syncSocketUrl({ protocol: 'https:', host: 'tavolo.example' })).toBe('wss://tavolo.example/sync');
    expect(syncSocketUrl({ protocol: 'http:', host: 'localhost:5173' })).toBe('ws://localhost:5173/sync');
    expect(syncSocketUrl({ protocol: 'https:', host: 'tavolo.example' }, 's_1/2')).toBe('wss://tavolo.example/sync/s_1%2F2');
  });

  it('offers the ticket as a subprotocol after Tavolo’s own', () => {
    expect(syncSocketProtocols('0a1b2c')).toEqual(['tavolo', 'tavolo.ticket.0a1b2c']);
  });

  it('makes subprotocols that are valid tokens for a hex ticket', () => {
    // RFC 7230 tchar: what the WebSocket constructor accepts in a protocol.
    const token = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
    for (const p of syncSocketProtocols('0123456789abcdef'.repeat(4))) expect(p).toMatch(token);
  });
});
