import { useEffect, useRef, useState } from 'preact/hooks';
import { message, t, type Message } from '../i18n';
import { confirmsDeletion, deletionError } from '../lib/deletion';

interface Props {
  /** The session's title, which the facilitator may type to confirm. */
  title: string;
  /** Deletes the session; rejects when the server did not. */
  onConfirm: () => Promise<void>;
  onClose: () => void;
}

/**
 * "Delete this session for good?": what goes, and a field where the
 * facilitator types the title (or ELIMINA) before the button wakes up. A
 * modal `<dialog>`: focus stays inside and Escape cancels, except while the
 * request is out.
 */
export function DeleteSessionDialog({ title, onConfirm, onClose }: Props) {
  const dialog = useRef<HTMLDialogElement>(null);
  const [typed, setTyped] = useState('');
  const [busy, setBusy] = useState(false);
  const [failure, setFailure] = useState<Message | null>(null);
  const word = t('console.delete.word');
  const confirmed = confirmsDeletion(typed, title, word);

  useEffect(() => {
    const el = dialog.current;
    if (el && !el.open) el.showModal();
    return () => el?.close();
  }, []);

  const confirm = async (e: Event) => {
    e.preventDefault();
    if (!confirmed || busy) return;
    setBusy(true);
    setFailure(null);
    try {
      // On success the page leaves the console for its last screen.
      await onConfirm();
    } catch (err) {
      setFailure(deletionError(err));
      setBusy(false);
    }
  };

  return (
    <dialog
      ref={dialog}
      class="dialog delete-session-dialog"
      aria-labelledby="delete-session-heading"
      aria-describedby="delete-session-text"
      onCancel={(e) => {
        e.preventDefault();
        if (!busy) onClose();
      }}
    >
      <form onSubmit={(e) => void confirm(e)}>
        <h2 id="delete-session-heading">{t('console.delete.confirmHeading', { title })}</h2>
        <p id="delete-session-text">{t('console.delete.confirmText')}</p>
        <div class="field">
          <label for="delete-session-typed">{t('console.delete.typeLabel', { word })}</label>
          <input
            id="delete-session-typed"
            type="text"
            value={typed}
            disabled={busy}
            autoComplete="off"
            autoCapitalize="off"
            spellcheck={false}
            onInput={(e) => setTyped(e.currentTarget.value)}
            autoFocus
          />
        </div>
        {failure && (
          <p class="field-error" role="alert">
            {message(failure)}
          </p>
        )}
        <div class="button-row">
          <button type="submit" class="button button-destructive" disabled={!confirmed || busy} aria-busy={busy ? 'true' : undefined}>
            {busy ? t('console.delete.working') : t('console.delete.confirm')}
          </button>
          <button type="button" class="button button-secondary" disabled={busy} onClick={onClose}>
            {t('common.cancel')}
          </button>
        </div>
      </form>
    </dialog>
  );
}
