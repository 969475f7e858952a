import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { CLOSE_REVOKED, CLOSE_SESSION_DELETED, closeOutcome, Connection, isFinal, KEEP_DELAY_MS, type Environment, type SocketLike } from './connection';
import type { KeptDoc, LocalStore } from './localStore';
import type { NoteView, PresenceView, QuestionView, Refusal, SessionView, SyncClient } from './types';

const SESSION = 'automerge:session';
const ROSTER = 'automerge:roster';
const Q1 = 'automerge:q1';
const Q2 = 'automerge:q2';

const sessionView: SessionView = {
  title: 'Prima sessione',
  template: 'tavolo-prima-sessione',
  currentPhase: 'a',
  rosterDoc: ROSTER,
  voteBudget: 3,
  organizationsPublic: false,
  phases: [
    { id: 'a', title: 'A', goal: '', locked: false, questions: [{ id: 'q1', text: '?', noteKind: 'idea', doc: Q1, categories: [] }] },
    { id: 'b', title: 'B', goal: '', locked: true, questions: [{ id: 'q2', text: '?', noteKind: 'idea', doc: Q2, categories: [] }] },
  ],
};

const frame = (...bytes: number[]) => new Uint8Array(bytes);

/** A client that records what the connection asks and answers from a script. */
class FakeClient implements SyncClient {
  ready = false;
  opened: string[] = [];
  outgoing: Uint8Array[] = [];
  received: number[] = [];
  disconnects = 0;
  sessionLoaded = false;
  sessionReads = 0;
  notes: QuestionView = questionView();
  refusals: Refusal[] = [];
  /** What the next receive() reports as changed, by the frame's first byte. */
  script = new Map<number, () => string[]>();

  connected() {
    this.ready = false;
    this.outgoing = [];
    return frame(0x01);
  }
  disconnected() {
    this.ready = false;
    this.disconnects += 1;
  }
  receive(f: Uint8Array) {
    const b = f[0] ?? 0;
    this.received.push(b);
    if (b === 0xff) throw new Error('frame is not a protocol message');
    this.outgoing.push(frame(0x50 + b));
    return this.script.get(b)?.() ?? [];
  }
  takeOutgoing() {
    const out = this.outgoing;
    this.outgoing = [];
    return out;
  }
  open(url: string) {
    if (!this.opened.includes(url)) this.opened.push(url);
  }
  session(url: string) {
    expect(url).toBe(SESSION);
    this.sessionReads += 1;
    return this.sessionLoaded ? sessionView : undefined;
  }
  roster() {
    return undefined;
  }
  question() {
    return this.notes;
  }
  addNote(url: string, text: string) {
    if (text === '') throw new Error('a note needs some text');
    this.outgoing.push(frame(0x70));
    this.notes = { ...this.notes, notes: [...this.notes.notes, note(url, text)] };
    return 'n1';
  }
  editNote() {}
  presenceView: PresenceView | undefined = undefined;
  presenceReads = 0;
  presence() {
    this.presenceReads += 1;
    return this.presenceView;
  }
  phaseCalls: string[] = [];
  setCurrentPhase(url: string, phaseId: string) {
    expect(url).toBe(SESSION);
    this.phaseCalls.push(phaseId);
    this.outgoing.push(frame(0x71));
  }
  takeRefusals() {
    const r = this.refusals;
    this.refusals = [];
    return r;
  }
  serverErrors: string[] = [];
  takeServerErrors() {
    const e = this.serverErrors;
    this.serverErrors = [];
    return e;
  }
}

const note = (_url: string, text: string) => ({
  id: 'n1',
  text,
  category: null,
  author: 'p',
  mine: true,
  anonymous: false,
  organization: null,
  sector: null,
  cluster: null,
  createdAt: 1,
  votes: 0,
  myDots: 0,
  hidden: false,
  hiddenReason: null,
});

const VOTING_CLOSED = { open: false, revealed: false, budget: 3, used: 0, remaining: 3 };
const questionView = (notes: NoteView[] = []): QuestionView => ({
  notes,
  clusters: [],
  loose: notes.map((n) => n.id),
  voting: VOTING_CLOSED,
  ranking: [],
});

