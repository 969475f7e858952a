import '../i18n/console';
import '../console.css';
import { useEffect, useLayoutEffect, useRef, useState } from 'preact/hooks';
import { LockIcon } from '../components/LockIcon';
import { PhaseTimer } from '../components/PhaseTimer';
import { QrCode } from '../components/QrCode';
import { CategoryBadge } from '../components/CategoryBadge';
import { RankingList } from '../components/RankingList';
import { choiceLabel, t, tCount, type Message } from '../i18n';
import { projectorTicket, ticketGrant } from '../lib/api';
import { useServerClock } from '../lib/clock';
import type { Connection } from '../lib/connection';
import { RestitutionView } from '../components/Restitution';
import {
  forgetLegacyProjector,
  forgetProjector,
  loadFacilitator,
  loadProjector,
  saveProjector,
  type ProjectorCredentials,
} from '../lib/credentials';
import { joinLink } from '../lib/links';
import { presenceCounts } from '../lib/presence';
import type { ClusterView, NoteView, ProjectorGrant, QuestionMeta, RecordView, SessionView, Spotlight } from '../lib/types';
import { useConnection } from '../lib/useConnection';
import { useTimer } from '../lib/useTimer';
import { useTitle } from '../lib/useTitle';
import { grantError, takeProjectorFragment, type ProjectorSecret } from '../lib/grants';

function credentialsOf(grant: ProjectorGrant): ProjectorCredentials {
  return {
    ticket: grant.ticket,
    sessionDoc: grant.session_doc,
    joinCode: grant.join_code,
    title: grant.title,
    expiresAt: grant.expires_at,
  };
}

/** How long to keep a viewer ticket whose expiry the server did not say: the server still decides. */
const VIEWER_TICKET_FALLBACK_MS = 24 * 60 * 60 * 1000;

/** Thrown when a `#v=` link holds a ticket that is not this session's viewer ticket. */
class NotAViewerLink extends Error {}

/**
 * The projector's grant from what it was given: a viewer ticket from the
 * console's link (used as it is, once the server says what it is for), the
 * facilitator key of an older link, or this tab's facilitator ticket.
 */
async function projectorGrant(sessionId: string, secret: ProjectorSecret | { ticket: string }): Promise<ProjectorCredentials> {
  if ('viewerTicket' in secret) {
    const g = await ticketGrant(secret.viewerTicket);
    if (g.session_id !== sessionId) throw new NotAViewerLink('another session');
    // A facilitator's ticket pasted as a projector link: trade it for a viewer's, with no power.
    if (g.role === 'facilitator') return credentialsOf(await projectorTicket(sessionId, { ticket: secret.viewerTicket }));
    if (g.role !== 'viewer' || !g.join_code) throw new NotAViewerLink(g.role);
    return {
      ticket: secret.viewerTicket,
      sessionDoc: g.session_doc,
      joinCode: g.join_code,
      title: g.title,
      expiresAt: g.expires_at ?? Date.now() + VIEWER_TICKET_FALLBACK_MS,
    };
  }
  return credentialsOf(await projectorTicket(sessionId, secret));
}

/**
 * `/p/<session_id>#v=<viewer ticket>` (the link the console copies), or
 * `/p/<session_id>` opened in the console's browser: the room's screen.
 * Read-only, nothing to click: big type, the join code and its QR, the
 * current phase's questions with their notes arriving live, the timer and
 * who is here. The secret leaves the address bar at once and is kept for
 * this tab, so a reload works.
 */
