import '../i18n/console';
import '../console.css';
import { useEffect, useRef, useState } from 'preact/hooks';
import { ConnectionBadge } from '../components/ConnectionBadge';
import { ConsoleAccess } from '../components/ConsoleAccess';
import { ConsoleNotes } from '../components/ConsoleNotes';
import { CopyableLink } from '../components/CopyableLink';
import { DeleteSessionPanel } from '../components/DeleteSessionPanel';
import { JoiningControl } from '../components/JoiningControl';
import { Link } from '../components/Link';
import { Notice } from '../components/Notice';
import { ProjectorPanel } from '../components/ProjectorPanel';
import {
  ClosingPanel,
  CommitmentsPanel,
  MeetingPanel,
  NextMeetingPanel,
  PreviousPanel,
  RestitutionPanel,
  SynthesisPanel,
} from '../components/RecordPanels';
import { ServerProblemNotice } from '../components/ServerProblemNotice';
import { ParticipantsPanel } from '../components/ParticipantsPanel';
import { QrCode } from '../components/QrCode';
import { ReportPanel } from '../components/ReportPanel';
import { TimerControls } from '../components/TimerControls';
import { TopBar } from '../components/TopBar';
import { t, tCount, type Message } from '../i18n';
import {
  ApiError,
  deleteSession,
  facilitatorTicket,
  projectorTicket,
  revokeParticipant,
  rotateKey,
  setJoining,
  ticketGrant,
} from '../lib/api';
import { serverNow, useServerClock } from '../lib/clock';
import type { Connection } from '../lib/connection';
import {
  forgetFacilitator,
  forgetFacilitatorKey,
  forgetLegacyProjector,
  forgetProjector,
  loadFacilitator,
  loadFacilitatorKey,
  saveFacilitator,
  saveFacilitatorKey,
  type FacilitatorCredentials,
} from '../lib/credentials';
import { joinLink } from '../lib/links';
import type { CommitmentDraft, FacilitatorGrant, SessionView } from '../lib/types';
import { useConnection } from '../lib/useConnection';
import { useTimer } from '../lib/useTimer';
import { useTitle } from '../lib/useTitle';
import { grantError, takeKeyFromFragment } from '../lib/grants';

/**
 * The key from the link, taken out of the address bar at once (the console
 * may be on a shared or projected screen) and kept for this tab; else the
 * key this tab kept before a reload.
 */
function keepKeyFromLink(sessionId: string): string | null {
  const fromLink = takeKeyFromFragment();
  if (fromLink) {
    saveFacilitatorKey(sessionId, fromLink);
    return fromLink;
  }
  return loadFacilitatorKey(sessionId);
}

function credentialsOf(grant: FacilitatorGrant): FacilitatorCredentials {
  return {
    ticket: grant.ticket,
    sessionDoc: grant.session_doc,
    expiresAt: grant.expires_at,
    ...(grant.join_code ? { joinCode: grant.join_code } : {}),
  };
}

/**
 * `/f/<session_id>#<key>`: the facilitation console. The phases (advance,
 * jump, lock), the timer, the current phase's notes with the spotlight, who
 * is connected, how people and the projector get in, and the report.
 *
 * The key never stays in the address bar and is never shown: it is kept in
 * sessionStorage for this tab, traded for a facilitator ticket (24 hours),
 * and traded again whenever the server stops taking the ticket.
 *
 * Deleting the session (from here or from another console) ends the page:
 * it forgets the key and the tickets and says what happened.
 */
