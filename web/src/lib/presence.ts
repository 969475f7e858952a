// Drawing presence: the roster (who joined) beside the server's presence
// (who is connected now). The counts themselves come from Rust.

import type { Attendance, Participant, PresenceView, Roster } from './types';

export interface ParticipantRow {
  id: string;
  participant: Participant;
  online: boolean;
  /** Where they are taking part from now when online, else what they said when joining. */
  attendance: Attendance;
}

/** Everyone who joined, online first, then by name (Italian collation). */
export function participantRows(roster: Roster, presence: PresenceView | undefined): ParticipantRow[] {
  const rows = Object.entries(roster).map(([id, participant]) => {
    const live = presence?.participants[id];
    const online = (live?.connections ?? 0) > 0;
    return { id, participant, online, attendance: online && live ? live.attendance : participant.attendance };
  });
  const collator = new Intl.Collator('it', { sensitivity: 'base' });
  return rows.sort((a, b) => Number(b.online) - Number(a.online) || collator.compare(a.participant.name, b.participant.name));
}

export interface PresenceCounts {
  online: number;
  inRoom: number;
  remote: number;
}

/** The numbers a screen shows; zeros until the server has said anything. */
export function presenceCounts(presence: PresenceView | undefined): PresenceCounts {
  const inRoom = presence?.inRoom ?? 0;
  const remote = presence?.remote ?? 0;
  return { online: inRoom + remote, inRoom, remote };
}
