import { useEffect, useLayoutEffect, useMemo, useRef, useState } from 'preact/hooks';
import { ConnectionBadge } from '../components/ConnectionBadge';
import { MyNotesDownload } from '../components/MyNotesDownload';
import { Notice } from '../components/Notice';
import { ServerProblemNotice } from '../components/ServerProblemNotice';
import { SessionDeletedNotice } from '../components/SessionDeletedNotice';
import { PhaseHeader } from '../components/PhaseHeader';
import { PhaseNavigator } from '../components/PhaseNavigator';
import { PhaseTimer } from '../components/PhaseTimer';
import { QuestionSection, type QuestionEdits } from '../components/QuestionSection';
import type { Connection } from '../lib/connection';
import { RefusalNotice } from '../components/RefusalNotice';
import { ReplacedNotice } from '../components/ReplacedNotice';
import { TopBar } from '../components/TopBar';
import { t, tCount } from '../i18n';
import { useServerClock } from '../lib/clock';
import { forgetParticipant, loadParticipant } from '../lib/credentials';
import { navigate } from '../lib/router';
import type { SessionView, Spotlight } from '../lib/types';
import { useConnection } from '../lib/useConnection';
import { useTimer } from '../lib/useTimer';
import { useTitle } from '../lib/useTitle';

/** How long "moving on to phase N" stays on screen. */
const PHASE_CHANGE_NOTICE_MS = 6000;

const spotlightKey = (s: Spotlight | null | undefined) => (s ? `${s.doc} ${s.target} ${s.at}` : null);

function phaseOfDoc(session: SessionView, doc: string): string | null {
  return session.phases.find((p) => p.questions.some((q) => q.doc === doc))?.id ?? null;
}

function prefersReducedMotion(): boolean {
  return typeof matchMedia === 'function' && matchMedia('(prefers-reduced-motion: reduce)').matches;
}

/** The Connection's edits on one question document. */
function questionEdits(c: Connection, url: string): QuestionEdits {
  return {
    addNote: (text, category, anonymous, terms) => void c.addNote(url, text, category, anonymous, terms),
    editNote: (noteId, text) => c.editNote(url, noteId, text),
    setNoteCategory: (noteId, category) => c.setNoteCategory(url, noteId, category),
    deleteNote: (noteId) => c.deleteNote(url, noteId),
    moveNote: (noteId, clusterId) => c.moveNote(url, noteId, clusterId),
    createClusterWith: (title, noteIds) => c.createClusterWith(url, title, noteIds),
    renameCluster: (clusterId, title) => c.renameCluster(url, clusterId, title),
    mergeClusters: (fromId, intoId) => c.mergeClusters(url, fromId, intoId),
    dissolveCluster: (clusterId) => c.dissolveCluster(url, clusterId),
    addDot: (targetId) => c.addDot(url, targetId),
    removeDot: (targetId) => c.removeDot(url, targetId),
  };
}

const notConnected = () => {
  throw new Error('not connected yet');
};
const NO_EDITS: QuestionEdits = {
  addNote: notConnected,
  editNote: notConnected,
  setNoteCategory: notConnected,
  deleteNote: notConnected,
  moveNote: notConnected,
  createClusterWith: notConnected,
  renameCluster: notConnected,
  mergeClusters: notConnected,
  dissolveCluster: notConnected,
  addDot: notConnected,
  removeDot: notConnected,
};

/** Forgets this phone's ticket for the session and the copy of the board it kept. */
function forget(code: string, connection: Connection | null): void {
  forgetParticipant(code);
  void connection?.forgetLocal();
}

/**
 * `/b/CODE`: the participant's board. It follows the facilitator: the
 * current phase, unless the person chose to look back at an earlier one;
 * a new phase or a new spotlight brings them to it.
 */
