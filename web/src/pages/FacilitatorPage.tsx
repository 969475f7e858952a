import { useEffect, useRef, useState } from 'preact/hooks';
import { ConnectionBadge } from '../components/ConnectionBadge';
import { ConsoleNotes } from '../components/ConsoleNotes';
import { CopyableLink } from '../components/CopyableLink';
import { Notice } from '../components/Notice';
import { ServerProblemNotice } from '../components/ServerProblemNotice';
import { ParticipantsPanel } from '../components/ParticipantsPanel';
import { QrCode } from '../components/QrCode';
import { ReportPanel } from '../components/ReportPanel';
import { TimerControls } from '../components/TimerControls';
import { TopBar } from '../components/TopBar';
import { t, tCount, type Message } from '../i18n';
import { facilitatorTicket, projectorTicket, revokeParticipant } from '../lib/api';
import { serverNow, useServerClock } from '../lib/clock';
import type { Connection } from '../lib/connection';
import {
  forgetFacilitator,
  loadFacilitator,
  saveFacilitator,
  saveProjector,
  type FacilitatorCredentials,
} from '../lib/credentials';
import { joinLink, projectorLink, projectorPath } from '../lib/links';
import type { SessionView } from '../lib/types';
import { useConnection } from '../lib/useConnection';
import { useTimer } from '../lib/useTimer';
import { useTitle } from '../lib/useTitle';
import { grantError, keyFromFragment } from '../lib/grants';

/**
 * `/f/<session_id>#<key>`: the facilitation console. The phases (advance,
 * jump, lock), the timer, the current phase's notes with the spotlight, who
 * is connected, how people and the projector get in, and the report.
 */
export function FacilitatorPage({ sessionId }: { sessionId: string }) {
  const [grant, setGrant] = useState<FacilitatorCredentials | null>(() => loadFacilitator(sessionId));
  const [error, setError] = useState<Message | null>(null);
  const [key, setKey] = useState(keyFromFragment);
  const renewed = useRef(false);

  // Someone pasting the complete link over an incomplete one only changes the fragment.
  useEffect(() => {
    const update = () => setKey(keyFromFragment());
    window.addEventListener('hashchange', update);
    return () => window.removeEventListener('hashchange', update);
  }, []);

  // Trade the key in the link for a ticket, kept for this tab only.
  useEffect(() => {
    if (grant) return;
    if (!key) {
      setError({ key: 'facilitator.error.missingKey' });
      return;
    }
    let cancelled = false;
    setError(null);
    facilitatorTicket(sessionId, key).then(
      (g) => {
        if (cancelled) return;
        const credentials: FacilitatorCredentials = {
          ticket: g.ticket,
          sessionDoc: g.session_doc,
          expiresAt: g.expires_at,
          ...(g.join_code ? { joinCode: g.join_code } : {}),
        };
        saveFacilitator(sessionId, credentials);
        setGrant(credentials);
      },
      (err: unknown) => !cancelled && setError(grantError(err)),
    );
    return () => void (cancelled = true);
  }, [grant, key, sessionId]);

  const { connection, failed } = useConnection(
    grant ? { ticket: grant.ticket, sessionDoc: grant.sessionDoc, participantId: null } : null,
  );
  const status = connection?.status ?? 'connecting';
  useServerClock(status === 'connected');
  const session = connection?.session();
  useTitle(session ? `${t('facilitator.heading')} · ${session.title}` : t('facilitator.heading'));

  // A stored ticket the server no longer takes: get a fresh one with the key, once.
  useEffect(() => {
    if (status !== 'rejected' || renewed.current) return;
    renewed.current = true;
    forgetFacilitator(sessionId);
    setGrant(null);
  }, [status, sessionId]);

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
          <Console sessionId={sessionId} session={session} grant={grant} connection={connection} facilitatorKey={key} />
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
  facilitatorKey: string | null;
}

function Console({ sessionId, session, grant, connection, facilitatorKey }: ConsoleProps) {
  const [failure, setFailure] = useState<string | null>(null);
  const timer = useTimer(connection);
  const act = (action: () => void) => {
    try {
      action();
      setFailure(null);
    } catch (e) {
      setFailure(t('console.error', { message: e instanceof Error ? e.message : String(e) }));
    }
  };

  // Ready the projector's read-only grant, so the link opens straight onto the room view.
  useEffect(() => {
    let cancelled = false;
    projectorTicket(sessionId, { ticket: grant.ticket }).then(
      (g) => {
        if (cancelled) return;
        saveProjector(sessionId, {
          ticket: g.ticket,
          sessionDoc: g.session_doc,
          joinCode: g.join_code,
          title: g.title,
          expiresAt: g.expires_at,
        });
      },
      (e: unknown) => console.warn('tavolo: no projector ticket yet', e),
    );
    return () => void (cancelled = true);
  }, [sessionId, grant.ticket]);

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
          <TimerControls connection={connection} timer={timer} act={act} />
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
              }}
            />
          )}
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
            </section>
          )}
          <ParticipantsPanel
            roster={connection.roster()}
            presence={connection.presence()}
            onRemove={(id) => revokeParticipant(sessionId, grant.ticket, id)}
          />
          <section class="card" aria-labelledby="projector-heading">
            <h2 id="projector-heading">{t('console.projector.heading')}</h2>
            <a class="button button-primary button-wide" href={projectorPath(sessionId)} target="_blank">
              {t('console.projector.open')}
            </a>
            <p class="field-hint">{t('console.projector.hint')}</p>
            {facilitatorKey && (
              <CopyableLink
                id="projector-link"
                label={t('console.projector.link')}
                value={projectorLink(location.origin, sessionId, facilitatorKey)}
              />
            )}
          </section>
          <ReportPanel
            sessionId={sessionId}
            facilitatorKey={facilitatorKey ?? grant.ticket}
            organizationsPublic={session.organizationsPublic ?? false}
            onOrganizationsPublic={(on) => act(() => connection.setOrganizationsPublic(on))}
          />
        </aside>
      </div>
    </>
  );
}

function PhaseList({ session, connection, act }: { session: SessionView; connection: Connection; act: (a: () => void) => void }) {
  return (
    <section class="card" aria-labelledby="phases-heading">
      <h2 id="phases-heading">{t('facilitator.phases')}</h2>
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