export function FacilitatorPage({ sessionId }: { sessionId: string }) {
  const [grant, setGrant] = useState<FacilitatorCredentials | null>(() => loadFacilitator(sessionId));
  const [error, setError] = useState<Message | null>(null);
  const [key, setKey] = useState(() => keepKeyFromLink(sessionId));
  const [rotated, setRotated] = useState(false);
  /** The session was deleted: its title (or '' when it never loaded here). */
  const [deleted, setDeleted] = useState<string | null>(null);
  const gone = useRef(false);
  /** A renewal was tried since the last time the console was connected. */
  const renewed = useRef(false);
  /** The key is being rotated: the old ticket's rejection is expected, not a reason to renew. */
  const rotating = useRef(false);
  const keyRef = useRef(key);
  keyRef.current = key;

  // Someone pasting the complete link over an incomplete one only changes the fragment.
  useEffect(() => {
    const update = () => {
      const fresh = takeKeyFromFragment();
      if (!fresh || gone.current) return;
      saveFacilitatorKey(sessionId, fresh);
      setKey(fresh);
      setError(null);
    };
    window.addEventListener('hashchange', update);
    return () => window.removeEventListener('hashchange', update);
  }, [sessionId]);

  // Older versions kept the projector's grant in localStorage, beyond this tab.
  useEffect(() => forgetLegacyProjector(sessionId), [sessionId]);

  /**
   * Trades the key for a ticket and keeps it; a key the server refuses
   * (changed from another console) is of no use to keep. Returns the
   * effect's cleanup.
   */
  const fetchGrant = (withKey: string, onFailure: () => void) => {
    let cancelled = false;
    facilitatorTicket(sessionId, withKey).then(
      (g) => {
        if (cancelled) return;
        const credentials = credentialsOf(g);
        saveFacilitator(sessionId, credentials);
        setGrant(credentials);
      },
      (err: unknown) => {
        if (cancelled) return;
        if (err instanceof ApiError && err.status === 403) forgetFacilitatorKey(sessionId);
        setError(grantError(err));
        onFailure();
      },
    );
    return () => void (cancelled = true);
  };

  // Trade the key for a ticket, kept for this tab only. After a refusal,
  // wait for another key (a pasted link) rather than ask again.
  useEffect(() => {
    if (grant || error || gone.current) return;
    if (!key) {
      setError({ key: 'facilitator.error.missingKey' });
      return;
    }
    return fetchGrant(key, () => {});
  }, [grant, key, error, sessionId]);

  const { connection, failed } = useConnection(
    grant && deleted === null ? { ticket: grant.ticket, sessionDoc: grant.sessionDoc, participantId: null, sessionId } : null,
  );
  const status = connection?.status ?? 'connecting';
  useServerClock(status === 'connected');
  const session = connection?.session();
  useTitle(session ? `${t('facilitator.heading')} · ${session.title}` : t('facilitator.heading'));
  const titleRef = useRef('');
  if (session) titleRef.current = session.title;

  /** The session is gone: nothing of it is worth keeping in this tab. */
  const forgetSession = () => {
    if (gone.current) return;
    gone.current = true;
    forgetFacilitator(sessionId);
    forgetFacilitatorKey(sessionId);
    forgetProjector(sessionId);
    setKey(null);
    setDeleted(titleRef.current);
  };

  // Deleted from another console (or this one's socket heard it first).
  useEffect(() => {
    if (status === 'deleted') forgetSession();
  }, [status]);

  const removeSession = async () => {
    if (!grant) return;
    await deleteSession(sessionId, key ?? grant.ticket);
    forgetSession();
  };

  // A ticket the server no longer takes (expired, or revoked): get a fresh
  // one with the kept key, in place, so the console stays on screen. Once
  // per connection: a key that cannot get a working ticket says so instead.
  useEffect(() => {
    if (status === 'connected') renewed.current = false;
    if (status !== 'rejected' || rotating.current || gone.current) return;
    const renewWith = keyRef.current;
    if (renewed.current || !renewWith) {
      forgetFacilitator(sessionId);
      setError({ key: 'facilitator.error.expired' });
      setGrant(null);
      return;
    }
    renewed.current = true;
    forgetFacilitator(sessionId);
    return fetchGrant(renewWith, () => setGrant(null));
  }, [status, sessionId]);

  const rotate = async (revokeParticipants: boolean) => {
    if (!grant) return;
    rotating.current = true;
    try {
      const r = await rotateKey(sessionId, key ?? grant.ticket, revokeParticipants);
      saveFacilitatorKey(sessionId, r.facilitator_key);
      const credentials = credentialsOf(r);
      saveFacilitator(sessionId, credentials);
      setKey(r.facilitator_key);
      setGrant(credentials);
      setRotated(true);
    } finally {
      rotating.current = false;
    }
  };

  if (deleted !== null) {
    return (
      <>
        <TopBar />
        <main id="main" tabIndex={-1} class="page facilitator">
          <SessionDeleted title={deleted} />
        </main>
      </>
    );
  }

  return (
    <>
      <TopBar>{grant && <ConnectionBadge status={status} />}</TopBar>
      <main id="main" tabIndex={-1} class="page facilitator console">
        <p class="page-kicker">{t('console.kicker')}</p>
        {error && <Notice tone="error">{t(error.key, error.params)}</Notice>}
        {failed && <Notice tone="error">{t('app.wasmFailed')}</Notice>}
        <ServerProblemNotice problem={connection?.serverProblem ?? null} />
        {!grant && !error && <p class="muted">{t('facilitator.signingIn')}</p>}
        {grant && !session && !failed && <p class="muted">{t('board.loadingSession')}</p>}
        {grant && session && connection && (
          <Console
            sessionId={sessionId}
            session={session}
            grant={grant}
            connection={connection}
            facilitatorKey={key}
            rotated={rotated}
            onRotate={rotate}
            onDelete={removeSession}
          />
        )}
      </main>
    </>
  );
}

