import { useState } from 'preact/hooks';
import { t } from '../i18n';
import { facilitatorLink } from '../lib/links';
import { CopyButton } from './CopyButton';
import { Notice } from './Notice';
import { RotateKeyDialog } from './RotateKeyDialog';

interface Props {
  sessionId: string;
  /** The key this tab keeps; null when it was opened without one. */
  facilitatorKey: string | null;
  /** The key was changed from this console: the old link is dead, the new one wants saving. */
  rotated: boolean;
  /** Replaces the key (and this console's ticket); rejects when the server did not. */
  onRotate: (revokeParticipants: boolean) => Promise<void>;
}

/**
 * The console's own way in: the facilitator link, copied but never shown
 * (the console may be on a shared or projected screen), and changing the
 * key when the link went where it should not.
 */
export function ConsoleAccess({ sessionId, facilitatorKey, rotated, onRotate }: Props) {
  const [confirming, setConfirming] = useState(false);

  return (
    <section class="card console-access" aria-labelledby="access-heading">
      <h2 id="access-heading">{t('console.access.heading')}</h2>
      {rotated && <Notice tone="warning">{t('console.access.rotated')}</Notice>}
      {facilitatorKey ? (
        <>
          <CopyButton
            text={facilitatorLink(location.origin, sessionId, facilitatorKey)}
            caption={t('console.access.copyLink')}
            secret
            class="button button-primary button-wide"
          />
          <p class="field-hint">{t('console.access.copyLinkHint')}</p>
        </>
      ) : (
        <p class="field-hint">{t('console.access.noKey')}</p>
      )}
      <button type="button" class="button button-danger" onClick={() => setConfirming(true)}>
        {t('console.access.rotate')}
      </button>
      <p class="field-hint">{t('console.access.rotateHint')}</p>
      {confirming && (
        <RotateKeyDialog onConfirm={onRotate} onClose={() => setConfirming(false)} />
      )}
    </section>
  );
}
