// Shapes the front-end reads. The views come from the wasm client (its
// generated .d.ts types them as `any`); the API shapes are the HTTP contract
// in shared/DESIGN.md.

export type Sector = 'public' | 'social_private' | 'community';
export type Tier = 'founding_core' | 'strategic_extension';
export type Attendance = 'in_room' | 'remote';

export const SECTORS: readonly Sector[] = ['public', 'social_private', 'community'];
export const TIERS: readonly Tier[] = ['founding_core', 'strategic_extension'];
export const ATTENDANCES: readonly Attendance[] = ['in_room', 'remote'];

// ---- views returned by TavoloClient -------------------------------------

export interface SessionView {
  title: string;
  template: string;
  currentPhase: string;
  rosterDoc: string;
  voteBudget: number;
  /** The public report names organizations (the facilitator's choice). */
  organizationsPublic: boolean;
  phases: PhaseView[];
  /** The phase timer as stored; draw it through `SyncClient.timer`, which does the arithmetic. */
  timer?: TimerSetting | null;
  /** What the facilitator asked every screen to look at, if anything. */
  spotlight?: Spotlight | null;
  /** The meeting's data and the table's conclusions (written by the facilitator). */
  record?: RecordView;
  /** The view of the results the projector shows instead of the board. */
  restitution?: RestitutionStep | null;
}

/** The views of the results, in the order the facilitator steps through them. */
export const RESTITUTION_STEPS = ['map', 'ledger', 'needs', 'matrix', 'conclusions'] as const;
export type RestitutionStep = (typeof RESTITUTION_STEPS)[number];

/**
 * The part of the public report (model/src/report/data.rs, JSON) the
 * projector's results view draws.
 */
export interface ResultsReport {
  raw_material: { categories: { category: Labelled; notes: { text: string; votes: number; cluster: string | null }[] }[] } | null;
  ledger: { resource_types: Labelled[]; rows: { label: string; cells: { count: number; texts: string[] }[]; total: number }[] } | null;
  needs: { kind: 'cluster' | 'note'; label: string; votes: number; notes: number; question: string; question_number: string }[] | null;
  expectations: { to: Labelled[]; rows: { from: Labelled; cells: { to: Labelled; notes: { text: string; votes: number }[] }[] }[] } | null;
  phases: { id: string; title: string; conclusion: Synthesis | null }[];
  commitments?: { organization: string; what: string; by_when: string; condition: string; contact_role: string }[];
  next_steps?: string;
  open_questions?: string;
}

export interface Labelled {
  id: string | null;
  label: string;
}

/** The record of the table (model/src/record.rs; its keys are snake_case as stored). */
/** When a contribution can be activated. */
export const PLEDGE_WHEN = ['now', 'soon', 'later'] as const;
export type PledgeWhen = (typeof PLEDGE_WHEN)[number];

/** What a contribution's author may add: when, and on what condition. */
export interface PledgeTerms {
  when: PledgeWhen | null;
  condition: string;
}

export interface RecordView {
  meeting: Meeting;
  /** Phase id → what the table concluded on it (absent when nothing is written). */
  syntheses: Record<string, Synthesis>;
  /** Oldest first. */
  commitments: Commitment[];
  next_steps: string;
  open_questions: string;
  /** What this session carries from the one it was started from. */
  previous?: PreviousMeeting | null;
}

export const CARRIED_STATUSES = ['open', 'in_progress', 'done', 'dropped'] as const;
export type CarriedStatus = (typeof CARRIED_STATUSES)[number];

export interface PreviousMeeting {
  title: string;
  /** YYYY-MM-DD, may be empty. */
  date: string;
  commitments: (Omit<Commitment, 'created_at' | 'from_note'> & { status: CarriedStatus; progress: string })[];
  open_questions: string;
  invited: { organization: string; sector: string; tier: string }[];
}

export interface Meeting {
  title: string;
  number: string;
  /** YYYY-MM-DD */
  date: string;
  place: string;
  /** HH:MM */
  start: string;
  end: string;
  responsible: string;
  facilitators: string;
}

export type MeetingField = keyof Meeting;

export interface Synthesis {
  synthesis: string;
  convergences: string;
  disagreements: string;
  handling: string;
}

export type SynthesisField = keyof Synthesis;

export interface CommitmentDraft {
  organization: string;
  what: string;
  by_when: string;
  condition: string;
  contact_role: string;
  /** The contribution note it is made from. */
  from_note: string | null;
}

export interface Commitment extends CommitmentDraft {
  id: string;
  created_at: number;
}

export type ClosingField = 'next_steps' | 'open_questions';

export interface TimerSetting {
  durationMs: number;
  remainingMs: number;
  runningSince: number | null;
}

export interface Spotlight {
  /** The question document's URL. */
  doc: string;
  /** A note or cluster id in that document. */
  target: string;
  kind: 'note' | 'cluster';
  /** When it was set (server clock), so a new spotlight on the same note is still new. */
  at: number;
}