class FakeSocket implements SocketLike {
  binaryType = 'blob';
  readyState = 0;
  sent: number[][] = [];
  closed: { code?: number; reason?: string } | null = null;
  onopen: SocketLike['onopen'] = null;
  onmessage: SocketLike['onmessage'] = null;
  onclose: SocketLike['onclose'] = null;
  onerror: SocketLike['onerror'] = null;
  constructor(
    readonly url: string,
    readonly protocols: string[] = [],
  ) {}
  send(data: Uint8Array) {
    this.sent.push([...data]);
  }
  close(code?: number, reason?: string) {
    this.closed = { code, reason };
  }
  // Server side of the test:
  open() {
    this.readyState = 1;
    this.onopen?.({});
  }
  deliver(...bytes: number[]) {
    this.onmessage?.({ data: new Uint8Array(bytes).buffer });
  }
  drop(code = 1006, reason = '') {
    this.readyState = 3;
    this.onclose?.({ code, reason });
  }
}

type EnvEvent = 'online' | 'offline' | 'visible' | 'hidden';

function fakeEnvironment() {
  let listener: ((e: EnvEvent) => void) | null = null;
  const env: Environment & { online: boolean; emit(e: EnvEvent): void } = {
    online: true,
    isOnline: () => env.online,
    watch(l) {
      listener = l;
      return () => (listener = null);
    },
    emit(e) {
      listener?.(e);
    },
  };
  return env;
}

function setup(options: { ticketRejected?: () => Promise<boolean> } = {}) {
  const client = new FakeClient();
  const sockets: FakeSocket[] = [];
  const environment = fakeEnvironment();
  const connection = new Connection({
    client,
    sessionDoc: SESSION,
    socketUrl: 'ws://test/sync',
    protocols: ['tavolo', 'tavolo.ticket.t'],
    createSocket: (url, protocols) => {
      const s = new FakeSocket(url, protocols);
      sockets.push(s);
      return s;
    },
    random: () => 0.999,
    environment,
    ...options,
  });
  const last = () => sockets[sockets.length - 1]!;
  return { client, sockets, last, environment, connection };
}

// 0x10: the server's greeting; 0x20: a sync frame that loads the session.
function greetAndLoad(client: FakeClient, socket: FakeSocket) {
  client.script.set(0x10, () => {
    client.ready = true;
    return [];
  });
  client.script.set(0x20, () => {
    client.sessionLoaded = true;
    return [SESSION];
  });
  socket.deliver(0x10);
  socket.deliver(0x20);
}

