// One live connection to a session: owns the WebSocket, feeds the wasm
// client, reconnects, and tells the UI when something it shows changed.
//
// The wasm client holds the documents and the protocol; this file only moves
// bytes and decides *when*. After every call into the client, whatever it
// queued is sent at once (`flush`). Frames queued while the socket is down
// are dropped on purpose: every sync state starts afresh on the next
// connection (`connected()`), which resends whatever the server lacks.

import { backoffDelay, DEFAULT_BACKOFF, type BackoffOptions } from './backoff';
import type { KeptDoc, LocalStore } from './localStore';
import {
  PRESENCE_URL,
  type CarriedStatus,
  type ClosingField,
  type CommitmentDraft,
  type MeetingField,
  type PledgeTerms,
  type PresenceView,
  type QuestionView,
  type Refusal,
  type RestitutionStep,
  type Roster,
  type SessionView,
  type SynthesisField,
  type SyncClient,
  type TimerState,
} from './types';

export type ConnectionStatus =
  /** First attempt, nothing received yet. */
  | 'connecting'
  /** The server answered the join: edits flow both ways. */
  | 'connected'
  /** Lost the server; retrying with backoff. */
  | 'reconnecting'
  /** The device says it has no network; still retrying. */
  | 'offline'
  /** The server turned the ticket away: retrying cannot help. */
  | 'rejected'
  /** The same person opened Tavolo in another window or device, which took over. */
  | 'replaced'
  /** The facilitator deleted the session: nothing left to connect to, for good. */
  | 'deleted';

/**
 * A trouble the server reported with an automerge-repo `error` message:
 * it cannot save (edits are held and will be saved), or a board's stored
 * data is damaged. `other` keeps the server's words.
 */
export type ServerProblem = { kind: 'cannotSave' } | { kind: 'damaged' } | { kind: 'other'; message: string };

export function serverProblem(message: string): ServerProblem {
  if (/cannot save/i.test(message)) return { kind: 'cannotSave' };
  if (/damaged/i.test(message)) return { kind: 'damaged' };
  return { kind: 'other', message };
}

/** Close code: the participant connected again elsewhere (see the server's CloseReason). */
export const CLOSE_REPLACED = 4015;

/**
 * Close code: the ticket was revoked (a participant removed, or the
 * facilitator key rotated). The socket had opened, but reconnecting with
 * the same ticket cannot work: ask the server about it at once.
 */
export const CLOSE_REVOKED = 4016;

/**
 * Close code: the facilitator deleted the session. Every ticket of it is
 * gone and so are its documents on the server: retrying cannot help.
 */
export const CLOSE_SESSION_DELETED = 4017;

/** What a closed socket means for the next step. */
export type CloseOutcome =
  /** Another window took over: wait for the person (`resume`). */
  | 'replaced'
  /** The session is gone: stop for good. */
  | 'deleted'
  /** Ask the server whether the ticket still works before retrying. */
  | 'checkTicket'
  /** Try again after a backoff. */
  | 'retry';

/**
 * How the connection goes on after its socket closed with `code` (none when
 * the browser gave up on the socket itself), having opened or not.
 */
export function closeOutcome(code: number | undefined, opened: boolean): CloseOutcome {
  if (code === CLOSE_SESSION_DELETED) return 'deleted';
  if (code === CLOSE_REPLACED) return 'replaced';
  if (!opened || code === CLOSE_REVOKED) return 'checkTicket';
  return 'retry';
}

/** Whether a status is the end of the connection's story, or one the person must act on. */
export function isFinal(status: ConnectionStatus): boolean {
  return status === 'rejected' || status === 'replaced' || status === 'deleted';
}

/** The part of a WebSocket this file uses (a fake in tests). */
export interface SocketLike {
  binaryType: string;
  readonly readyState: number;
  onopen: ((event: unknown) => void) | null;
  onmessage: ((event: { data: unknown }) => void) | null;
  onclose: ((event: { code: number; reason: string }) => void) | null;
  onerror: ((event: unknown) => void) | null;
  send(data: Uint8Array): void;
  close(code?: number, reason?: string): void;
}

