import { message, t } from '../i18n';
import { refusalMessage } from '../lib/refusals';
import type { Refusal } from '../lib/types';
import { CopyButton } from './CopyButton';

interface Props {
  refusals: readonly Refusal[];
  onDismiss: () => void;
}

/**
 * What the server did not take, and the text of the notes that were lost
 * with it, shown so the person can copy them and write them again.
 */
export function RefusalNotice({ refusals, onDismiss }: Props) {
  if (refusals.length === 0) return null;
  const reasons = [...new Set(refusals.map((r) => message(refusalMessage(r))))];
  const lost = refusals.flatMap((r) => r.lostNotes);
  return (
    <section class="notice notice-error refusal-notice" role="alert" aria-labelledby="refusal-heading">
      <h2 id="refusal-heading">{t('refusal.heading')}</h2>
      <ul class="refusal-reasons">
        {reasons.map((r) => (
          <li key={r}>{r}</li>
        ))}
      </ul>
      {lost.length > 0 && (
        <>
          <p>{t('refusal.lostNotes')}</p>
          <ul class="lost-notes">
            {lost.map((n) => (
              <li key={n.id}>
                <p class="lost-note-text">{n.text}</p>
                <CopyButton text={n.text} label={n.text} class="button button-small" />
              </li>
            ))}
          </ul>
        </>
      )}
      <button type="button" class="button button-secondary" onClick={onDismiss}>
        {t('refusal.dismiss')}
      </button>
    </section>
  );
}
