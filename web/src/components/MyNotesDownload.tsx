import { useState } from 'preact/hooks';
import { language, message, t, type Message } from '../i18n';
import { documentError, fallbackFilename, fetchDocument, myNotesPath, saveBlob, type NotesFormat } from '../lib/documents';
import { Notice } from './Notice';

interface Props {
  sessionId: string;
  /** The participant's ticket: the server answers with their notes only. */
  ticket: string;
}

/**
 * At the foot of the board, folded: a participant takes home what they
 * wrote, in every phase, as Markdown or CSV. Out of the way of the session,
 * found where a page's extras usually are.
 */
export function MyNotesDownload({ sessionId, ticket }: Props) {
  const [busy, setBusy] = useState<NotesFormat | null>(null);
  const [done, setDone] = useState<string | null>(null);
  const [error, setError] = useState<Message | null>(null);

  const download = async (format: NotesFormat) => {
    setBusy(format);
    setDone(null);
    setError(null);
    try {
      const doc = await fetchDocument(myNotesPath(sessionId, format, language()), ticket, fallbackFilename('le-mie-note', format));
      saveBlob(doc.blob, doc.filename);
      setDone(doc.filename);
    } catch (e) {
      setError(documentError(e, 'participant'));
    } finally {
      setBusy(null);
    }
  };

  return (
    <details class="my-notes">
      <summary class="my-notes-summary">{t('myNotes.summary')}</summary>
      <div class="my-notes-body">
        <p class="field-hint">{t('myNotes.hint')}</p>
        <div class="button-row">
          {(['md', 'csv'] as const).map((format) => (
            <button
              key={format}
              type="button"
              class="button button-secondary"
              disabled={busy !== null}
              aria-busy={busy === format ? 'true' : undefined}
              onClick={() => void download(format)}
            >
              {busy === format ? t('report.preparing') : t(format === 'md' ? 'myNotes.markdown' : 'myNotes.csv')}
            </button>
          ))}
        </div>
        <div role="status">{done && <p class="report-ok">{t('report.downloaded', { filename: done })}</p>}</div>
        {error && <Notice tone="error">{message(error)}</Notice>}
      </div>
    </details>
  );
}