describe('Connection', () => {
  beforeEach(() => void vi.useFakeTimers());
  afterEach(() => void vi.useRealTimers());

  it('sends join first, then the session request, and opens the current phase once the session loads; another phase when a view asks', () => {
    const { client, last, connection } = setup();
    connection.start();
    expect(last().binaryType).toBe('arraybuffer');
    expect(connection.status).toBe('connecting');

    last().open();
    expect(last().sent[0]).toEqual([0x01]);
    greetAndLoad(client, last());

    expect(connection.status).toBe('connected');
    expect(client.opened).toEqual([SESSION, ROSTER, Q1]);
    // Each frame's reply went out right after it.
    expect(last().sent.slice(1)).toEqual([[0x60], [0x70]]);

    // A view of the locked phase opens its question, and its request leaves at once.
    client.outgoing.push(frame(0x42));
    connection.question(Q2);
    expect(client.opened).toEqual([SESSION, ROSTER, Q1, Q2]);
    expect(last().sent.at(-1)).toEqual([0x42]);
    connection.question(Q2);
    expect(client.opened).toEqual([SESSION, ROSTER, Q1, Q2]);
  });

  it('opens the session document before any socket exists', () => {
    const { client, connection } = setup();
    connection.start();
    expect(client.opened).toEqual([SESSION]);
  });

  it('tells subscribers when content or status changes, not on every frame', () => {
    const { client, last, connection } = setup();
    const seen = vi.fn();
    connection.subscribe(seen);
    connection.start();
    last().open();
    greetAndLoad(client, last());
    expect(seen).toHaveBeenCalledTimes(2); // connected, session loaded
    last().deliver(0x30); // a frame that changes nothing
    expect(seen).toHaveBeenCalledTimes(2);
  });

  it('caches views until their document changes', () => {
    const { client, last, connection } = setup();
    connection.start();
    last().open();
    greetAndLoad(client, last());
    const reads = client.sessionReads;
    connection.session();
    connection.session();
    expect(client.sessionReads).toBe(reads);

    const before = connection.question(Q1);
    client.notes = questionView([note(Q1, 'ciao')]);
    expect(connection.question(Q1)).toBe(before);
    client.script.set(0x40, () => [Q1]);
    last().deliver(0x40);
    expect(connection.question(Q1)?.notes).toHaveLength(1);
  });

  it('drops every question view when the roster changes (they show authors)', () => {
    const { client, last, connection } = setup();
    connection.start();
    last().open();
    greetAndLoad(client, last());
    connection.question(Q1);
    client.notes = questionView([note(Q1, 'ciao')]);
    client.script.set(0x41, () => [ROSTER]);
    last().deliver(0x41);
    expect(connection.question(Q1)?.notes).toHaveLength(1);
  });

  it('drops every question view when the session changes (budget, organizations on public screens)', () => {
    const { client, last, connection } = setup();
    connection.start();
    last().open();
    greetAndLoad(client, last());
    connection.question(Q1);
    client.notes = questionView([note(Q1, 'ciao')]);
    client.script.set(0x42, () => [SESSION]);
    last().deliver(0x42);
    expect(connection.question(Q1)?.notes).toHaveLength(1);
  });

  it('drops every question view after a local change to the session', () => {
    const { client, last, connection } = setup();
    connection.start();
    last().open();
    greetAndLoad(client, last());
    connection.question(Q1);
    client.notes = questionView([note(Q1, 'ciao')]);
    connection.setCurrentPhase('b');
    expect(connection.question(Q1)?.notes).toHaveLength(1);
  });

  it('sends a local note at once and shows it', () => {
    const { client, last, connection } = setup();
    connection.start();
    last().open();
    greetAndLoad(client, last());
    connection.question(Q1);
    const seen = vi.fn();
    connection.subscribe(seen);
    expect(connection.addNote(Q1, 'una nota', null, false)).toBe('n1');
    expect(last().sent.at(-1)).toEqual([0x70]);
    expect(connection.question(Q1)?.notes.map((n) => n.text)).toEqual(['una nota']);
    expect(seen).toHaveBeenCalledTimes(1);
    expect(() => connection.addNote(Q1, '', null, false)).toThrow('needs some text');
  });

  it('collects refusals until dismissed', () => {
    const { client, last, connection } = setup();
    connection.start();
    last().open();
    greetAndLoad(client, last());
    const refusal = { doc: Q1, code: 'phase_locked', message: 'phase is locked', lostNotes: [{ id: 'n1', text: 'x' }] };
    client.refusals = [refusal];
    client.script.set(0x42, () => [Q1]);
    last().deliver(0x42);
    expect(connection.refusals).toEqual([refusal]);
    connection.dismissRefusals();
    expect(connection.refusals).toEqual([]);
  });

  it('reconnects with growing jittered delays and resets them once the server answers', () => {
    const { client, sockets, last, connection } = setup();
    connection.start();
    last().drop(); // never opened
    expect(client.disconnects).toBe(1);
    expect(connection.status).toBe('reconnecting');

    vi.advanceTimersByTime(498);
    expect(sockets).toHaveLength(1);
    vi.advanceTimersByTime(1);
    expect(sockets).toHaveLength(2);

    last().drop();
    vi.advanceTimersByTime(998);
    expect(sockets).toHaveLength(2);
    vi.advanceTimersByTime(1);
    expect(sockets).toHaveLength(3);

    last().open();
    greetAndLoad(client, last());
    last().drop();
    expect(connection.status).toBe('reconnecting');
    vi.advanceTimersByTime(499);
    expect(sockets).toHaveLength(4);
    // The new socket joins afresh and reopens what it had.
    last().open();
    expect(last().sent[0]).toEqual([0x01]);
  });

  it('gives up on a socket that hangs before the greeting', () => {
    const { client, sockets, last, connection } = setup();
    connection.start();
    vi.advanceTimersByTime(9_999);
    expect(sockets).toHaveLength(1);
    vi.advanceTimersByTime(1);
    expect(sockets[0]!.closed).toEqual({ code: 4000, reason: 'handshake timeout' });
    expect(client.disconnects).toBe(1);
    expect(connection.status).toBe('reconnecting');
    vi.advanceTimersByTime(500);
    expect(sockets).toHaveLength(2);

    // Opened but never greeted: same thing.
    last().open();
    vi.advanceTimersByTime(10_000);
    expect(sockets[1]!.closed).toEqual({ code: 4000, reason: 'handshake timeout' });

    // Greeted: the timer is gone for good.
    vi.advanceTimersByTime(1_000);
    last().open();
    greetAndLoad(client, last());
    vi.advanceTimersByTime(60_000);
    expect(last().closed).toBeNull();
    expect(connection.status).toBe('connected');
  });

  it('ignores events from a socket it has replaced', () => {
    const { client, sockets, last, connection } = setup();
    connection.start();
    const first = last();
    first.drop();
    vi.advanceTimersByTime(500);
    expect(sockets).toHaveLength(2);
    first.deliver(0x10);
    expect(client.received).toEqual([]);
  });

  it('closes and starts over when a frame cannot be read', () => {
    const { last, connection } = setup();
    connection.start();
    last().open();
    last().deliver(0xff);
    expect(last().closed).toEqual({ code: 4000, reason: 'unreadable frame' });
    expect(connection.status).toBe('connecting');
  });

  it('says offline when the device is, and retries at once when the network is back', () => {
    const { sockets, last, environment, connection } = setup();
    connection.start();
    environment.online = false;
    last().drop();
    expect(connection.status).toBe('offline');
    environment.online = true;
    environment.emit('online');
    expect(sockets).toHaveLength(2);
    expect(connection.status).toBe('offline');
    last().drop();
    expect(connection.status).toBe('reconnecting');
  });

  it('stops retrying when the server turns the ticket away', async () => {
    const ticketRejected = vi.fn(async () => true);
    const { sockets, last, connection } = setup({ ticketRejected });
    connection.start();
    last().drop();
    await vi.waitFor(() => expect(connection.status).toBe('rejected'));
    vi.advanceTimersByTime(60_000);
    expect(sockets).toHaveLength(1);
  });

  it('opens the socket with the ticket among the subprotocols, not in the address', () => {
    const { last, connection } = setup();
    connection.start();
    expect(last().url).toBe('ws://test/sync');
    expect(last().protocols).toEqual(['tavolo', 'tavolo.ticket.t']);
  });

  it('asks about the ticket at once when the server says it was revoked', async () => {
    const ticketRejected = vi.fn(async () => true);
    const { sockets, last, client, connection } = setup({ ticketRejected });
    connection.start();
    last().open();
    greetAndLoad(client, last());
    expect(connection.status).toBe('connected');
    last().drop(CLOSE_REVOKED);
    await vi.waitFor(() => expect(connection.status).toBe('rejected'));
    expect(ticketRejected).toHaveBeenCalledTimes(1);
    vi.advanceTimersByTime(60_000);
    expect(sockets).toHaveLength(1);
  });

  it('retries after a revocation the server does not confirm (the check itself failed)', async () => {
    const ticketRejected = vi.fn(async () => false);
    const { sockets, last, connection } = setup({ ticketRejected });
    connection.start();
    last().open();
    last().drop(CLOSE_REVOKED);
    await vi.waitFor(() => expect(ticketRejected).toHaveBeenCalledTimes(1));
    await vi.waitFor(() => expect(connection.status).toBe('reconnecting'));
    vi.advanceTimersByTime(60_000);
    expect(sockets.length).toBeGreaterThan(1);
  });

  it('switches to a new ticket at once, keeping the documents', () => {
    const { sockets, last, client, connection } = setup();
    connection.start();
    const first = last();
    first.open();
    greetAndLoad(client, first);
    const opened = [...client.opened];
    connection.switchTicket(['tavolo', 'tavolo.ticket.t2']);
    expect(first.closed).toEqual({ code: 1000, reason: 'new ticket' });
    expect(sockets).toHaveLength(2);
    expect(last().protocols).toEqual(['tavolo', 'tavolo.ticket.t2']);
    expect(connection.status).toBe('reconnecting');
    expect(client.opened).toEqual(opened);
    // The old socket's late events change nothing.
    first.drop();
    expect(sockets).toHaveLength(2);
    last().open();
    greetAndLoad(client, last());
    expect(connection.status).toBe('connected');
  });

  it('ignores a switch to the ticket already in use', () => {
    const { sockets, last, connection } = setup();
    connection.start();
    last().open();
    connection.switchTicket(['tavolo', 'tavolo.ticket.t']);
    expect(sockets).toHaveLength(1);
    expect(last().closed).toBeNull();
  });

  it('comes back from a rejected ticket when given a new one', async () => {
    const { sockets, last, connection } = setup({ ticketRejected: async () => true });
    connection.start();
    last().drop();
    await vi.waitFor(() => expect(connection.status).toBe('rejected'));
    connection.switchTicket(['tavolo', 'tavolo.ticket.t2'], async () => false);
    expect(sockets).toHaveLength(2);
    expect(connection.status).toBe('reconnecting');
  });

  it('does not judge a new ticket by the check of the old one', async () => {
    let answer: (rejected: boolean) => void = () => {};
    const slowCheck = () => new Promise<boolean>((resolve) => (answer = resolve));
    const { sockets, last, connection } = setup({ ticketRejected: slowCheck });
    connection.start();
    last().drop(); // the old ticket's check is out
    connection.switchTicket(['tavolo', 'tavolo.ticket.t2'], async () => false);
    answer(true);
    await Promise.resolve();
    await Promise.resolve();
    expect(connection.status).toBe('reconnecting');
    expect(sockets).toHaveLength(2);
  });

  it('does not ask about the ticket when the socket had opened', async () => {
    const ticketRejected = vi.fn(async () => true);
    const { sockets, last, connection } = setup({ ticketRejected });
    connection.start();
    last().open();
    last().drop();
    vi.advanceTimersByTime(500);
    expect(ticketRejected).not.toHaveBeenCalled();
    expect(sockets).toHaveLength(2);
  });

  it('waits for the person when another window took over, and takes back over on request', () => {
    const { sockets, last, connection } = setup();
    connection.start();
    last().open();
    last().drop(4015, 'opened in another window or device');
    expect(connection.status).toBe('replaced');
    vi.advanceTimersByTime(60_000);
    expect(sockets).toHaveLength(1);
    connection.resume();
    expect(sockets).toHaveLength(2);
  });

  it('stops for good when the facilitator deleted the session', async () => {
    const ticketRejected = vi.fn(async () => true);
    const { client, sockets, last, environment, connection } = setup({ ticketRejected });
    const listener = vi.fn();
    connection.subscribe(listener);
    connection.start();
    last().open();
    greetAndLoad(client, last());
    last().drop(CLOSE_SESSION_DELETED, 'the facilitator deleted this session');
    expect(connection.status).toBe('deleted');
    expect(listener).toHaveBeenCalled();
    expect(client.disconnects).toBe(1);
    // Nothing wakes it: not time, not the network coming back, not the person.
    vi.advanceTimersByTime(60_000);
    environment.emit('offline');
    environment.emit('online');
    environment.emit('visible');
    connection.resume();
    await Promise.resolve();
    expect(sockets).toHaveLength(1);
    expect(connection.status).toBe('deleted');
    // There is no ticket to ask about: the session is gone.
    expect(ticketRejected).not.toHaveBeenCalled();
  });

  it('says the server cannot save until documents move again', () => {
    const { client, last, connection } = setup();
    connection.start();
    last().open();
    greetAndLoad(client, last());
    client.serverErrors = ['the server cannot save right now; your changes are kept and will be saved when it recovers'];
    client.script.set(0x30, () => []);
    last().deliver(0x30);
    expect(connection.serverProblem).toEqual({ kind: 'cannotSave' });
    client.script.set(0x31, () => [SESSION]);
    last().deliver(0x31);
    expect(connection.serverProblem).toBeNull();
  });

  it('stops for good', () => {
    const { client, sockets, last, connection } = setup();
    connection.start();
    const socket = last();
    socket.open();
    connection.stop();
    expect(socket.closed).toEqual({ code: 1000, reason: 'left' });
    expect(client.disconnects).toBe(1);
    socket.drop();
    vi.advanceTimersByTime(60_000);
    expect(sockets).toHaveLength(1);
  });

  it('re-reads presence only when the server says it changed', () => {
    const { client, last, connection } = setup();
    connection.start();
    last().open();
    greetAndLoad(client, last());
    client.presenceView = { participants: {}, inRoom: 1, remote: 0, facilitators: 1, viewers: 0 };
    expect(connection.presence()?.inRoom).toBe(1);
    expect(connection.presence()?.inRoom).toBe(1);
    expect(client.presenceReads).toBe(1);

    const listener = vi.fn();
    connection.subscribe(listener);
    client.presenceView = { participants: {}, inRoom: 1, remote: 1, facilitators: 1, viewers: 0 };
    client.script.set(0x30, () => ['tavolo:presence']);
    last().deliver(0x30);
    expect(listener).toHaveBeenCalled();
    expect(connection.presence()?.remote).toBe(1);
    expect(client.presenceReads).toBe(2);
  });

  it('sends a facilitator change at once and redraws', () => {
    const { client, last, connection } = setup();
    connection.start();
    last().open();
    greetAndLoad(client, last());
    const listener = vi.fn();
    connection.subscribe(listener);
    const sent = last().sent.length;
    connection.setCurrentPhase('b');
    expect(client.phaseCalls).toEqual(['b']);
    expect(last().sent.slice(sent)).toEqual([[0x71]]);
    expect(listener).toHaveBeenCalled();
  });

  it('says plainly when the client cannot facilitate', () => {
    const { connection } = setup();
    connection.start();
    expect(() => connection.clearTimer()).toThrow('cannot clearTimer');
  });

  it('sends a move at once, drops the cached view and redraws', () => {
    const { client, last, connection } = setup();
    const moves: [string, string, string | null][] = [];
    Object.assign(client, {
      moveNote(url: string, noteId: string, clusterId: string | null) {
        moves.push([url, noteId, clusterId]);
        client.outgoing.push(frame(0x72));
      },
    });
    connection.start();
    last().open();
    greetAndLoad(client, last());
    const before = connection.question(Q1);
    const listener = vi.fn();
    connection.subscribe(listener);
    const sent = last().sent.length;
    connection.moveNote(Q1, 'n1', 'c1');
    expect(moves).toEqual([[Q1, 'n1', 'c1']]);
    expect(last().sent.slice(sent)).toEqual([[0x72]]);
    expect(listener).toHaveBeenCalled();
    client.notes = questionView([note(Q1, 'ciao')]);
    expect(connection.question(Q1)).not.toBe(before);
  });

  it('passes the client’s refusal of a dot on, and sends nothing', () => {
    const { client, last, connection } = setup();
    Object.assign(client, {
      addDot() {
        throw new Error('no dots left: the budget is 3');
      },
    });
    connection.start();
    last().open();
    greetAndLoad(client, last());
    const sent = last().sent.length;
    expect(() => connection.addDot(Q1, 'n1')).toThrow('no dots left');
    expect(last().sent.length).toBe(sent);
    expect(() => connection.setVoting(Q1, true, 3)).toThrow('cannot setVoting');
  });
});

