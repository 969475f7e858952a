import { describe, expect, it } from 'vitest';
import { facilitatorLink, joinLink, normalizeJoinCode, projectorLink, projectorPath, syncSocketUrl } from './links';

describe('links', () => {
  it('normalizes join codes like the server', () => {
    expect(normalizeJoinCode(' ab c-2 34 ')).toBe('ABC234');
  });

  it('builds the join link from a code as typed', () => {
    expect(joinLink('https://tavolo.example', 'abc-234')).toBe('https://tavolo.example/j/ABC234');
  });

  it('builds the projector links, the key only in the fragment', () => {
    expect(projectorPath('s 1')).toBe('/p/s%201');
    expect(projectorLink('http://localhost:8080', 's1', 'k3y')).toBe('http://localhost:8080/p/s1#k3y');
  });

  it('keeps the facilitator key in the fragment', () => {
    expect(facilitatorLink('http://localhost:8080', 's1', 'k3y')).toBe('http://localhost:8080/f/s1#k3y');
  });

  it('matches the socket scheme to the page', () => {
    expect(syncSocketUrl({ protocol: 'https:', host: 'tavolo.example' }, 'a b')).toBe(
      'wss://tavolo.example/sync?ticket=a%20b',
    );
    expect(syncSocketUrl({ protocol: 'http:', host: 'localhost:5173' }, 't')).toBe(
      'ws://localhost:5173/sync?ticket=t',
    );
  });
});