/** What the device says about the network and the page's visibility. */
export interface Environment {
  isOnline(): boolean;
  /** Calls `listener` on changes; returns the unsubscribe function. */
  watch(listener: (event: 'online' | 'offline' | 'visible' | 'hidden') => void): () => void;
}

export interface ConnectionOptions {
  client: SyncClient;
  /** The session document's automerge URL. */
  sessionDoc: string;
  /** `ws(s)://…/sync` */
  socketUrl: string;
  /** The subprotocols to offer; the ticket travels as one of them (see `syncSocketProtocols`). */
  protocols?: string[];
  createSocket?: (url: string, protocols: string[]) => SocketLike;
  /** Asked after a socket failed to open; true stops the retries. */
  ticketRejected?: () => Promise<boolean>;
  backoff?: BackoffOptions;
  /** Gives up on a socket the server has not greeted within this many ms. */
  handshakeTimeoutMs?: number;
  random?: () => number;
  environment?: Environment;
  /**
   * The device's own copy of the documents (IndexedDB) and whose it is:
   * what is written here survives a closed tab and goes out on the next
   * connection. Without it the documents live in the page only.
   */
  localStore?: LocalStore | null;
  owner?: string;
}

/**
 * How long after others' changes arrive the documents are kept on the
 * device (arrivals come in bursts). What is written here is kept right
 * after the screen shows it (`KEEP_LOCAL_DELAY_MS`): it exists nowhere else.
 */
export const KEEP_DELAY_MS = 300;
export const KEEP_LOCAL_DELAY_MS = 0;

const OPEN = 1;

/**
 * A socket can hang in CONNECTING for minutes (a captive portal, a
 * half-open mobile link, a proxy that swallows the upgrade); the server
 * itself drops clients that do not join within 10 s.
 */
export const DEFAULT_HANDSHAKE_TIMEOUT_MS = 10_000;

export class Connection {
  private readonly client: SyncClient;
  private readonly sessionDoc: string;
  private options: ConnectionOptions;
  private readonly environment: Environment;

  private socket: SocketLike | null = null;
  private socketOpened = false;
  private retryTimer: ReturnType<typeof setTimeout> | null = null;
  private handshakeTimer: ReturnType<typeof setTimeout> | null = null;
  /** Consecutive attempts that did not reach a server greeting. */
  private failures = 0;
  private started = false;
  private stopped = false;
  private unwatch: (() => void) | null = null;
  /** Grows with every ticket switch: a check about an older ticket must not judge the new one. */
  private ticketGeneration = 0;

  private currentStatus: ConnectionStatus = 'connecting';
  private problem: ServerProblem | null = null;
  private changes = 0;
  private readonly listeners = new Set<() => void>();
  /** Views by document URL, dropped when the document changes. */
  private readonly views = new Map<string, unknown>();
  private rosterDoc: string | null = null;
  /** Documents opened on the client (they stay open across connections). */
  private readonly opened = new Set<string>();
  private pendingRefusals: Refusal[] = [];
  /** Documents changed since they were last kept on the device. */
  private readonly unkept = new Set<string>();
  private keepTimer: ReturnType<typeof setTimeout> | null = null;
  private keeping: Promise<void> = Promise.resolve();
  private unsent = 0;
  private keptOk = true;
  /** The copy on the device was forgotten: nothing is kept any more. */
  private forgotten = false;

  constructor(options: ConnectionOptions) {
    this.options = options;
    this.client = options.client;
    this.sessionDoc = options.sessionDoc;
    this.environment = options.environment ?? browserEnvironment();
  }

  // ---- lifecycle --------------------------------------------------------