export function ProjectorPage({ sessionId }: { sessionId: string }) {
  const [secret, setSecret] = useState(takeProjectorFragment);
  const [grant, setGrant] = useState<ProjectorCredentials | null>(() => (secret ? null : loadProjector(sessionId)));
  const [error, setError] = useState<Message | null>(null);
  const renewed = useRef(false);

  // A new link pasted over this one only changes the fragment: no reload, so start over here.
  useEffect(() => {
    const update = () => {
      const fresh = takeProjectorFragment();
      if (!fresh) return;
      renewed.current = false;
      setSecret(fresh);
      setError(null);
      setGrant(null);
    };
    window.addEventListener('hashchange', update);
    return () => window.removeEventListener('hashchange', update);
  }, []);

  // Older versions kept the grant in localStorage, beyond this tab.
  useEffect(() => forgetLegacyProjector(sessionId), [sessionId]);

  useEffect(() => {
    if (grant || error) return;
    // The link's secret, else the facilitator's ticket in this tab.
    const facilitator = loadFacilitator(sessionId);
    const proof = secret && !renewed.current ? secret : facilitator ? { ticket: facilitator.ticket } : null;
    if (!proof) {
      setError({ key: renewed.current ? 'projector.error.expired' : 'projector.error.noGrant' });
      return;
    }
    let cancelled = false;
    projectorGrant(sessionId, proof).then(
      (credentials) => {
        if (cancelled) return;
        saveProjector(sessionId, credentials);
        setGrant(credentials);
      },
      (err: unknown) => {
        if (cancelled) return;
        if (err instanceof NotAViewerLink) setError({ key: 'projector.error.notViewerLink' });
        else setError(grantError(err, secret && 'viewerTicket' in secret ? 'projector' : 'facilitator'));
      },
    );
    return () => void (cancelled = true);
  }, [grant, error, secret, sessionId]);

  const { connection, failed } = useConnection(
    // The room's screen: no hidden notes, totals only once revealed.
    grant ? { ticket: grant.ticket, sessionDoc: grant.sessionDoc, participantId: null, projector: true, sessionId } : null,
  );
  const status = connection?.status ?? 'connecting';
  useServerClock(status === 'connected');
  const session = connection?.session();
  useTitle(session?.title ?? grant?.title);

  // Expired, or revoked when the facilitator changed the key: once, ask
  // again with this tab's facilitator ticket if there is one, else say so.
  useEffect(() => {
    if (status === 'connected') renewed.current = false;
    if (status !== 'rejected' || renewed.current) return;
    renewed.current = true;
    forgetProjector(sessionId);
    setGrant(null);
  }, [status, sessionId]);

  // The facilitator deleted the session: its viewer ticket is gone too.
  useEffect(() => {
    if (status === 'deleted') forgetProjector(sessionId);
  }, [status, sessionId]);

  if (status === 'deleted') {
    return (
      <main id="main" tabIndex={-1} class="projector">
        <div class="projector-message projector-deleted" role="status">
          <h1>{t('session.deleted.heading')}</h1>
          <p>{t('session.deleted.text')}</p>
        </div>
      </main>
    );
  }

  return (
    <main id="main" tabIndex={-1} class="projector">
      {error && <p class="projector-message">{t(error.key, error.params)}</p>}
      {failed && <p class="projector-message">{t('app.wasmFailed')}</p>}
      {!error && !failed && (!grant || !session) && <p class="projector-message">{t('projector.signingIn')}</p>}
      {grant && session && connection && <RoomView sessionId={sessionId} session={session} grant={grant} connection={connection} />}
    </main>
  );
}