interface ConsoleProps {
  sessionId: string;
  session: SessionView;
  grant: FacilitatorCredentials;
  connection: Connection;
  /** The key this tab keeps; null when the console was opened without one. */
  facilitatorKey: string | null;
  /** The key was changed from this console since it opened. */
  rotated: boolean;
  onRotate: (revokeParticipants: boolean) => Promise<void>;
  /** Deletes the session from the server; rejects when it did not. */
  onDelete: () => Promise<void>;
}

function Console({ sessionId, session, grant, connection, facilitatorKey, rotated, onRotate, onDelete }: ConsoleProps) {
  const [failure, setFailure] = useState<string | null>(null);
  const [viewerTicket, setViewerTicket] = useState<string | null>(null);
  const [joiningOpen, setJoiningOpen] = useState<boolean | null>(null);
  const timer = useTimer(connection);
  // What proves the facilitator asks, for plain HTTP requests.
  const secret = facilitatorKey ?? grant.ticket;
  // A contribution handed to the commitments form ("Registra come impegno").
  const [commitDraft, setCommitDraft] = useState<CommitmentDraft | null>(null);
  const act = (action: () => void) => {
    try {
      action();
      setFailure(null);
    } catch (e) {
      setFailure(t('console.error', { message: e instanceof Error ? e.message : String(e) }));
    }
  };

  // A viewer ticket for the projector's link: it shows the session and cannot lead it.
  useEffect(() => {
    let cancelled = false;
    setViewerTicket(null);
    projectorTicket(sessionId, { ticket: grant.ticket }).then(
      (g) => !cancelled && setViewerTicket(g.ticket),
      (e: unknown) => console.warn('tavolo: no projector ticket yet', e),
    );
    return () => void (cancelled = true);
  }, [sessionId, grant.ticket]);

  // Whether newcomers may join: not in the documents, so asked of the server.
  useEffect(() => {
    let cancelled = false;
    ticketGrant(grant.ticket).then(
      (g) => !cancelled && setJoiningOpen(g.joining_open),
      (e: unknown) => console.warn('tavolo: cannot tell whether joining is open', e),
    );
    return () => void (cancelled = true);
  }, [grant.ticket]);

  const currentIndex = session.phases.findIndex((p) => p.id === session.currentPhase);
  const current = session.phases[currentIndex];
  const next = session.phases[currentIndex + 1];
  const joinUrl = grant.joinCode ? joinLink(location.origin, grant.joinCode) : null;

  return (
    <>
      <h1>{session.title}</h1>
      {failure && (
        // Fixed at the bottom: the facilitator may be scrolled far from the top.
        <div class="console-toast">
          <Notice tone="error">
            <p>{failure}</p>
            <button type="button" class="button" onClick={() => setFailure(null)}>
              {t('console.dismissError')}
            </button>
          </Notice>
        </div>
      )}
      <section class="card console-now" aria-labelledby="console-now-heading">
        <h2 id="console-now-heading" aria-live="polite">
          {current ? t('console.currentPhase', { number: currentIndex + 1, title: current.title }) : t('board.noPhase')}
          {current?.locked && <span class="tag tag-locked">{t('facilitator.locked')}</span>}
        </h2>
        {next ? (
          <button type="button" class="button button-primary button-advance" onClick={() => act(() => connection.setCurrentPhase(next.id))}>
            {t('console.advance', { number: currentIndex + 2, title: next.title })}
            <span aria-hidden="true">{'\u00a0→'}</span>
          </button>
        ) : (
          <p class="muted">{t('console.lastPhase')}</p>
        )}
      </section>
      <div class="console-grid">
        <div class="console-main">
          {session.record?.previous && (
            <PreviousPanel previous={session.record.previous} roster={connection.roster()} connection={connection} act={act} />
          )}
          <TimerControls connection={connection} timer={timer} act={act} planned={current?.minutes ?? null} />
          {current && (
            <ConsoleNotes
              phase={current}
              questionView={(doc) => connection.question(doc)}
              spotlight={session.spotlight ?? null}
              actions={{
                spotlight: (doc, target, kind) => act(() => connection.setSpotlight(doc, target, kind, serverNow())),
                stopSpotlight: () => act(() => connection.clearSpotlight()),
                setVoting: (doc, open, budget) => act(() => connection.setVoting(doc, open, budget)),
                revealVotes: (doc, revealed) => act(() => connection.revealVotes(doc, revealed)),
                hideNote: (doc, noteId, hidden, reason) => act(() => connection.hideNote(doc, noteId, hidden, reason, serverNow())),
                removeNote: (doc, noteId, reason) => act(() => connection.removeNote(doc, noteId, reason, serverNow())),
                commit: (note) =>
                  setCommitDraft({
                    organization: note.anonymous ? '' : (note.organization ?? ''),
                    what: note.text,
                    // What its author said about timing and conditions carries over.
                    by_when: note.when ? t(`pledge.when.${note.when}`) : '',
                    condition: note.condition ?? '',
                    contact_role: '',
                    from_note: note.id,
                  }),
              }}
            />
          )}
          {current && <SynthesisPanel phase={current} record={session.record} connection={connection} act={act} />}
          <CommitmentsPanel record={session.record} connection={connection} act={act} incoming={commitDraft} now={serverNow} />
          <ClosingPanel record={session.record} connection={connection} act={act} />
          <RestitutionPanel step={session.restitution ?? null} connection={connection} act={act} />
          <NextMeetingPanel sessionId={sessionId} secret={secret} />
          <PhaseList session={session} connection={connection} act={act} />
        </div>
        <aside class="console-side">
          {grant.joinCode && joinUrl && (
            <section class="card share" aria-labelledby="share-heading">
              <h2 id="share-heading">{t('console.share.heading')}</h2>
              <div class="share-row">
                <QrCode value={joinUrl} label={t('console.qr')} class="share-qr" />
                <div>
                  <p class="join-code-label">{t('facilitator.code')}</p>
                  <p class="join-code join-code-console">{grant.joinCode}</p>
                </div>
              </div>
              <CopyableLink id="facilitator-join-link" label={t('facilitator.joinLink')} value={joinUrl} />
              {joiningOpen !== null && (
                <JoiningControl
                  open={joiningOpen}
                  onChange={async (open) => setJoiningOpen((await setJoining(sessionId, secret, open)).joining_open)}
                />
              )}
            </section>
          )}
          <MeetingPanel record={session.record} connection={connection} act={act} />
          <ParticipantsPanel
            roster={connection.roster()}
            presence={connection.presence()}
            onRemove={(id) => revokeParticipant(sessionId, grant.ticket, id)}
          />
          <ProjectorPanel sessionId={sessionId} viewerTicket={viewerTicket} />
          <ConsoleAccess sessionId={sessionId} facilitatorKey={facilitatorKey} rotated={rotated} onRotate={onRotate} />
          <ReportPanel
            sessionId={sessionId}
            facilitatorKey={secret}
            organizationsPublic={session.organizationsPublic ?? false}
            onOrganizationsPublic={(on) => act(() => connection.setOrganizationsPublic(on))}
          />
        </aside>
      </div>
      <DeleteSessionPanel title={session.title} onDelete={onDelete} />
    </>
  );
}

