import { describe, expect, it } from 'vitest';
import { participantRows, presenceCounts } from './presence';
import type { PresenceView, Roster } from './types';

const roster: Roster = {
  p1: { name: 'Zeno', organization: 'Comune', sector: 'public', tier: 'founding_core', attendance: 'in_room' },
  p2: { name: 'anna', organization: '', sector: 'community', tier: 'strategic_extension', attendance: 'in_room' },
  p3: { name: 'Bruno', organization: 'Coop', sector: 'social_private', tier: 'founding_core', attendance: 'remote' },
};

const presence: PresenceView = {
  participants: {
    p1: { attendance: 'remote', connections: 2 },
    p3: { attendance: 'remote', connections: 0 },
  },
  inRoom: 0,
  remote: 1,
  facilitators: 1,
  viewers: 1,
};

describe('participantRows', () => {
  it('lists online people first, then by name regardless of case', () => {
    expect(participantRows(roster, presence).map((r) => [r.id, r.online])).toEqual([
      ['p1', true],
      ['p2', false],
      ['p3', false],
    ]);
  });

  it('shows where an online person is now, and what offline people said when joining', () => {
    const rows = participantRows(roster, presence);
    expect(rows.find((r) => r.id === 'p1')?.attendance).toBe('remote');
    expect(rows.find((r) => r.id === 'p2')?.attendance).toBe('in_room');
  });

  it('has everybody offline before the server says anything', () => {
    expect(participantRows(roster, undefined).every((r) => !r.online)).toBe(true);
  });
});

describe('presenceCounts', () => {
  it('counts participants, not the facilitator or the projector', () => {
    expect(presenceCounts(presence)).toEqual({ online: 1, inRoom: 0, remote: 1 });
  });

  it('is zero before any presence arrived', () => {
    expect(presenceCounts(undefined)).toEqual({ online: 0, inRoom: 0, remote: 0 });
  });
});
