// Where a device keeps what lets it back into a session without joining
// again: participants in localStorage (keyed by join code, so the same
// phone can be in two sessions); the facilitator's key and ticket and the
// projector's viewer ticket in sessionStorage, for this tab only: a reload
// keeps working, a closed tab leaves nothing behind (the key is in the
// facilitator's saved link, the projector's link comes from the console).

import { normalizeJoinCode } from './links';

export interface ParticipantCredentials {
  ticket: string;
  participantId: string;
  sessionDoc: string;
  sessionId: string;
  /** Milliseconds since the epoch; absent in entries written before it existed. */
  expiresAt?: number;
}

export interface FacilitatorCredentials {
  ticket: string;
  sessionDoc: string;
  joinCode?: string;
  expiresAt: number;
}

type KeyValueStore = Pick<Storage, 'getItem' | 'setItem' | 'removeItem'>;

/** Storage can be missing or throw (private modes, disabled cookies). */
function store(kind: 'localStorage' | 'sessionStorage'): KeyValueStore | null {
  try {
    return globalThis[kind] ?? null;
  } catch {
    return null;
  }
}

function read(storage: KeyValueStore | null, key: string): unknown {
  try {
    const raw = storage?.getItem(key);
    return raw ? (JSON.parse(raw) as unknown) : null;
  } catch {
    return null;
  }
}

function write(storage: KeyValueStore | null, key: string, value: unknown): void {
  try {
    storage?.setItem(key, JSON.stringify(value));
  } catch {
    // Full or disabled storage: the session still works until the tab closes.
  }
}

function remove(storage: KeyValueStore | null, key: string): void {
  try {
    storage?.removeItem(key);
  } catch {
    // Nothing to do.
  }
}

export interface ProjectorCredentials {
  ticket: string;
  sessionDoc: string;
  joinCode: string;
  title: string;
  expiresAt: number;
}

const projectorKey = (sessionId: string) => `tavolo:projector:${sessionId}`;
const facilitatorSecretKey = (sessionId: string) => `tavolo:facilitator-key:${sessionId}`;

const participantKey = (joinCode: string) => `tavolo:participant:${normalizeJoinCode(joinCode)}`;
const facilitatorKey = (sessionId: string) => `tavolo:facilitator:${sessionId}`;

const isString = (v: unknown): v is string => typeof v === 'string' && v.length > 0;

function isParticipant(v: unknown): v is ParticipantCredentials {
  if (!v || typeof v !== 'object') return false;
  const c = v as Record<string, unknown>;
  return (
    isString(c.ticket) &&
    isString(c.participantId) &&
    isString(c.sessionDoc) &&
    isString(c.sessionId) &&
    (c.expiresAt === undefined || typeof c.expiresAt === 'number')
  );
}

function isFacilitator(v: unknown): v is FacilitatorCredentials {
  if (!v || typeof v !== 'object') return false;
  const c = v as Record<string, unknown>;
  return (
    isString(c.ticket) &&
    isString(c.sessionDoc) &&
    typeof c.expiresAt === 'number' &&
    (c.joinCode === undefined || typeof c.joinCode === 'string')
  );
}

/** Stored credentials for a join code, or null if absent, malformed or expired. */
export function loadParticipant(
  joinCode: string,
  now: number = Date.now(),
  storage: KeyValueStore | null = store('localStorage'),
): ParticipantCredentials | null {
  const value = read(storage, participantKey(joinCode));
  if (!isParticipant(value)) return null;
  if (value.expiresAt !== undefined && value.expiresAt <= now) return null;
  return value;
}

export function saveParticipant(
  joinCode: string,
  credentials: ParticipantCredentials,
  storage: KeyValueStore | null = store('localStorage'),
): void {
  write(storage, participantKey(joinCode), credentials);
}

export function forgetParticipant(
  joinCode: string,
  storage: KeyValueStore | null = store('localStorage'),
): void {
  remove(storage, participantKey(joinCode));
}

export function loadFacilitator(
  sessionId: string,
  now: number = Date.now(),
  storage: KeyValueStore | null = store('sessionStorage'),
): FacilitatorCredentials | null {
  const value = read(storage, facilitatorKey(sessionId));
  if (!isFacilitator(value) || value.expiresAt <= now) return null;
  return value;
}

export function saveFacilitator(
  sessionId: string,
  credentials: FacilitatorCredentials,
  storage: KeyValueStore | null = store('sessionStorage'),
): void {
  write(storage, facilitatorKey(sessionId), credentials);
}

export function forgetFacilitator(
  sessionId: string,
  storage: KeyValueStore | null = store('sessionStorage'),
): void {
  remove(storage, facilitatorKey(sessionId));
}

function isProjector(v: unknown): v is ProjectorCredentials {
  if (!v || typeof v !== 'object') return false;
  const c = v as Record<string, unknown>;
  return (
    isString(c.ticket) &&
    isString(c.sessionDoc) &&
    typeof c.joinCode === 'string' &&
    typeof c.title === 'string' &&
    typeof c.expiresAt === 'number'
  );
}

/** The projector's read-only grant, kept for this tab: a reload must not need the link again. */
export function loadProjector(
  sessionId: string,
  now: number = Date.now(),
  storage: KeyValueStore | null = store('sessionStorage'),
): ProjectorCredentials | null {
  const value = read(storage, projectorKey(sessionId));
  if (!isProjector(value) || value.expiresAt <= now) return null;
  return value;
}

export function saveProjector(
  sessionId: string,
  credentials: ProjectorCredentials,
  storage: KeyValueStore | null = store('sessionStorage'),
): void {
  write(storage, projectorKey(sessionId), credentials);
}

export function forgetProjector(
  sessionId: string,
  storage: KeyValueStore | null = store('sessionStorage'),
): void {
  remove(storage, projectorKey(sessionId));
}

/**
 * Drops a projector grant that older versions kept in localStorage, where
 * it outlived the tab on whatever computer opened the projector.
 */
export function forgetLegacyProjector(sessionId: string, storage: KeyValueStore | null = store('localStorage')): void {
  remove(storage, projectorKey(sessionId));
}

/**
 * The facilitator key, kept for this tab once the console has taken it out
 * of the address bar: a reload, or a ticket the server no longer takes,
 * must not need the link again.
 */
export function loadFacilitatorKey(
  sessionId: string,
  storage: KeyValueStore | null = store('sessionStorage'),
): string | null {
  try {
    return storage?.getItem(facilitatorSecretKey(sessionId)) || null;
  } catch {
    return null;
  }
}

export function saveFacilitatorKey(
  sessionId: string,
  key: string,
  storage: KeyValueStore | null = store('sessionStorage'),
): void {
  try {
    storage?.setItem(facilitatorSecretKey(sessionId), key);
  } catch {
    // Full or disabled storage: the console works until the tab reloads.
  }
}

export function forgetFacilitatorKey(
  sessionId: string,
  storage: KeyValueStore | null = store('sessionStorage'),
): void {
  remove(storage, facilitatorSecretKey(sessionId));
}