describe('closeOutcome', () => {
  it('ends for good on 4017, whether or not the socket had opened', () => {
    expect(CLOSE_SESSION_DELETED).toBe(4017);
    expect(closeOutcome(4017, true)).toBe('deleted');
    expect(closeOutcome(4017, false)).toBe('deleted');
  });

  it('waits for the person on 4015', () => {
    expect(closeOutcome(4015, true)).toBe('replaced');
  });

  it('asks about the ticket when revoked or when the socket never opened', () => {
    expect(closeOutcome(CLOSE_REVOKED, true)).toBe('checkTicket');
    expect(closeOutcome(1006, false)).toBe('checkTicket');
    expect(closeOutcome(undefined, false)).toBe('checkTicket');
  });

  it('retries after anything else once it had opened', () => {
    expect(closeOutcome(1001, true)).toBe('retry');
    expect(closeOutcome(1006, true)).toBe('retry');
    expect(closeOutcome(4008, true)).toBe('retry');
  });
});

describe('isFinal', () => {
  it('is true of the states only the person (or nobody) can end', () => {
    expect(isFinal('deleted')).toBe(true);
    expect(isFinal('replaced')).toBe(true);
    expect(isFinal('rejected')).toBe(true);
    expect(isFinal('reconnecting')).toBe(false);
    expect(isFinal('offline')).toBe(false);
    expect(isFinal('connected')).toBe(false);
  });
});