  /**
   * Opens the documents kept on this device (call before `start`): the
   * board shows at once, offline too, and what was written here and not
   * yet sent goes out once connected. Returns how many were kept.
   */
  async restore(): Promise<number> {
    const store = this.options.localStore;
    const owner = this.options.owner;
    if (!store || !owner || !this.client.restoreLocal || this.started) return 0;
    let kept: KeptDoc[];
    try {
      kept = await store.load(owner);
    } catch (e) {
      console.warn('tavolo: the copy kept on this device cannot be read', e);
      return 0;
    }
    let restored = 0;
    for (const doc of kept) {
      try {
        this.client.restoreLocal(doc.url, doc.bytes, doc.confirmed);
        this.opened.add(doc.url);
        restored += 1;
      } catch (e) {
        // A damaged copy: the server's copy replaces it.
        console.warn(`tavolo: the copy of ${doc.url} kept on this device is unreadable`, e);
      }
    }
    this.countUnsent();
    return restored;
  }

  start(): void {
    if (this.started) return;
    this.started = true;
    this.client.open(this.sessionDoc);
    this.opened.add(this.sessionDoc);
    this.unwatch = this.environment.watch((event) => this.onEnvironment(event));
    this.connect();
  }

  /** Takes the session back after another window took over ('replaced'). */
  resume(): void {
    if (this.stopped || this.socket) return;
    this.clearRetry();
    this.failures = 0;
    this.connect();
  }

  /**
   * Goes on with another ticket for the same session (a renewed grant, or
   * the facilitator key rotated): the documents stay, the socket is
   * replaced at once. A no-op for the ticket already in use.
   */
  switchTicket(protocols: string[], ticketRejected?: () => Promise<boolean>): void {
    const same = (this.options.protocols ?? []).join(' ') === protocols.join(' ');
    this.options = { ...this.options, protocols, ticketRejected };
    if (same) return;
    this.ticketGeneration += 1;
    if (!this.started || this.stopped) return;
    this.clearRetry();
    this.clearHandshake();
    const socket = this.socket;
    if (socket) {
      this.detach(socket);
      socket.close(1000, 'new ticket');
      this.socket = null;
      this.client.disconnected();
    }
    this.failures = 0;
    this.setStatus('reconnecting');
    this.connect();
  }

  stop(): void {
    if (this.stopped) return;
    this.keepNow();
    this.stopped = true;
    this.unwatch?.();
    this.clearRetry();
    this.clearHandshake();
    const socket = this.socket;
    if (socket) {
      this.detach(socket);
      socket.close(1000, 'left');
      this.client.disconnected();
    }
  }

  // ---- what the UI reads ------------------------------------------------

  get status(): ConnectionStatus {
    return this.currentStatus;
  }

  /** Changes written here that the server has not confirmed yet. */
  get pending(): number {
    return this.unsent;
  }

  /** Whether the last attempt to keep the documents on the device worked. */
  get keptOnDevice(): boolean {
    return this.keptOk && !!this.options.localStore && !!this.options.owner;
  }

  /**
   * Removes this person's copy from the device and keeps nothing more (the
   * session was deleted, or the person joins again as someone new). Runs
   * after any save already on its way, so none lands after it.
   */
  forgetLocal(): Promise<void> {
    this.forgotten = true;
    this.unkept.clear();
    if (this.keepTimer !== null) clearTimeout(this.keepTimer);
    this.keepTimer = null;
    const store = this.options.localStore;
    const owner = this.options.owner;
    if (!store || !owner) return Promise.resolve();
    this.keeping = this.keeping.then(() =>
      store.clear(owner).catch((e: unknown) => console.warn('tavolo: the copy kept on this device could not be removed', e)),
    );
    return this.keeping;
  }

  /** Resolves once what changed so far is kept on the device. */
  async kept(): Promise<void> {
    this.keepNow();
    await this.keeping;
  }

  /** Grows every time something the UI shows may have changed. */
  get version(): number {
    return this.changes;
  }

  subscribe(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => void this.listeners.delete(listener);
  }

  session(): SessionView | undefined {
    return this.view(this.sessionDoc, () => this.client.session(this.sessionDoc));
  }

  roster(): Roster | undefined {
    const url = this.session()?.rosterDoc;
    if (!url) return undefined;
    return this.view(url, () => this.client.roster(url));
  }

  question(url: string): QuestionView | undefined {
    this.ensureOpen(url);
    return this.view(url, () => this.client.question(url));
  }