function RoomView({
  sessionId,
  session,
  grant,
  connection,
}: {
  sessionId: string;
  session: SessionView;
  grant: ProjectorCredentials;
  connection: Connection;
}) {
  const timer = useTimer(connection);
  const counts = presenceCounts(connection.presence());
  const index = session.phases.findIndex((p) => p.id === session.currentPhase);
  const phase = session.phases[index];
  const joinUrl = joinLink(location.origin, grant.joinCode);
  const spotlight = session.spotlight ?? null;

  return (
    <div class="room">
      <header class="room-header">
        <div class="room-heading">
          <p class="room-session">{session.title}</p>
          {phase && (
            <h1 class="room-phase" aria-live="polite">
              <span class="room-phase-number">{t('board.phaseOf', { number: index + 1, total: session.phases.length })}</span>
              {phase.title}
              {phase.locked && <span class="room-locked">
                  <LockIcon /> {t('facilitator.locked')}
                </span>}
            </h1>
          )}
        </div>
        {timer && timer.status !== 'idle' && <PhaseTimer state={timer} variant="large" />}
      </header>
      {session.restitution ? (
        <RestitutionView step={session.restitution} sessionId={sessionId} ticket={grant.ticket} />
      ) : (
        <div class="room-body">
          <div class={`room-questions room-questions-${Math.min(phase?.questions.length ?? 1, 3)}`}>
            {phase?.questions.map((q) => (
              <RoomQuestion
                key={q.id}
                question={q}
                connection={connection}
                spotlight={spotlight?.doc === q.doc ? spotlight : null}
              />
            ))}
          </div>
          <aside class="room-join" aria-labelledby="room-join-heading">
            <h2 id="room-join-heading">{t('projector.joinHeading')}</h2>
            <QrCode value={joinUrl} label={t('console.qr')} class="room-qr" />
            <p class="room-code" aria-label={`${t('facilitator.code')}: ${grant.joinCode.split('').join(' ')}`}>
              {grant.joinCode}
            </p>
            <p class="room-join-hint">{t('projector.joinHint', { host: location.host })}</p>
            <p class="room-counts">{t('projector.counts', { ...counts })}</p>
          </aside>
        </div>
      )}
      {phase && !session.restitution && <RoomRecord record={session.record} phaseId={phase.id} />}
    </div>
  );
}

/**
 * What the facilitator writes as the table concludes, shown as it is
 * written: the phase's synthesis, and the latest commitments.
 */
function RoomRecord({ record, phaseId }: { record: RecordView | undefined; phaseId: string }) {
  const s = record?.syntheses[phaseId];
  const commitments = record?.commitments ?? [];
  if (!s && commitments.length === 0) return null;
  const latest = commitments.slice(-3).reverse();
  return (
    <section class="room-record" aria-label={t('projector.record.synthesis')}>
      {s && (
        <div class="room-synthesis">
          <h2>{t('projector.record.synthesis')}</h2>
          {s.synthesis && <p class="room-synthesis-text">{s.synthesis}</p>}
          {s.convergences && (
            <p>
              <strong>{t('record.synthesis.convergences')}:</strong> {s.convergences}
            </p>
          )}
          {s.disagreements && (
            <p>
              <strong>{t('record.synthesis.disagreements')}:</strong> {s.disagreements}
            </p>
          )}
        </div>
      )}
      {latest.length > 0 && (
        <div class="room-commitments">
          <h2>
            {t('projector.record.commitments')} ({commitments.length})
          </h2>
          <ul>
            {latest.map((c) => (
              <li key={c.id}>
                {c.organization && <strong>{c.organization}: </strong>}
                {c.what}
                {c.by_when && <span class="room-commitment-when"> · {t('record.commitments.byWhenShown', { when: c.by_when })}</span>}
              </li>
            ))}
          </ul>
        </div>
      )}
    </section>
  );
}

function authorLine(note: NoteView): string {
  if (note.anonymous) return t('note.anonymous');
  return note.organization || (note.sector ? choiceLabel('sector', note.sector) : '');
}

function RoomNote({ note, question, spotlighted }: { note: NoteView; question: QuestionMeta; spotlighted: boolean }) {
  return (
    <li id={`room-note-${note.id}`} class={`room-note${spotlighted ? ' room-spotlight' : ''}`}>
      {spotlighted && <p class="room-spotlight-label">{t('spotlight.label')}</p>}
      <CategoryBadge categories={question.categories} category={note.category} class="room-note-category" />
      <p class="room-note-text">{note.text}</p>
      <p class="room-note-author">
        {authorLine(note)}
        {note.votes !== null && note.votes > 0 && <span class="room-votes">{tCount('projector.votes', note.votes)}</span>}
      </p>
    </li>
  );
}

