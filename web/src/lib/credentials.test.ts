import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  forgetFacilitator,
  forgetFacilitatorKey,
  forgetLegacyProjector,
  forgetParticipant,
  forgetProjector,
  loadFacilitator,
  loadFacilitatorKey,
  loadParticipant,
  loadProjector,
  saveFacilitator,
  saveFacilitatorKey,
  saveParticipant,
  saveProjector,
} from './credentials';

function memoryStorage() {
  const items = new Map<string, string>();
  return {
    items,
    getItem: (k: string) => items.get(k) ?? null,
    setItem: (k: string, v: string) => void items.set(k, v),
    removeItem: (k: string) => void items.delete(k),
  };
}

const credentials = {
  ticket: 't',
  participantId: 'p',
  sessionDoc: 'automerge:abc',
  sessionId: 's',
  expiresAt: 2_000,
};

describe('participant credentials', () => {
  it('are found again under the code however it was typed', () => {
    const storage = memoryStorage();
    saveParticipant('abc-234', credentials, storage);
    expect(storage.items.has('tavolo:participant:ABC234')).toBe(true);
    expect(loadParticipant('ABC 234', 1_000, storage)).toEqual(credentials);
  });

  it('are ignored once expired', () => {
    const storage = memoryStorage();
    saveParticipant('ABC234', credentials, storage);
    expect(loadParticipant('ABC234', 2_000, storage)).toBeNull();
  });

  it('are ignored when malformed', () => {
    const storage = memoryStorage();
    storage.setItem('tavolo:participant:ABC234', '{"ticket": 3}');
    expect(loadParticipant('ABC234', 0, storage)).toBeNull();
    storage.setItem('tavolo:participant:ABC234', 'not json');
    expect(loadParticipant('ABC234', 0, storage)).toBeNull();
  });

  it('can be forgotten', () => {
    const storage = memoryStorage();
    saveParticipant('ABC234', credentials, storage);
    forgetParticipant('abc234', storage);
    expect(loadParticipant('ABC234', 0, storage)).toBeNull();
  });

  it('survive storage that throws', () => {
    const broken = {
      getItem: () => {
        throw new Error('denied');
      },
      setItem: () => {
        throw new Error('denied');
      },
      removeItem: () => {
        throw new Error('denied');
      },
    };
    expect(() => saveParticipant('ABC234', credentials, broken)).not.toThrow();
    expect(loadParticipant('ABC234', 0, broken)).toBeNull();
    expect(loadParticipant('ABC234', 0, null)).toBeNull();
  });
});

describe('facilitator credentials', () => {
  it('round-trip per session and expire', () => {
    const storage = memoryStorage();
    const grant = { ticket: 't', sessionDoc: 'automerge:abc', joinCode: 'ABC234', expiresAt: 5 };
    saveFacilitator('s1', grant, storage);
    expect(loadFacilitator('s1', 4, storage)).toEqual(grant);
    expect(loadFacilitator('s2', 4, storage)).toBeNull();
    expect(loadFacilitator('s1', 5, storage)).toBeNull();
  });
});

describe('projector credentials', () => {
  afterEach(() => void vi.unstubAllGlobals());

  it('round-trip per session, expire, and can be forgotten', () => {
    const storage = memoryStorage();
    const grant = { ticket: 'v', sessionDoc: 'automerge:abc', joinCode: 'ABC234', title: 'Prima', expiresAt: 10 };
    saveProjector('s1', grant, storage);
    expect(loadProjector('s1', 9, storage)).toEqual(grant);
    expect(loadProjector('s1', 10, storage)).toBeNull();
    expect(loadProjector('s2', 9, storage)).toBeNull();
    forgetProjector('s1', storage);
    expect(loadProjector('s1', 9, storage)).toBeNull();
  });

  it('ignore malformed entries', () => {
    const storage = memoryStorage();
    storage.setItem('tavolo:projector:s1', JSON.stringify({ ticket: 'v', expiresAt: 10 }));
    expect(loadProjector('s1', 1, storage)).toBeNull();
  });

  it('stay in this tab (sessionStorage), not on the computer', () => {
    const local = memoryStorage();
    const session = memoryStorage();
    vi.stubGlobal('localStorage', local);
    vi.stubGlobal('sessionStorage', session);
    const grant = { ticket: 'v', sessionDoc: 'automerge:abc', joinCode: 'ABC234', title: 'Prima', expiresAt: 10 };
    saveProjector('s1', grant);
    expect(session.items.has('tavolo:projector:s1')).toBe(true);
    expect(local.items.size).toBe(0);
    expect(loadProjector('s1', 9)).toEqual(grant);
  });

  it('left in localStorage by older versions can be dropped', () => {
    const local = memoryStorage();
    local.setItem('tavolo:projector:s1', JSON.stringify({ ticket: 'v' }));
    local.setItem('tavolo:projector:s2', JSON.stringify({ ticket: 'w' }));
    forgetLegacyProjector('s1', local);
    expect([...local.items.keys()]).toEqual(['tavolo:projector:s2']);
  });
});

describe('the facilitator key', () => {
  afterEach(() => void vi.unstubAllGlobals());

  it('is kept per session, apart from the ticket, and can be forgotten', () => {
    const storage = memoryStorage();
    saveFacilitatorKey('s1', 'k3y', storage);
    saveFacilitator('s1', { ticket: 't', sessionDoc: 'automerge:abc', expiresAt: 5 }, storage);
    expect(loadFacilitatorKey('s1', storage)).toBe('k3y');
    expect(loadFacilitatorKey('s2', storage)).toBeNull();
    // A ticket the server no longer takes is dropped; the key stays to get another.
    forgetFacilitator('s1', storage);
    expect(loadFacilitatorKey('s1', storage)).toBe('k3y');
    forgetFacilitatorKey('s1', storage);
    expect(loadFacilitatorKey('s1', storage)).toBeNull();
  });

  it('lives in sessionStorage by default', () => {
    const local = memoryStorage();
    const session = memoryStorage();
    vi.stubGlobal('localStorage', local);
    vi.stubGlobal('sessionStorage', session);
    saveFacilitatorKey('s1', 'k3y');
    expect(session.items.get('tavolo:facilitator-key:s1')).toBe('k3y');
    expect(local.items.size).toBe(0);
    expect(loadFacilitatorKey('s1')).toBe('k3y');
  });

  it('is simply absent when storage throws', () => {
    const broken = {
      getItem: () => {
        throw new Error('denied');
      },
      setItem: () => {
        throw new Error('denied');
      },
      removeItem: () => {
        throw new Error('denied');
      },
    };
    expect(() => saveFacilitatorKey('s1', 'k3y', broken)).not.toThrow();
    expect(loadFacilitatorKey('s1', broken)).toBeNull();
  });
});