  /** Who is connected now; re-read when `receive` reports `tavolo:presence`. */
  presence(): PresenceView | undefined {
    const client = this.client;
    if (!client.presence) return undefined;
    return this.view(PRESENCE_URL, () => client.presence?.());
  }

  /** The phase timer at `nowMs` (the server's clock); never cached, it moves. */
  timer(nowMs: number): TimerState | null {
    if (!this.client.timer || !this.session()?.timer) return null;
    return this.client.timer(this.sessionDoc, nowMs);
  }

  /** What the server last said is wrong on its side, until documents move again. */
  get serverProblem(): ServerProblem | null {
    return this.problem;
  }

  /** Refusals not dismissed yet, oldest first. */
  get refusals(): readonly Refusal[] {
    return this.pendingRefusals;
  }

  dismissRefusals(): void {
    this.pendingRefusals = [];
    this.changed();
  }

  // ---- edits (throw the client's Error when refused locally) -------------

  addNote(url: string, text: string, category: string | null, anonymous: boolean, terms?: PledgeTerms): string {
    const id = terms
      ? this.client.addNote(url, text, category, anonymous, terms.when, terms.condition)
      : this.client.addNote(url, text, category, anonymous);
    this.afterLocalChange(url);
    return id;
  }

  editNote(url: string, noteId: string, text: string): void {
    this.client.editNote(url, noteId, text);
    this.afterLocalChange(url);
  }

  // ---- clusters, own notes and dots (throw the client's Error) ------------

  createCluster(url: string, title: string): string {
    return this.questionEdit(url, 'createCluster', (c) => c.createCluster?.(url, title) ?? '');
  }

  createClusterWith(url: string, title: string, noteIds: string[]): string {
    return this.questionEdit(url, 'createClusterWith', (c) => c.createClusterWith?.(url, title, noteIds) ?? '');
  }

  renameCluster(url: string, clusterId: string, title: string): void {
    this.questionEdit(url, 'renameCluster', (c) => c.renameCluster?.(url, clusterId, title));
  }

  moveNote(url: string, noteId: string, clusterId: string | null): void {
    this.questionEdit(url, 'moveNote', (c) => c.moveNote?.(url, noteId, clusterId));
  }

  mergeClusters(url: string, fromId: string, intoId: string): void {
    this.questionEdit(url, 'mergeClusters', (c) => c.mergeClusters?.(url, fromId, intoId));
  }

  dissolveCluster(url: string, clusterId: string): void {
    this.questionEdit(url, 'dissolveCluster', (c) => c.dissolveCluster?.(url, clusterId));
  }

  deleteNote(url: string, noteId: string): void {
    this.questionEdit(url, 'deleteNote', (c) => c.deleteNote?.(url, noteId));
  }

  setNoteCategory(url: string, noteId: string, category: string | null): void {
    this.questionEdit(url, 'setNoteCategory', (c) => c.setNoteCategory?.(url, noteId, category));
  }

  addDot(url: string, targetId: string): void {
    this.questionEdit(url, 'addDot', (c) => c.addDot?.(url, targetId));
  }

  removeDot(url: string, targetId: string): void {
    this.questionEdit(url, 'removeDot', (c) => c.removeDot?.(url, targetId));
  }

  // ---- moderation and voting (the facilitator's client only) ---------------

  setVoting(url: string, open: boolean, budget: number | null): void {
    this.questionEdit(url, 'setVoting', (c) => c.setVoting?.(url, open, budget));
  }

  revealVotes(url: string, revealed: boolean): void {
    this.questionEdit(url, 'revealVotes', (c) => c.revealVotes?.(url, revealed));
  }

  hideNote(url: string, noteId: string, hidden: boolean, reason: string | null, nowMs: number): void {
    this.questionEdit(url, 'hideNote', (c) => c.hideNote?.(url, noteId, hidden, reason, nowMs));
  }

  removeNote(url: string, noteId: string, reason: string | null, nowMs: number): void {
    this.questionEdit(url, 'removeNote', (c) => c.removeNote?.(url, noteId, reason, nowMs));
  }