/**
 * One question and its notes, grouped by cluster where notes have one, with
 * the totals and the ranking once the facilitator reveals them. What does
 * not fit is counted, never scrolled: nobody is at the projector to scroll.
 */
function RoomQuestion({ question, connection, spotlight }: { question: QuestionMeta; connection: Connection; spotlight: Spotlight | null }) {
  const view = connection.question(question.doc);
  const list = useRef<HTMLDivElement>(null);
  const [hidden, setHidden] = useState(0);
  const notes = view?.notes ?? [];
  const byId = new Map(notes.map((n) => [n.id, n]));
  const spotNote = spotlight?.kind === 'note' ? byId.get(spotlight.target) : undefined;
  const spotCluster = spotlight?.kind === 'cluster' ? spotlight.target : null;
  // The spotlighted note leads, big; the rest follow.
  const pick = (ids: readonly string[]) => ids.map((id) => byId.get(id)).filter((n): n is NoteView => n !== undefined && n !== spotNote);
  const clusters: ClusterView[] = view?.clusters ?? [];
  const groups = clusters
    .map((c) => ({ cluster: c, notes: pick(c.notes) }))
    .filter((g) => g.notes.length > 0 || g.cluster.id === spotCluster);
  // Newest loose notes first: they are the ones people just wrote.
  const loose = pick(view?.loose ?? []).reverse();

  // Hide the notes that do not fit whole (a half note reads as a glitch from
  // the back of the room) and count them, to say "+ N notes".
  useLayoutEffect(() => {
    const box = list.current;
    if (!box) return;
    const bottom = box.getBoundingClientRect().bottom;
    let out = 0;
    for (const el of box.querySelectorAll('.room-note')) {
      const clipped = el.getBoundingClientRect().bottom > bottom + 1;
      el.toggleAttribute('data-clipped', clipped);
      if (clipped) out += 1;
    }
    if (out !== hidden) setHidden(out);
  });

  return (
    <section class="room-question" aria-label={question.text}>
      <h2 class="room-question-text">{question.text}</h2>
      {view && (view.voting.open || view.ranking.length > 0) && (
        <p class="room-voting">
          <span class={`room-voting-tag${view.voting.open ? ' is-open' : ''}`}>
            {t(view.voting.open ? 'projector.votingOpen' : 'projector.votingClosed')}
          </span>
        </p>
      )}
      {view && <RankingList view={view} headingId={`room-ranking-${question.id}`} class="room-ranking" limit={5} />}
      <div class="room-notes" ref={list}>
        {spotNote && (
          <ul class="room-note-list room-note-list-spot">
            <RoomNote note={spotNote} question={question} spotlighted />
          </ul>
        )}
        {notes.length === 0 && <p class="room-empty">{t('projector.noNotes')}</p>}
        {groups.map(({ cluster, notes: inCluster }) => (
          <section key={cluster.id} class={`room-cluster${cluster.id === spotCluster ? ' room-spotlight' : ''}`}>
            {cluster.id === spotCluster && <p class="room-spotlight-label">{t('spotlight.label')}</p>}
            <h3 class="room-cluster-title">
              {cluster.title || t('cluster.untitled')}
              {cluster.votes !== null && cluster.votes > 0 && <span class="room-votes">{tCount('projector.votes', cluster.votes)}</span>}
            </h3>
            <ul class="room-note-list">
              {inCluster.map((n) => (
                <RoomNote key={n.id} note={n} question={question} spotlighted={false} />
              ))}
            </ul>
          </section>
        ))}
        {loose.length > 0 && (
          <section class="room-cluster room-cluster-loose">
            {groups.length > 0 && <h3 class="room-cluster-title">{t('projector.others')}</h3>}
            <ul class="room-note-list">
              {loose.map((n) => (
                <RoomNote key={n.id} note={n} question={question} spotlighted={false} />
              ))}
            </ul>
          </section>
        )}
      </div>
      {hidden > 0 && <p class="room-more">{tCount('projector.moreNotes', hidden)}</p>}
    </section>
  );
}
