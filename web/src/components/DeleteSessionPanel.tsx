import { useState } from 'preact/hooks';
import { t } from '../i18n';
import { DeleteSessionDialog } from './DeleteSessionDialog';

interface Props {
  title: string;
  /** Deletes the session on the server; rejects when it did not. */
  onDelete: () => Promise<void>;
}

/**
 * The end of the console, set apart: closing the session by deleting it
 * from the server, with what that takes away and a nudge to keep the
 * report first. The button only opens the confirmation.
 */
export function DeleteSessionPanel({ title, onDelete }: Props) {
  const [confirming, setConfirming] = useState(false);

  return (
    <section class="card console-delete" aria-labelledby="delete-heading">
      <h2 id="delete-heading">{t('console.delete.heading')}</h2>
      <p>{t('console.delete.intro')}</p>
      <p>{t('console.delete.reportFirst')}</p>
      <p>{t('console.delete.screens')}</p>
      <button type="button" class="button button-danger" onClick={() => setConfirming(true)}>
        {t('console.delete.open')}
      </button>
      {confirming && <DeleteSessionDialog title={title} onConfirm={onDelete} onClose={() => setConfirming(false)} />}
    </section>
  );
}