  private questionEdit<T>(url: string, method: keyof SyncClient, change: (client: SyncClient) => T): T {
    if (typeof this.client[method] !== 'function') {
      throw new Error(`this client cannot ${String(method)}`);
    }
    const result = change(this.client);
    this.afterLocalChange(url);
    return result;
  }

  // ---- facilitation (the facilitator's client only; throw otherwise) ------

  setCurrentPhase(phaseId: string): void {
    this.facilitate('setCurrentPhase', (c, url) => c.setCurrentPhase?.(url, phaseId));
  }

  setPhaseLocked(phaseId: string, locked: boolean): void {
    this.facilitate('setPhaseLocked', (c, url) => c.setPhaseLocked?.(url, phaseId, locked));
  }

  startTimer(durationMs: number, nowMs: number): void {
    this.facilitate('startTimer', (c, url) => c.startTimer?.(url, durationMs, nowMs));
  }

  pauseTimer(nowMs: number): void {
    this.facilitate('pauseTimer', (c, url) => c.pauseTimer?.(url, nowMs));
  }

  resumeTimer(nowMs: number): void {
    this.facilitate('resumeTimer', (c, url) => c.resumeTimer?.(url, nowMs));
  }

  addTime(deltaMs: number, nowMs: number): void {
    this.facilitate('addTime', (c, url) => c.addTime?.(url, deltaMs, nowMs));
  }

  clearTimer(): void {
    this.facilitate('clearTimer', (c, url) => c.clearTimer?.(url));
  }

  setSpotlight(questionDoc: string, targetId: string, kind: 'note' | 'cluster', nowMs: number): void {
    this.facilitate('setSpotlight', (c, url) => c.setSpotlight?.(url, questionDoc, targetId, kind, nowMs));
  }

  clearSpotlight(): void {
    this.facilitate('clearSpotlight', (c, url) => c.clearSpotlight?.(url));
  }

  /** Whether the public report names organizations (the flag is in the session document). */
  setOrganizationsPublic(on: boolean): void {
    this.facilitate('setOrganizationsPublic', (c, url) => c.setOrganizationsPublic?.(url, on));
  }

  /** One field of the meeting's data (the record, in the session document). */
  setMeetingField(field: MeetingField, value: string): void {
    this.facilitate('setMeetingField', (c, url) => c.setMeetingField?.(url, field, value));
  }

  /** What the table concluded on a phase. */
  setSynthesisField(phaseId: string, field: SynthesisField, value: string): void {
    this.facilitate('setSynthesisField', (c, url) => c.setSynthesisField?.(url, phaseId, field, value));
  }

  setClosing(field: ClosingField, value: string): void {
    this.facilitate('setClosing', (c, url) => c.setClosing?.(url, field, value));
  }

  /** Records a commitment (`id` null for a new one); returns its id. */
  putCommitment(id: string | null, draft: CommitmentDraft, nowMs: number): string {
    let saved = '';
    this.facilitate('putCommitment', (c, url) => {
      saved =
        c.putCommitment?.(url, id ?? '', draft.organization, draft.what, draft.by_when, draft.condition, draft.contact_role, draft.from_note, nowMs) ??
        '';
    });
    return saved;
  }

  /** Plans how long a phase lasts (the agenda), or clears it. */
  setPhaseMinutes(phaseId: string, minutes: number | null): void {
    this.facilitate('setPhaseMinutes', (c, url) => c.setPhaseMinutes?.(url, phaseId, minutes));
  }

  /** Shows a view of the results on the projector, or the board again (null). */
  setRestitution(step: RestitutionStep | null): void {
    this.facilitate('setRestitution', (c, url) => c.setRestitution?.(url, step));
  }

  /** How a commitment carried from the previous meeting is going. */
  setCarriedProgress(id: string, status: CarriedStatus, progress: string): void {
    this.facilitate('setCarriedProgress', (c, url) => c.setCarriedProgress?.(url, id, status, progress));
  }

  removeCommitment(id: string): void {
    this.facilitate('removeCommitment', (c, url) => c.removeCommitment?.(url, id));
  }

