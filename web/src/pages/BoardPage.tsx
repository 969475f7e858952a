import { useEffect, useMemo } from 'preact/hooks';
import { ConnectionBadge } from '../components/ConnectionBadge';
import { Notice } from '../components/Notice';
import { PhaseHeader } from '../components/PhaseHeader';
import { QuestionSection } from '../components/QuestionSection';
import { RefusalNotice } from '../components/RefusalNotice';
import { TopBar } from '../components/TopBar';
import { t } from '../i18n';
import { forgetParticipant, loadParticipant } from '../lib/credentials';
import { navigate } from '../lib/router';
import { useConnection } from '../lib/useConnection';
import { useTitle } from '../lib/useTitle';

/** `/b/CODE`: the participant's board — the current phase, its questions, their notes. */
export function BoardPage({ code }: { code: string }) {
  const credentials = useMemo(() => loadParticipant(code), [code]);
  const joinPath = `/j/${encodeURIComponent(code)}`;

  useEffect(() => {
    if (!credentials) navigate(joinPath, { replace: true });
  }, [credentials, joinPath]);

  const { connection, failed } = useConnection(
    credentials
      ? { ticket: credentials.ticket, sessionDoc: credentials.sessionDoc, participantId: credentials.participantId }
      : null,
  );
  const status = connection?.status ?? 'connecting';
  const session = connection?.session();
  useTitle(session?.title);

  if (!credentials) return null;

  const rejoin = () => {
    forgetParticipant(code);
    navigate(joinPath);
  };

  const phaseIndex = session ? session.phases.findIndex((p) => p.id === session.currentPhase) : -1;
  const phase = session?.phases[phaseIndex];
  const me = connection?.roster()?.[credentials.participantId];

  return (
    <>
      <TopBar>
        <ConnectionBadge status={status} />
      </TopBar>
      <main id="main" tabIndex={-1} class="page board">
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
        {status === 'offline' && <Notice tone="warning">{t('board.offlineHint')}</Notice>}
        {connection && <RefusalNotice refusals={connection.refusals} onDismiss={() => connection.dismissRefusals()} />}
        {!session ? (
          !failed && status !== 'rejected' && <p class="muted">{t('board.loadingSession')}</p>
        ) : (
          <>
            <p class="session-line">
              <span class="session-title">{session.title}</span>
              {me && <span class="greeting">{t('board.greeting', { name: me.name })}</span>}
            </p>
            {!phase ? (
              <Notice>{t('board.noPhase')}</Notice>
            ) : (
              <>
                <PhaseHeader phase={phase} number={phaseIndex + 1} total={session.phases.length} />
                {phase.questions.map((q) => (
                  <QuestionSection
                    key={q.id}
                    question={q}
                    view={connection?.question(q.doc)}
                    writable={!phase.locked}
                    onAdd={(text, category, anonymous) => connection?.addNote(q.doc, text, category, anonymous)}
                    onEdit={(noteId, text) => connection?.editNote(q.doc, noteId, text)}
                  />
                ))}
              </>
            )}
          </>
        )}
      </main>
    </>
  );
}