/** A device store in memory; `failing` makes every save throw. */
class MemoryStore implements LocalStore {
  rows = new Map<string, KeptDoc>();
  saves = 0;
  failing = false;
  async load(owner: string) {
    return [...this.rows.entries()].filter(([k]) => k.startsWith(`${owner}|`)).map(([, d]) => d);
  }
  async save(owner: string, docs: KeptDoc[]) {
    this.saves += 1;
    if (this.failing) throw new Error('QuotaExceededError');
    for (const d of docs) this.rows.set(`${owner}|${d.url}`, d);
  }
  async clear(owner: string) {
    for (const k of [...this.rows.keys()]) if (k.startsWith(`${owner}|`)) this.rows.delete(k);
  }
}

/** A client whose documents are numbers: each edit adds one unconfirmed change. */
class KeepingClient extends FakeClient {
  version = new Map<string, number>();
  confirmedAt = new Map<string, number>();
  restored: string[] = [];
  override addNote(url: string, text: string) {
    this.version.set(url, (this.version.get(url) ?? 0) + 1);
    return super.addNote(url, text);
  }
  keepLocal(url: string) {
    const v = this.version.get(url);
    if (v === undefined) return undefined;
    return { bytes: new Uint8Array([v]), confirmed: [String(this.confirmedAt.get(url) ?? 0)] };
  }
  restoreLocal(url: string, bytes: Uint8Array, confirmed: string[]) {
    this.restored.push(url);
    this.open(url);
    this.version.set(url, bytes[0]!);
    this.confirmedAt.set(url, Number(confirmed[0]));
  }
  unconfirmed(url: string) {
    return (this.version.get(url) ?? 0) - (this.confirmedAt.get(url) ?? 0);
  }
}

