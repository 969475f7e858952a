import { useEffect, useState } from 'preact/hooks';
import { JoinForm } from '../components/JoinForm';
import { Link } from '../components/Link';
import { Notice } from '../components/Notice';
import { TopBar } from '../components/TopBar';
import { t } from '../i18n';
import { loadParticipant, saveParticipant } from '../lib/credentials';
import { navigate } from '../lib/router';
import type { Joined } from '../lib/types';
import { useTitle } from '../lib/useTitle';
import { preloadClient } from '../lib/wasm';

/** `/j` and `/j/CODE`: who I am, then on to the board. */
export function JoinPage({ code }: { code: string | null }) {
  useTitle(t('join.heading'));
  const already = code ? loadParticipant(code) : null;
  const [anotherPerson, setAnotherPerson] = useState(false);
  // The board's client downloads while the form is filled in, from the
  // moment the form is drawn (it does not slow the form: 1.7 s to
  // interactive either way, and the board opens 0.6 s sooner throttled —
  // BENCHMARKS.md).
  useEffect(() => {
    const timer = setTimeout(preloadClient, 0);
    return () => clearTimeout(timer);
  }, []);

  const onJoined = (joinCode: string, joined: Joined) => {
    saveParticipant(joinCode, {
      ticket: joined.ticket,
      participantId: joined.participant_id,
      sessionDoc: joined.session_doc,
      sessionId: joined.session_id,
      expiresAt: joined.expires_at,
    });
    navigate(`/b/${encodeURIComponent(joinCode)}`);
  };

  return (
    <>
      <TopBar />
      <main id="main" tabIndex={-1} class="page">
        <h1>{t('join.heading')}</h1>
        <p class="lead">{t('join.intro')}</p>
        {code && already && !anotherPerson && (
          // Back on the join page (a QR scanned again, the link reopened):
          // the same person goes back in as themselves, not as a second
          // participant. Someone else on this phone can still join.
          <Notice>
            <p>{t('join.alreadyJoined', { code })}</p>
            <Link href={`/b/${encodeURIComponent(code)}`} class="button button-primary button-wide">
              {t('join.goToBoard')}
            </Link>
            <button type="button" class="button button-secondary button-wide" onClick={() => setAnotherPerson(true)}>
              {t('join.someoneElse')}
            </button>
          </Notice>
        )}
        {(!code || !already || anotherPerson) && <JoinForm key={code ?? ''} initialCode={code ?? ''} onJoined={onJoined} />}
      </main>
    </>
  );
}
