import { t, tCount } from '../i18n';
import { LockIcon } from './LockIcon';
import type { QuestionMeta, QuestionView, Spotlight } from '../lib/types';
import { NoteCard } from './NoteCard';
import { NoteComposer } from './NoteComposer';

interface Props {
  question: QuestionMeta;
  view: QuestionView | undefined;
  /** False in a locked phase: read only. */
  writable: boolean;
  onAdd: (text: string, category: string | null, anonymous: boolean) => void;
  onEdit: (noteId: string, text: string) => void;
  /** The spotlight, when it is on this question's document. */
  spotlight?: Spotlight | null;
}

/** A guiding question, the composer under it, and its notes, newest first. */
export function QuestionSection({ question, view, writable, onAdd, onEdit, spotlight }: Props) {
  const headingId = `question-${question.id}`;
  const notes = view ? [...view.notes].reverse() : [];
  const spotNote = spotlight?.kind === 'note' ? spotlight.target : null;
  const spotCluster = spotlight?.kind === 'cluster' ? view?.clusters.find((c) => c.id === spotlight.target) : undefined;
  return (
    <section class="question-section" aria-labelledby={headingId}>
      <h2 id={headingId} class="question-text">
        {question.text}
      </h2>
      {writable ? (
        <NoteComposer question={question} onAdd={onAdd} />
      ) : (
        <p class="locked-explanation">
          <LockIcon />{' '}
          {t('board.phaseLocked')}
        </p>
      )}
      {spotCluster && (
        <section id={`cluster-${spotCluster.id}`} class="cluster-spotlight" aria-current="true">
          <p class="spotlight-label">{t('spotlight.label')}</p>
          <h3>{t('spotlight.cluster', { title: spotCluster.title })}</h3>
          <ul class="note-list">
            {notes
              .filter((n) => n.cluster === spotCluster.id)
              .map((n) => (
                <li key={n.id} class="note-card">
                  <p class="note-text">{n.text}</p>
                </li>
              ))}
          </ul>
        </section>
      )}
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
                spotlighted={note.id === spotNote}
              />
            ))}
          </ul>
        </>
      )}
    </section>
  );
}
