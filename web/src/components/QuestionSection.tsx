import { t, tCount } from '../i18n';
import type { QuestionMeta, QuestionView } from '../lib/types';
import { NoteCard } from './NoteCard';
import { NoteComposer } from './NoteComposer';

interface Props {
  question: QuestionMeta;
  view: QuestionView | undefined;
  /** False in a locked phase: read only. */
  writable: boolean;
  onAdd: (text: string, category: string | null, anonymous: boolean) => void;
  onEdit: (noteId: string, text: string) => void;
}

/** A guiding question, the composer under it, and its notes, newest first. */
export function QuestionSection({ question, view, writable, onAdd, onEdit }: Props) {
  const headingId = `question-${question.id}`;
  const notes = view ? [...view.notes].reverse() : [];
  return (
    <section class="question-section" aria-labelledby={headingId}>
      <h2 id={headingId} class="question-text">
        {question.text}
      </h2>
      {writable && <NoteComposer question={question} onAdd={onAdd} />}
      {view === undefined ? (
        <p class="muted">{t('board.loadingNotes')}</p>
      ) : (
        <>
          <p class="note-count">{notes.length === 0 ? t('board.noNotes') : tCount('board.notes', notes.length)}</p>
          <ul class="note-list">
            {notes.map((note) => (
              <NoteCard
                key={note.id}
                note={note}
                categories={question.categories}
                editable={writable}
                onEdit={onEdit}
              />
            ))}
          </ul>
        </>
      )}
    </section>
  );
}
