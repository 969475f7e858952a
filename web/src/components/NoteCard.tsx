import { useEffect, useRef, useState } from 'preact/hooks';
import { choiceLabel, message, t, tCount, type Message } from '../i18n';
import { noteErrorMessage } from '../lib/noteErrors';
import type { Category, NoteView } from '../lib/types';

interface Props {
  note: NoteView;
  categories: readonly Category[];
  /** Offer "Modifica" on my notes (not in a locked phase). */
  editable: boolean;
  /** Saves new text; throws the client's Error when it refuses. */
  onEdit: (noteId: string, text: string) => void;
  /** The facilitator asked everyone to look at this note. */
  spotlighted?: boolean;
}

/** Who wrote it, as the board may show it: organization · sector, or "anonimo". */
function authorLine(note: NoteView): string | null {
  if (note.anonymous) return t('note.anonymous');
  if (!note.sector) return null; // the roster is still loading
  const sector = choiceLabel('sector', note.sector);
  return note.organization ? t('note.author', { organization: note.organization, sector }) : sector;
}

/** One sticky note: its text, its category as words, its author's organization and sector. */
export function NoteCard({ note, categories, editable, onEdit, spotlighted = false }: Props) {
  const [draft, setDraft] = useState<string | null>(null);
  const [error, setError] = useState<Message | null>(null);
  const editor = useRef<HTMLTextAreaElement>(null);
  const editButton = useRef<HTMLButtonElement>(null);
  const editing = draft !== null;

  useEffect(() => {
    if (editing) editor.current?.focus();
  }, [editing]);

  const category = note.category ? (categories.find((c) => c.id === note.category)?.label ?? note.category) : null;
  const author = authorLine(note);

  const close = () => {
    setDraft(null);
    setError(null);
    requestAnimationFrame(() => editButton.current?.focus());
  };
  const save = (e: Event) => {
    e.preventDefault();
    if (draft === null) return;
    if (draft === note.text) return close();
    try {
      onEdit(note.id, draft);
      close();
    } catch (err) {
      setError(noteErrorMessage(err));
    }
  };

  return (
    <li
      id={`note-${note.id}`}
      class={`note-card${note.mine ? ' note-mine' : ''}${spotlighted ? ' note-spotlight' : ''}`}
      aria-current={spotlighted ? 'true' : undefined}
    >
      {spotlighted && <p class="spotlight-label">{t('spotlight.label')}</p>}
      {category && <p class="note-category">{t('note.category', { label: category })}</p>}
      {editing ? (
        <form class="note-editor" onSubmit={save}>
          <label class="visually-hidden" for={`edit-${note.id}`}>
            {t('note.editLabel')}
          </label>
          <textarea
            id={`edit-${note.id}`}
            ref={editor}
            rows={4}
            value={draft}
            onInput={(e) => setDraft(e.currentTarget.value)}
            aria-invalid={error ? 'true' : undefined}
            aria-describedby={error ? `edit-${note.id}-error` : undefined}
          />
          {error && (
            <p class="field-error" id={`edit-${note.id}-error`}>
              {message(error)}
            </p>
          )}
          <div class="button-row">
            <button type="submit" class="button button-primary">
              {t('common.save')}
            </button>
            <button type="button" class="button button-secondary" onClick={close}>
              {t('common.cancel')}
            </button>
          </div>
        </form>
      ) : (
        <p class="note-text">{note.text}</p>
      )}
      <div class="note-footer">
        <p class="note-author">
          {author}
          {note.mine && <span class="note-mine-label">{t('note.mine')}</span>}
          {note.votes > 0 && <span class="note-votes">{tCount('note.votes', note.votes)}</span>}
        </p>
        {editable && note.mine && !editing && (
          <button type="button" ref={editButton} class="button button-small" onClick={() => setDraft(note.text)}>
            {t('note.edit')}
          </button>
        )}
      </div>
    </li>
  );
}
