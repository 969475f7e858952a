import { useEffect, useRef, useState } from 'preact/hooks';
import { message, t, type Message } from '../i18n';
import { consoleActionError } from '../lib/grants';

interface Props {
  /** Rotates the key; rejects when the server did not. */
  onConfirm: (revokeParticipants: boolean) => Promise<void>;
  onClose: () => void;
}

/**
 * "Change the facilitator key?": what it disconnects, whether participants
 * go too, and the confirmation. A modal `<dialog>`, so focus stays inside
 * and Escape cancels (except while the request is out).
 */
export function RotateKeyDialog({ onConfirm, onClose }: Props) {
  const dialog = useRef<HTMLDialogElement>(null);
  const [revokeParticipants, setRevokeParticipants] = useState(false);
  const [busy, setBusy] = useState(false);
  const [failure, setFailure] = useState<Message | null>(null);

  useEffect(() => {
    const el = dialog.current;
    if (el && !el.open) el.showModal();
    return () => el?.close();
  }, []);

  const confirm = async () => {
    setBusy(true);
    setFailure(null);
    try {
      await onConfirm(revokeParticipants);
      onClose();
    } catch (e) {
      setFailure(consoleActionError(e));
      setBusy(false);
    }
  };

  return (
    <dialog
      ref={dialog}
      class="dialog rotate-key-dialog"
      aria-labelledby="rotate-key-heading"
      aria-describedby="rotate-key-text"
      onCancel={(e) => {
        // Escape: cancel, unless the key is being changed right now.
        e.preventDefault();
        if (!busy) onClose();
      }}
    >
      <h2 id="rotate-key-heading">{t('console.rotate.heading')}</h2>
      <p id="rotate-key-text">{t('console.rotate.text')}</p>
      <label class="toggle">
        <input
          type="checkbox"
          checked={revokeParticipants}
          disabled={busy}
          aria-describedby="rotate-key-participants-hint"
          onChange={(e) => setRevokeParticipants(e.currentTarget.checked)}
        />
        <span>{t('console.rotate.participants')}</span>
      </label>
      <p class="field-hint" id="rotate-key-participants-hint">
        {t('console.rotate.participantsHint')}
      </p>
      {failure && <p class="field-error" role="alert">{message(failure)}</p>}
      <div class="button-row">
        <button type="button" class="button button-danger" disabled={busy} aria-busy={busy ? 'true' : undefined} onClick={() => void confirm()}>
          {busy ? t('console.rotate.working') : t('console.rotate.confirm')}
        </button>
        {/* The safe choice has the focus when the dialog opens. */}
        <button type="button" class="button button-secondary" disabled={busy} onClick={onClose} autoFocus>
          {t('common.cancel')}
        </button>
      </div>
    </dialog>
  );
}