export function BoardPage({ code }: { code: string }) {
  const credentials = useMemo(() => loadParticipant(code), [code]);
  const joinPath = `/j/${encodeURIComponent(code)}`;

  useEffect(() => {
    if (!credentials) navigate(joinPath, { replace: true });
  }, [credentials, joinPath]);

  const { connection, failed } = useConnection(
    credentials
      ? {
          ticket: credentials.ticket,
          sessionDoc: credentials.sessionDoc,
          participantId: credentials.participantId,
          sessionId: credentials.sessionId || undefined,
        }
      : null,
  );
  const status = connection?.status ?? 'connecting';
  useServerClock(status === 'connected');
  const session = connection?.session();
  const timer = useTimer(connection);
  useTitle(session?.title);

  // The session is gone, and with it this phone's ticket: keep nothing of it.
  useEffect(() => {
    if (status === 'deleted') forget(code, connection);
  }, [status, code]);

  /** The phase the person chose to look at; null follows the current one. */
  const [viewing, setViewing] = useState<string | null>(null);
  const [phaseNotice, setPhaseNotice] = useState<{ number: number; title: string } | null>(null);
  const lastPhase = useRef<string | null>(null);
  const lastSpotlight = useRef<string | null>(null);
  const scrolledTo = useRef<string | null>(null);

  const currentPhase = session?.currentPhase ?? null;
  // The facilitator moved on: everyone goes to the new phase, and is told so.
  useEffect(() => {
    if (!session || currentPhase === null) return;
    const previous = lastPhase.current;
    lastPhase.current = currentPhase;
    if (previous === null || previous === currentPhase) return;
    setViewing(null);
    const index = session.phases.findIndex((p) => p.id === currentPhase);
    const phase = session.phases[index];
    if (phase) setPhaseNotice({ number: index + 1, title: phase.title });
    window.scrollTo(0, 0);
    const id = setTimeout(() => setPhaseNotice(null), PHASE_CHANGE_NOTICE_MS);
    return () => clearTimeout(id);
  }, [currentPhase]);

  // A new spotlight: go to its phase (the scroll happens once it is drawn).
  const spotlight = session?.spotlight ?? null;
  const spotKey = spotlightKey(spotlight);
  useEffect(() => {
    if (!session) return;
    const previous = lastSpotlight.current;
    lastSpotlight.current = spotKey;
    if (!spotlight || spotKey === previous) return;
    const phaseId = phaseOfDoc(session, spotlight.doc);
    setViewing(phaseId === session.currentPhase ? null : phaseId);
  }, [spotKey]);

  // Scroll to the spotlighted note once it is on the page (it may arrive after the spotlight).
  useLayoutEffect(() => {
    if (!spotlight || scrolledTo.current === spotKey) return;
    const element = document.getElementById(`${spotlight.kind}-${spotlight.target}`);
    if (!element) return;
    scrolledTo.current = spotKey;
    element.scrollIntoView({ block: 'center', behavior: prefersReducedMotion() ? 'auto' : 'smooth' });
  });

  if (!credentials) return null;

  const rejoin = () => {
    forget(code, connection);
    navigate(joinPath);
  };

  const currentIndex = session ? session.phases.findIndex((p) => p.id === session.currentPhase) : -1;
  const viewingIndex = session && viewing !== null ? session.phases.findIndex((p) => p.id === viewing) : -1;
  const shownIndex = viewingIndex >= 0 ? viewingIndex : currentIndex;
  const phase = session?.phases[shownIndex];
  const lookingBack = shownIndex !== currentIndex && currentIndex >= 0;
  const me = connection?.roster()?.[credentials.participantId];
  const showTimer = timer && timer.status !== 'idle' && status !== 'deleted';

  return (
    <>
      <TopBar strip={showTimer ? <PhaseTimer state={timer} variant="strip" /> : undefined}>
        <ConnectionBadge status={status} pending={connection?.pending ?? 0} />
      </TopBar>
      <main id="main" tabIndex={-1} class="page board">
        {status === 'deleted' ? (
          // Gone from the server: the board has nothing left to show.
          <SessionDeletedNotice />
        ) : (
          <>
            {failed && <Notice tone="error">{t('app.wasmFailed')}</Notice>}
            {status === 'rejected' && (
              <Notice tone="error">
                <h2>{t('board.rejoinHeading')}</h2>
                <p>{t('board.rejoinText')}</p>
                <button type="button" class="button button-primary button-wide" onClick={rejoin}>
                  {t('board.rejoinButton')}
                </button>
              </Notice>
            )}
            {status === 'offline' && (
              <Notice tone="warning">
                {t(connection?.keptOnDevice ? 'board.offlineHint' : 'board.offlineHintUnkept')}
              </Notice>
            )}
            {connection && connection.pending > 0 && (status === 'reconnecting' || status === 'connecting') && (
              <Notice tone="warning">
                {connection.keptOnDevice
                  ? `${tCount('connection.pending', connection.pending)}: ${t('board.pendingHint')}`
                  : t('connection.notKept')}
              </Notice>
            )}
            <ServerProblemNotice problem={connection?.serverProblem ?? null} />
            {status === 'replaced' && connection && <ReplacedNotice onResume={() => connection.resume()} />}
            {connection && <RefusalNotice refusals={connection.refusals} onDismiss={() => connection.dismissRefusals()} />}
            {/* Always in the page, so the announcement is heard when it fills. */}
            <div class="phase-change" role="status">
              {phaseNotice && <p class="phase-change-text">{t('board.phaseChanged', phaseNotice)}</p>}
            </div>
            {!session ? (
              !failed && status !== 'rejected' && <p class="muted">{t('board.loadingSession')}</p>
            ) : (
              <>
                <p class="session-line">
                  <span class="session-title">{session.title}</span>
                  {me && <span class="greeting">{t('board.greeting', { name: me.name })}</span>}
                </p>
                <PhaseNavigator
                  phases={session.phases}
                  currentIndex={currentIndex}
                  viewingIndex={shownIndex}
                  onView={(id) => setViewing(id === session.currentPhase ? null : id)}
                />
                {lookingBack && (
                  <div class="looking-back">
                    <p>{t('board.viewingEarlier', { number: currentIndex + 1 })}</p>
                    <button type="button" class="button button-primary button-wide" onClick={() => setViewing(null)}>
                      {t('board.backToCurrent')}
                    </button>
                  </div>
                )}
                {!phase ? (
                  <Notice>{t('board.noPhase')}</Notice>
                ) : (
                  <>
                    <PhaseHeader phase={phase} number={shownIndex + 1} total={session.phases.length} />
                    {phase.questions.map((q) => (
                      <QuestionSection
                        key={q.id}
                        question={q}
                        view={connection?.question(q.doc)}
                        writable={!phase.locked}
                        edits={connection ? questionEdits(connection, q.doc) : NO_EDITS}
                        spotlight={spotlight?.doc === q.doc ? spotlight : null}
                      />
                    ))}
                  </>
                )}
                <MyNotesDownload sessionId={credentials.sessionId} ticket={credentials.ticket} />
              </>
            )}
          </>
        )}
      </main>
    </>
  );
}