export type TimerStatus = 'idle' | 'running' | 'paused' | 'finished';

/** The timer at a moment, computed in Rust from the session's timer. */
export interface TimerState {
  status: TimerStatus;
  remainingMs: number;
  durationMs: number;
}

export interface PresenceEntry {
  attendance: Attendance;
  connections: number;
}

/** Who is connected right now (pushed by the server, never stored). */
export interface PresenceView {
  participants: Record<string, PresenceEntry>;
  inRoom: number;
  remote: number;
  facilitators: number;
  viewers: number;
}

/** The pseudo-URL `receive()` reports when presence changed. */
export const PRESENCE_URL = 'tavolo:presence';

export interface PhaseView {
  id: string;
  title: string;
  goal: string;
  locked: boolean;
  /** Planned minutes (the agenda), if any. */
  minutes?: number | null;
  questions: QuestionMeta[];
}

export interface Category {
  id: string;
  label: string;
}

export interface QuestionMeta {
  id: string;
  text: string;
  noteKind: string;
  /** The question document's automerge URL. */
  doc: string;
  categories: Category[];
}

export interface Participant {
  name: string;
  organization: string;
  sector: Sector;
  tier: Tier;
  attendance: Attendance;
}

export type Roster = Record<string, Participant>;

export interface VotingView {
  open: boolean;
  /** Totals shown to participants and the projector. */
  revealed: boolean;
  /** Dots per participant on this question. */
  budget: number;
  /** My dots placed on this question. */
  used: number;
  remaining: number;
}

export interface RankedView {
  kind: 'note' | 'cluster';
  id: string;
  votes: number;
}

export interface QuestionView {
  /** Every note this screen may see, in board order. */
  notes: NoteView[];
  /** The live clusters (merged and dissolved ones are gone). */
  clusters: ClusterView[];
  /** Ids of the notes in no cluster, in board order. */
  loose: string[];
  voting: VotingView;
  /** Most dots first; empty while totals are hidden from this screen. */
  ranking: RankedView[];
}

export interface NoteView {
  id: string;
  text: string;
  category: string | null;
  /** '' for someone else's anonymous note. */
  author: string;
  mine: boolean;
  anonymous: boolean;
  /** null when the note is anonymous (or its author is unknown). */
  organization: string | null;
  /** null when the note is anonymous (or its author is unknown). */
  sector: string | null;
  /** The live cluster it sits in (merges resolved), or null. */
  cluster: string | null;
  createdAt: number;
  /** Total dots; null while hidden from this screen. */
  votes: number | null;
  myDots: number;
  /** Hidden by the facilitator: only its author and the facilitator receive it. */
  hidden: boolean;
  hiddenReason: string | null;
  /** A contribution's timing and condition, if its author said. */
  when?: PledgeWhen | null;
  condition?: string | null;
}

export interface ClusterView {
  id: string;
  title: string;
  /** Titles given concurrently that lost: shown so someone can pick one. */
  titleConflicts: string[];
  /** Dots on it and on its notes; null while hidden from this screen. */
  votes: number | null;
  myDots: number;
  /** Its notes' ids, in board order. */
  notes: string[];
}

export interface LostNote {
  id: string;
  text: string;
}

export interface Refusal {
  doc: string;
  code: string;
  message: string;
  lostNotes: LostNote[];
}

/**
 * What the connection needs from the wasm `TavoloClient`. The generated
 * class satisfies it; tests use a fake.
 */