const Q = 'automerge:question';

function keeping(store: LocalStore, client = new KeepingClient()) {
  const environment = fakeEnvironment();
  const sockets: FakeSocket[] = [];
  const connection = new Connection({
    client,
    sessionDoc: SESSION,
    socketUrl: 'ws://test/sync',
    createSocket: (url, protocols) => {
      const s = new FakeSocket(url, protocols);
      sockets.push(s);
      return s;
    },
    environment,
    localStore: store,
    owner: 'me',
  });
  return { client, connection, environment, sockets };
}

describe('Connection kept on the device', () => {
  beforeEach(() => void vi.useFakeTimers());
  afterEach(() => void vi.useRealTimers());

  it('keeps an edit on the device shortly after, counted as pending until the server confirms it', async () => {
    const store = new MemoryStore();
    const { client, connection, sockets } = keeping(store);
    connection.start();
    connection.addNote(Q, 'scritta offline', null, false);
    expect(connection.pending).toBe(1);
    // Kept right after the screen showed it, not at the next arrival.
    expect(store.rows.size).toBe(0);
    vi.advanceTimersByTime(0);
    await Promise.resolve();
    expect(store.saves).toBe(1);
    await connection.kept();
    expect(store.rows.get(`me|${Q}`)?.bytes).toEqual(new Uint8Array([1]));
    // The server confirms it: nothing pending any more.
    sockets[0]!.open();
    client.confirmedAt.set(Q, 1);
    client.script.set(0x02, () => [Q]);
    sockets[0]!.deliver(0x02);
    expect(connection.pending).toBe(0);
  });

  it('keeps at once when the page is hidden (a phone may kill it then)', async () => {
    const store = new MemoryStore();
    const { connection, environment } = keeping(store);
    connection.start();
    connection.addNote(Q, 'uno', null, false);
    connection.addNote(Q, 'due', null, false);
    environment.emit('hidden');
    await connection.kept();
    expect(store.saves).toBe(1);
    expect(store.rows.get(`me|${Q}`)?.bytes).toEqual(new Uint8Array([2]));
  });

  it('opens what was kept before connecting, with what is still to send', async () => {
    const store = new MemoryStore();
    store.rows.set(`me|${Q}`, { url: Q, bytes: new Uint8Array([5]), confirmed: ['2'] });
    store.rows.set(`other|${Q}`, { url: Q, bytes: new Uint8Array([9]), confirmed: ['0'] });
    const { client, connection, sockets } = keeping(store);
    expect(await connection.restore()).toBe(1);
    expect(client.restored).toEqual([Q]);
    expect(connection.pending).toBe(3);
    expect(sockets).toHaveLength(0);
    connection.start();
    expect(sockets).toHaveLength(1);
  });

  it('says so when the device cannot keep the documents, and tries again with the next change', async () => {
    const store = new MemoryStore();
    store.failing = true;
    const { connection } = keeping(store);
    connection.start();
    expect(connection.keptOnDevice).toBe(true);
    connection.addNote(Q, 'uno', null, false);
    await connection.kept();
    expect(connection.keptOnDevice).toBe(false);
    store.failing = false;
    connection.addNote(Q, 'due', null, false);
    await connection.kept();
    expect(connection.keptOnDevice).toBe(true);
    expect(store.rows.get(`me|${Q}`)?.bytes).toEqual(new Uint8Array([2]));
  });

  it('keeps nothing for a screen without an owner (the projector, the console)', async () => {
    const store = new MemoryStore();
    const client = new KeepingClient();
    const connection = new Connection({
      client,
      sessionDoc: SESSION,
      socketUrl: 'ws://test/sync',
      createSocket: (url, protocols) => new FakeSocket(url, protocols),
      environment: fakeEnvironment(),
      localStore: store,
    });
    connection.start();
    connection.addNote(Q, 'uno', null, false);
    await connection.kept();
    expect(store.saves).toBe(0);
    expect(connection.keptOnDevice).toBe(false);
  });
});