  private facilitate(method: keyof SyncClient, change: (client: SyncClient, sessionUrl: string) => void): void {
    if (typeof this.client[method] !== 'function') {
      throw new Error(`this client cannot ${String(method)}`);
    }
    change(this.client, this.sessionDoc);
    this.afterLocalChange(this.sessionDoc);
  }

  // ---- socket -------------------------------------------------------------

  private connect(): void {
    this.retryTimer = null;
    if (this.stopped) return;
    const create =
      this.options.createSocket ?? ((url: string, protocols: string[]) => new WebSocket(url, protocols) as SocketLike);
    let socket: SocketLike;
    try {
      socket = create(this.options.socketUrl, this.options.protocols ?? []);
    } catch (e) {
      console.error('tavolo: cannot open the sync socket', e);
      this.scheduleRetry();
      return;
    }
    socket.binaryType = 'arraybuffer';
    this.socket = socket;
    this.socketOpened = false;
    socket.onopen = () => this.onOpen(socket);
    socket.onmessage = (event) => this.onMessage(socket, event.data);
    socket.onclose = (event) => void this.onClose(socket, event?.code);
    // An error is always followed by close, which does the work.
    socket.onerror = () => {};
    this.handshakeTimer = setTimeout(() => {
      this.handshakeTimer = null;
      if (socket !== this.socket) return;
      console.warn('tavolo: no answer from the server in time, starting over');
      // Do not wait for the browser's close event: a stuck socket may never send it.
      socket.close(4000, 'handshake timeout');
      void this.onClose(socket);
    }, this.options.handshakeTimeoutMs ?? DEFAULT_HANDSHAKE_TIMEOUT_MS);
  }

  private onOpen(socket: SocketLike): void {
    if (socket !== this.socket) return;
    this.socketOpened = true;
    socket.send(this.client.connected());
    // Documents stay open across connections; the greeting resyncs them all.
    this.openSessionDocuments();
    this.flush();
  }

  private onMessage(socket: SocketLike, data: unknown): void {
    if (socket !== this.socket) return;
    if (!(data instanceof ArrayBuffer)) {
      // The protocol is binary only; a text frame is a server bug.
      console.error('tavolo: ignoring a non-binary frame');
      return;
    }
    let changedUrls: string[];
    try {
      changedUrls = this.client.receive(new Uint8Array(data));
    } catch (e) {
      // The sync states may be out of step now: start a fresh connection.
      console.error('tavolo: cannot read a frame from the server', e);
      this.flush();
      socket.close(4000, 'unreadable frame');
      return;
    }
    let notify = changedUrls.length > 0;
    if (this.client.ready && this.handshakeTimer !== null) this.clearHandshake();
    if (this.client.ready && this.currentStatus !== 'connected') {
      this.failures = 0;
      this.currentStatus = 'connected';
      notify = true;
    }
    for (const url of changedUrls) {
      this.views.delete(url);
      if (url !== PRESENCE_URL) this.unkept.add(url);
    }
    if (changedUrls.some((url) => this.shapesEveryView(url))) this.views.clear();
    if (this.countUnsent()) notify = true;
    if (changedUrls.some((url) => url !== PRESENCE_URL)) this.scheduleKeep();
    if (changedUrls.includes(this.sessionDoc)) this.openSessionDocuments();
    const problems = this.client.takeServerErrors?.() ?? [];
    if (problems.length > 0) {
      this.problem = serverProblem(problems[problems.length - 1]!);
      notify = true;
    } else if (this.problem !== null && changedUrls.some((u) => u !== PRESENCE_URL)) {
      // Documents move again: whatever held them is over.
      this.problem = null;
      notify = true;
    }
    const refusals = this.client.takeRefusals();
    if (refusals.length > 0) {
      this.pendingRefusals = [...this.pendingRefusals, ...refusals];
      this.views.clear();
      notify = true;
    }
    this.flush();
    if (notify) this.changed();
  }