/** The console's last screen: the session is gone, and so is this tab's way into it. */
function SessionDeleted({ title }: { title: string }) {
  return (
    <section class="session-deleted" aria-labelledby="session-deleted-heading">
      <h1 id="session-deleted-heading">{t('console.delete.done.heading')}</h1>
      {title && <p class="session-title">{title}</p>}
      <p>{t('console.delete.done.text')}</p>
      <p>{t('console.delete.done.link')}</p>
      <Link href="/" class="button button-primary">
        {t('common.home')}
      </Link>
    </section>
  );
}

/** A phase's planned minutes (the agenda), saved when the field is left. */
function PlannedMinutes({
  phase,
  params,
  onSave,
}: {
  phase: SessionView['phases'][number];
  params: { number: number; title: string };
  onSave: (minutes: number | null) => void;
}) {
  const [draft, setDraft] = useState<string | null>(null);
  const [invalid, setInvalid] = useState(false);
  const id = `planned-${phase.id}`;
  const save = () => {
    if (draft === null) return;
    const text = draft.trim();
    const n = Number(text);
    if (text !== '' && !(Number.isInteger(n) && n >= 1 && n <= 600)) {
      setInvalid(true);
      return;
    }
    setInvalid(false);
    setDraft(null);
    const minutes = text === '' ? null : n;
    if (minutes !== (phase.minutes ?? null)) onSave(minutes);
  };
  return (
    <div class="field planned-minutes">
      <label for={id}>{t('console.plannedMinutes')}</label>
      <input
        id={id}
        aria-label={t('console.plannedMinutesLabel', params)}
        type="text"
        inputMode="numeric"
        value={draft ?? (phase.minutes ? String(phase.minutes) : '')}
        onInput={(e) => {
          setDraft(e.currentTarget.value);
          setInvalid(false);
        }}
        onBlur={save}
        onKeyDown={(e) => {
          if (e.key === 'Enter') save();
        }}
        aria-invalid={invalid ? 'true' : undefined}
        aria-describedby={invalid ? `${id}-error` : undefined}
      />
      {invalid && (
        <p class="field-error" id={`${id}-error`}>
          {t('console.plannedInvalid')}
        </p>
      )}
    </div>
  );
}