describe('Connection keeping arrivals', () => {
  beforeEach(() => void vi.useFakeTimers());
  afterEach(() => void vi.useRealTimers());

  it('keeps documents changed by the server after a short pause, in one save', async () => {
    const store = new MemoryStore();
    const { client, connection, sockets } = keeping(store);
    connection.start();
    sockets[0]!.open();
    client.version.set(Q, 3);
    client.confirmedAt.set(Q, 3);
    client.script.set(0x02, () => [Q]);
    sockets[0]!.deliver(0x02);
    sockets[0]!.deliver(0x02);
    vi.advanceTimersByTime(KEEP_DELAY_MS - 1);
    expect(store.saves).toBe(0);
    vi.advanceTimersByTime(1);
    await connection.kept();
    expect(store.saves).toBe(1);
    expect(store.rows.get(`me|${Q}`)?.bytes).toEqual(new Uint8Array([3]));
  });
});

describe('Connection forgetting the copy on the device', () => {
  beforeEach(() => void vi.useFakeTimers());
  afterEach(() => void vi.useRealTimers());

  it('removes it after a save already on its way, and keeps nothing after', async () => {
    const store = new MemoryStore();
    const { connection } = keeping(store);
    connection.start();
    connection.addNote(Q, 'uno', null, false);
    vi.advanceTimersByTime(0); // the save is on its way
    await connection.forgetLocal();
    expect(store.rows.size).toBe(0);
    const saves = store.saves;
    connection.addNote(Q, 'due', null, false);
    vi.advanceTimersByTime(KEEP_DELAY_MS);
    await connection.kept();
    expect(store.saves).toBe(saves);
    expect(store.rows.size).toBe(0);
  });

  it('forgets by itself when the session is deleted', async () => {
    const store = new MemoryStore();
    const { connection, sockets } = keeping(store);
    connection.start();
    connection.addNote(Q, 'uno', null, false);
    await connection.kept();
    expect(store.rows.size).toBe(1);
    sockets[0]!.open();
    sockets[0]!.drop(CLOSE_SESSION_DELETED, 'session deleted');
    expect(connection.status).toBe('deleted');
    await connection.kept();
    expect(store.rows.size).toBe(0);
  });
});