export interface SyncClient {
  connected(): Uint8Array;
  disconnected(): void;
  receive(frame: Uint8Array): string[];
  takeOutgoing(): Uint8Array[];
  open(url: string): void;
  readonly ready: boolean;
  session(sessionUrl: string): SessionView | undefined;
  roster(rosterUrl: string): Roster | undefined;
  question(url: string): QuestionView | undefined;
  addNote(url: string, text: string, category: string | null, anonymous: boolean, when?: string | null, condition?: string | null): string;
  editNote(url: string, noteId: string, text: string): void;
  takeRefusals(): Refusal[];
  /** The document as kept on the device (`undefined` until it has content). */
  keepLocal?(url: string): { bytes: Uint8Array; confirmed: string[] } | undefined;
  /** Opens a document kept on the device; call before the socket opens. */
  restoreLocal?(url: string, bytes: Uint8Array, confirmed: string[]): void;
  /** Changes of a document the server has not confirmed yet. */
  unconfirmed?(url: string): number;
  /** The server's `error` messages since the last call (older clients lack it). */
  takeServerErrors?(): string[];
  // Clustering (participants and the facilitator) and a participant's own notes and dots.
  createCluster?(url: string, title: string): string;
  createClusterWith?(url: string, title: string, noteIds: string[]): string;
  renameCluster?(url: string, clusterId: string, title: string): void;
  moveNote?(url: string, noteId: string, clusterId: string | null): void;
  mergeClusters?(url: string, fromId: string, intoId: string): void;
  dissolveCluster?(url: string, clusterId: string): void;
  deleteNote?(url: string, noteId: string): void;
  setNoteCategory?(url: string, noteId: string, category: string | null): void;
  addDot?(url: string, targetId: string): void;
  removeDot?(url: string, targetId: string): void;
  // Facilitator only, per question.
  setVoting?(url: string, open: boolean, budget: number | null): void;
  revealVotes?(url: string, revealed: boolean): void;
  hideNote?(url: string, noteId: string, hidden: boolean, reason: string | null, nowMs: number): void;
  removeNote?(url: string, noteId: string, reason: string | null, nowMs: number): void;
  /** Who is connected now; undefined until the server has said. */
  presence?(): PresenceView | undefined;
  /** The timer of the session at `nowMs` (server clock). */
  timer?(sessionUrl: string, nowMs: number): TimerState;
  // Facilitator only: each throws an Error for a participant's client.
  setCurrentPhase?(sessionUrl: string, phaseId: string): void;
  setPhaseLocked?(sessionUrl: string, phaseId: string, locked: boolean): void;
  startTimer?(sessionUrl: string, durationMs: number, nowMs: number): void;
  pauseTimer?(sessionUrl: string, nowMs: number): void;
  resumeTimer?(sessionUrl: string, nowMs: number): void;
  addTime?(sessionUrl: string, deltaMs: number, nowMs: number): void;
  clearTimer?(sessionUrl: string): void;
  setSpotlight?(sessionUrl: string, questionDocUrl: string, targetId: string, kind: 'note' | 'cluster', nowMs: number): void;
  clearSpotlight?(sessionUrl: string): void;
  setOrganizationsPublic?(sessionUrl: string, on: boolean): void;
  setMeetingField?(sessionUrl: string, field: MeetingField, value: string): void;
  setSynthesisField?(sessionUrl: string, phaseId: string, field: SynthesisField, value: string): void;
  setClosing?(sessionUrl: string, field: ClosingField, value: string): void;
  putCommitment?(
    sessionUrl: string,
    id: string,
    organization: string,
    what: string,
    byWhen: string,
    condition: string,
    contactRole: string,
    fromNote: string | null | undefined,
    nowMs: number,
  ): string;
  removeCommitment?(sessionUrl: string, id: string): void;
  setCarriedProgress?(sessionUrl: string, id: string, status: CarriedStatus, progress: string): void;
  setRestitution?(sessionUrl: string, step: RestitutionStep | null): void;
  setPhaseMinutes?(sessionUrl: string, phaseId: string, minutes: number | null): void;
  /** Releases the wasm memory; the client is unusable afterwards. */
  free?(): void;
}

// ---- HTTP API ------------------------------------------------------------

export interface TemplateInfo {
  id: string;
  title: string;
  description: string;
}

export interface CreatedSession {
  session_id: string;
  join_code: string;
  facilitator_key: string;
  session_doc: string;
  title: string;
}

export interface JoinRequest {
  join_code: string;
  name: string;
  organization: string;
  sector: Sector;
  tier: Tier;
  attendance: Attendance;
  /** The resoconto may list the organization among those present (default no). */
  list_organization?: boolean;
}

export interface Joined {
  participant_id: string;
  ticket: string;
  session_doc: string;
  session_id: string;
  expires_at: number;
}

/**
 * `GET /api/join/{code}`: what a person may know before joining — the
 * session's title, whether it takes newcomers, and who holds their data
 * and whom to ask (either may be empty: the page then says it in general).
 */
export interface JoinInfo {
  title: string;
  joining_open: boolean;
  privacy: { controller: string; contact: string };
}

export interface FacilitatorGrant {
  ticket: string;
  session_doc: string;
  /** Sent by newer servers; older ones leave it out. */
  join_code?: string;
  /** Whether new participants may join; older servers leave it out. */
  joining_open?: boolean;
  expires_at: number;
}

/** `POST /api/projector`: a read-only ticket for the room's screen. */
export interface ProjectorGrant {
  ticket: string;
  session_doc: string;
  join_code: string;
  title: string;
  joining_open?: boolean;
  expires_at: number;
}

/** Who a ticket lets in: a participant, the facilitator's console, or a screen that only watches. */
export type TicketRole = 'facilitator' | 'viewer' | 'participant';

/** `GET /api/grant`: what the ticket in the `Authorization` header is good for. */
export interface TicketGrant {
  role: TicketRole;
  session_id: string;
  session_doc: string;
  title: string;
  /** Only for the facilitator and viewers: participants already know it. */
  join_code?: string;
  joining_open: boolean;
  /** Milliseconds since the epoch; null when the server cannot say. */
  expires_at: number | null;
}

/**
 * `POST /api/sessions/{id}/rotate-key`: the new key, and a ticket for the
 * console that asked; every other console and projector was disconnected.
 */
export interface RotatedKey {
  facilitator_key: string;
  ticket: string;
  session_doc: string;
  join_code: string;
  title: string;
  expires_at: number;
  joining_open: boolean;
}