  private async onClose(socket: SocketLike, code?: number): Promise<void> {
    if (socket !== this.socket) return;
    this.detach(socket);
    this.socket = null;
    this.clearHandshake();
    this.client.disconnected();
    if (this.stopped) return;
    const outcome = closeOutcome(code, this.socketOpened);
    if (outcome === 'deleted') {
      // Nothing to come back to: no retries, no waking up on 'online'.
      this.stopped = true;
      this.unwatch?.();
      this.clearRetry();
      // Nothing of a deleted session stays on the device either.
      void this.forgetLocal();
      this.setStatus('deleted');
      return;
    }
    if (outcome === 'replaced') {
      // Another window took over: reconnecting would take it back, and the
      // two would push each other out forever. Wait for the person.
      this.setStatus('replaced');
      return;
    }
    if (outcome === 'checkTicket' && this.options.ticketRejected) {
      const generation = this.ticketGeneration;
      const rejected = await this.options.ticketRejected();
      // Stopped, or switched to another ticket meanwhile (which has its own socket).
      if (this.stopped || generation !== this.ticketGeneration) return;
      if (rejected) {
        this.setStatus('rejected');
        return;
      }
    }
    this.scheduleRetry();
  }

  private scheduleRetry(): void {
    if (this.stopped) return;
    const delay = backoffDelay(
      this.failures,
      this.options.backoff ?? DEFAULT_BACKOFF,
      this.options.random ?? Math.random,
    );
    this.failures += 1;
    this.setStatus(this.environment.isOnline() ? 'reconnecting' : 'offline');
    this.retryTimer = setTimeout(() => this.connect(), delay);
  }

  private clearHandshake(): void {
    if (this.handshakeTimer !== null) clearTimeout(this.handshakeTimer);
    this.handshakeTimer = null;
  }

  private clearRetry(): void {
    if (this.retryTimer !== null) clearTimeout(this.retryTimer);
    this.retryTimer = null;
  }

  private onEnvironment(event: 'online' | 'offline' | 'visible' | 'hidden'): void {
    if (event === 'hidden') {
      // The system may kill a hidden tab without another word.
      this.keepNow();
      return;
    }
    if (event === 'offline') {
      if (!isFinal(this.currentStatus)) this.setStatus('offline');
      return;
    }
    if (this.retryTimer !== null) {
      // Back online or back on screen: do not sit out the backoff.
      this.clearRetry();
      if (event === 'online') this.failures = 0;
      this.connect();
    } else if (event === 'online' && this.currentStatus === 'offline') {
      this.setStatus(this.client.ready ? 'connected' : 'reconnecting');
    }
  }

  private detach(socket: SocketLike): void {
    socket.onopen = null;
    socket.onmessage = null;
    socket.onclose = null;
    socket.onerror = null;
  }

  // ---- helpers ------------------------------------------------------------

  /** Sends what the client queued, in order (or drops it: see the top of the file). */
  private flush(): void {
    const frames = this.client.takeOutgoing();
    const socket = this.socket;
    if (!socket || socket.readyState !== OPEN) return;
    for (const frame of frames) socket.send(frame);
  }

  /**
   * Opens the roster and the current phase's questions once the session has
   * loaded (again when the phase moves on). A question of another phase is
   * opened when a view first asks for it (`question`), so a phone on venue
   * Wi-Fi fetches what is on its screen first.
   */
  private openSessionDocuments(): void {
    const session = this.session();
    if (!session) return;
    this.rosterDoc = session.rosterDoc;
    const current = session.phases.find((p) => p.id === session.currentPhase);
    const urls = [session.rosterDoc, ...(current?.questions.map((q) => q.doc) ?? [])];
    for (const url of urls) this.ensureOpen(url);
  }

  private ensureOpen(url: string): void {
    if (this.opened.has(url)) return;
    try {
      this.client.open(url);
      this.opened.add(url);
      // Its request goes out now (a view asked for it mid-render).
      this.flush();
    } catch (e) {
      console.error(`tavolo: cannot open ${url}`, e);
    }
  }