function PhaseList({ session, connection, act }: { session: SessionView; connection: Connection; act: (a: () => void) => void }) {
  return (
    <section class="card" aria-labelledby="phases-heading">
      <h2 id="phases-heading">{t('facilitator.phases')}</h2>
      {session.phases.some((p) => p.minutes) && (
        <p class="muted">{t('console.agendaTotal', { minutes: session.phases.reduce((sum, p) => sum + (p.minutes ?? 0), 0) })}</p>
      )}
      <ol class="phase-list">
        {session.phases.map((phase, i) => {
          const current = phase.id === session.currentPhase;
          const params = { number: i + 1, title: phase.title };
          return (
            <li key={phase.id} class={`phase-item${current ? ' phase-current' : ''}`} aria-current={current ? 'step' : undefined}>
              <h3 class="phase-item-title">
                {phase.title}
                {current && <span class="tag tag-current">{t('facilitator.current')}</span>}
                {phase.locked ? (
                  <span class="tag tag-locked">{t('facilitator.locked')}</span>
                ) : (
                  <span class="tag tag-open">{t('console.open')}</span>
                )}
              </h3>
              <PlannedMinutes phase={phase} params={params} onSave={(m) => act(() => connection.setPhaseMinutes(phase.id, m))} />
              <ul class="phase-questions">
                {phase.questions.map((q) => {
                  const view = connection.question(q.doc);
                  return (
                    <li key={q.id}>
                      <span class="phase-question-text">{q.text}</span>{' '}
                      <span class="note-count">
                        {view ? tCount('facilitator.notes', view.notes.length) : t('common.loading')}
                      </span>
                    </li>
                  );
                })}
              </ul>
              <div class="button-row phase-actions">
                {!current && (
                  <button
                    type="button"
                    class="button button-secondary"
                    aria-label={t('console.jumpLabel', params)}
                    onClick={() => act(() => connection.setCurrentPhase(phase.id))}
                  >
                    {t('console.jump')}
                  </button>
                )}
                <button
                  type="button"
                  class="button button-secondary"
                  aria-label={t(phase.locked ? 'console.unlockLabel' : 'console.lockLabel', params)}
                  onClick={() => act(() => connection.setPhaseLocked(phase.id, !phase.locked))}
                >
                  {t(phase.locked ? 'console.unlock' : 'console.lock')}
                </button>
              </div>
            </li>
          );
        })}
      </ol>
    </section>
  );
}
