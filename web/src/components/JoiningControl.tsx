import { useState } from 'preact/hooks';
import { message, t, type Message } from '../i18n';
import { consoleActionError } from '../lib/grants';

interface Props {
  /** Whether newcomers may join with the code. */
  open: boolean;
  /** Asks the server; rejects when it did not take the change. */
  onChange: (open: boolean) => Promise<void>;
}

/**
 * Under the join code: whether people can still join, and the button that
 * closes (or reopens) the session to newcomers. Those already in stay.
 */
export function JoiningControl({ open, onChange }: Props) {
  const [busy, setBusy] = useState(false);
  const [failure, setFailure] = useState<Message | null>(null);

  const toggle = async () => {
    setBusy(true);
    setFailure(null);
    try {
      await onChange(!open);
    } catch (e) {
      setFailure(consoleActionError(e));
    } finally {
      setBusy(false);
    }
  };

  return (
    <div class="joining-control">
      <p class={`joining-status ${open ? 'is-open' : 'is-closed'}`} role="status">
        {t(open ? 'console.joining.isOpen' : 'console.joining.isClosed')}
      </p>
      <button type="button" class="button button-secondary" disabled={busy} aria-busy={busy ? 'true' : undefined} onClick={() => void toggle()}>
        {t(open ? 'console.joining.close' : 'console.joining.reopen')}
      </button>
      {failure && <p class="field-error">{message(failure)}</p>}
    </div>
  );
}
