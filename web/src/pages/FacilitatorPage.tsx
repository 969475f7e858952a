import { useEffect, useRef, useState } from 'preact/hooks';
import { ConnectionBadge } from '../components/ConnectionBadge';
import { CopyableLink } from '../components/CopyableLink';
import { Notice } from '../components/Notice';
import { TopBar } from '../components/TopBar';
import { t, tCount, type Message } from '../i18n';
import { ApiError, facilitatorTicket, NetworkError } from '../lib/api';
import type { Connection } from '../lib/connection';
import { forgetFacilitator, loadFacilitator, saveFacilitator, type FacilitatorCredentials } from '../lib/credentials';
import { joinLink } from '../lib/links';
import type { SessionView } from '../lib/types';
import { useConnection } from '../lib/useConnection';
import { useTitle } from '../lib/useTitle';

function keyFromFragment(): string | null {
  try {
    const key = decodeURIComponent(location.hash.replace(/^#/, '')).trim();
    return key || null;
  } catch {
    return null;
  }
}

function grantError(err: unknown): Message {
  if (err instanceof ApiError && err.status === 403) return { key: 'facilitator.error.wrongKey' };
  if (err instanceof ApiError && err.status === 404) return { key: 'facilitator.error.unknownSession' };
  if (err instanceof NetworkError) return { key: 'common.networkError' };
  return { key: 'common.serverError', params: { message: err instanceof Error ? err.message : String(err) } };
}

/**
 * `/f/<session_id>#<key>`: the facilitator's view. Small for now: the code
 * to share, the phases with the current one marked, live note counts.
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
      <main id="main" tabIndex={-1} class="page facilitator">
        <p class="page-kicker">{t('facilitator.heading')}</p>
        {error && <Notice tone="error">{t(error.key, error.params)}</Notice>}
        {failed && <Notice tone="error">{t('app.wasmFailed')}</Notice>}
        {!grant && !error && <p class="muted">{t('facilitator.signingIn')}</p>}
        {grant && !session && !failed && <p class="muted">{t('board.loadingSession')}</p>}
        {grant && session && connection && <SessionOverview session={session} grant={grant} connection={connection} />}
      </main>
    </>
  );
}

function SessionOverview({
  session,
  grant,
  connection,
}: {
  session: SessionView;
  grant: FacilitatorCredentials;
  connection: Connection;
}) {
  const roster = connection.roster();
  return (
    <>
      <h1>{session.title}</h1>
      {grant.joinCode && (
        <section class="card share" aria-labelledby="share-heading">
          <h2 id="share-heading" class="join-code-label">
            {t('facilitator.code')}
          </h2>
          <p class="join-code">{grant.joinCode}</p>
          <CopyableLink id="facilitator-join-link" label={t('facilitator.joinLink')} value={joinLink(location.origin, grant.joinCode)} />
        </section>
      )}
      {roster && <p class="participant-count">{tCount('facilitator.participants', Object.keys(roster).length)}</p>}
      <section aria-labelledby="phases-heading">
        <h2 id="phases-heading">{t('facilitator.phases')}</h2>
        <ol class="phase-list">
          {session.phases.map((phase) => {
            const current = phase.id === session.currentPhase;
            return (
              <li key={phase.id} class={`phase-item${current ? ' phase-current' : ''}`} aria-current={current ? 'step' : undefined}>
                <h3 class="phase-item-title">
                  {phase.title}
                  {current && <span class="tag tag-current">{t('facilitator.current')}</span>}
                  {phase.locked && <span class="tag tag-locked">{t('facilitator.locked')}</span>}
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
              </li>
            );
          })}
        </ol>
      </section>
    </>
  );
}