  /**
   * Question views read more than their own document: each author's
   * organization and sector (the roster), the session's dot budget and
   * whether public screens show organizations (the session document).
   */
  private shapesEveryView(url: string): boolean {
    return url === this.sessionDoc || (this.rosterDoc !== null && url === this.rosterDoc);
  }

  private afterLocalChange(url: string): void {
    if (this.shapesEveryView(url)) this.views.clear();
    else this.views.delete(url);
    this.flush();
    // Edited, so open in the client (counted among what may be pending).
    this.opened.add(url);
    this.unkept.add(url);
    this.scheduleKeep(KEEP_LOCAL_DELAY_MS);
    this.countUnsent();
    this.changed();
  }

  /** Counts the changes the server has not confirmed; true if the count moved. */
  private countUnsent(): boolean {
    const count = this.client.unconfirmed;
    if (!count) return false;
    let n = 0;
    for (const url of this.opened) {
      try {
        n += count.call(this.client, url);
      } catch {
        // Not open in the client (yet): nothing of it is pending.
      }
    }
    if (n === this.unsent) return false;
    this.unsent = n;
    return true;
  }

  private scheduleKeep(delay = KEEP_DELAY_MS): void {
    if (!this.options.localStore || !this.options.owner || this.stopped || this.forgotten) return;
    if (this.keepTimer !== null) {
      if (delay >= KEEP_DELAY_MS) return;
      clearTimeout(this.keepTimer);
    }
    this.keepTimer = setTimeout(() => {
      this.keepTimer = null;
      this.keepNow();
    }, delay);
  }

  /** Keeps every document changed since last time on the device, now. */
  private keepNow(): void {
    if (this.keepTimer !== null) clearTimeout(this.keepTimer);
    this.keepTimer = null;
    const store = this.options.localStore;
    const owner = this.options.owner;
    const keep = this.client.keepLocal;
    if (!store || !owner || !keep || this.unkept.size === 0 || this.stopped || this.forgotten) return;
    const docs: KeptDoc[] = [];
    for (const url of this.unkept) {
      try {
        const kept = keep.call(this.client, url);
        if (kept) docs.push({ url, bytes: kept.bytes, confirmed: kept.confirmed });
      } catch (e) {
        console.warn(`tavolo: cannot keep ${url} on this device`, e);
      }
    }
    this.unkept.clear();
    // One save after another, in order: a later copy never lands under an earlier one.
    this.keeping = this.keeping
      .then(() => store.save(owner, docs))
      .then(
        () => {
          if (!this.keptOk) {
            this.keptOk = true;
            this.changed();
          }
        },
        (e: unknown) => {
          console.warn('tavolo: cannot keep the documents on this device', e);
          for (const d of docs) this.unkept.add(d.url);
          if (this.keptOk) {
            this.keptOk = false;
            this.changed();
          }
        },
      );
  }

  private view<T>(url: string, read: () => T | undefined): T | undefined {
    if (this.views.has(url)) return this.views.get(url) as T;
    const value = read();
    if (value !== undefined) this.views.set(url, value);
    return value;
  }

  private setStatus(status: ConnectionStatus): void {
    if (this.currentStatus === status) return;
    this.currentStatus = status;
    this.changed();
  }

  private changed(): void {
    this.changes += 1;
    for (const listener of this.listeners) listener();
  }
}

/** The browser's network and visibility events. */
export function browserEnvironment(): Environment {
  return {
    isOnline: () => (typeof navigator === 'undefined' ? true : navigator.onLine !== false),
    watch(listener) {
      if (typeof window === 'undefined') return () => {};
      const online = () => listener('online');
      const offline = () => listener('offline');
      const visible = () => {
        listener(document.visibilityState === 'visible' ? 'visible' : 'hidden');
      };
      const hidden = () => listener('hidden');
      window.addEventListener('online', online);
      window.addEventListener('offline', offline);
      document.addEventListener('visibilitychange', visible);
      window.addEventListener('pagehide', hidden);
      return () => {
        window.removeEventListener('online', online);
        window.removeEventListener('offline', offline);
        document.removeEventListener('visibilitychange', visible);
        window.removeEventListener('pagehide', hidden);
      };
    },
  };
}
