import { choiceLabel, t, tCount } from '../i18n';
import type { NoteView, PhaseView, QuestionView, Spotlight } from '../lib/types';

interface Props {
  phase: PhaseView;
  questionView: (doc: string) => QuestionView | undefined;
  spotlight: Spotlight | null;
  onSpotlight: (doc: string, target: string, kind: 'note' | 'cluster') => void;
  onStop: () => void;
}

function author(note: NoteView): string {
  if (note.anonymous) return t('note.anonymous');
  const sector = note.sector ? choiceLabel('sector', note.sector) : '';
  return [note.organization, sector].filter(Boolean).join(' · ');
}

/** The current phase's notes, question by question, each one a tap away from every screen. */
export function ConsoleNotes({ phase, questionView, spotlight, onSpotlight, onStop }: Props) {
  const isSpot = (doc: string, target: string) => spotlight?.doc === doc && spotlight.target === target;
  const stopButton = (
    <button type="button" class="button button-small button-stop" onClick={onStop}>
      {t('console.stopSpotlight')}
    </button>
  );
  return (
    <section class="card console-notes" aria-labelledby="console-notes-heading">
      <h2 id="console-notes-heading">{t('console.notes.heading')}</h2>
      {phase.questions.map((q) => {
        const view = questionView(q.doc);
        const notes = view ? [...view.notes].reverse() : [];
        return (
          <section key={q.id} class="console-question" aria-label={q.text}>
            <h3 class="console-question-text">{q.text}</h3>
            {!view ? (
              <p class="muted">{t('board.loadingNotes')}</p>
            ) : notes.length === 0 ? (
              <p class="muted">{t('board.noNotes')}</p>
            ) : (
              <>
                <p class="note-count">{tCount('board.notes', notes.length)}</p>
                {view.clusters.length > 0 && (
                  <ul class="console-clusters">
                    {view.clusters.map((c) => (
                      <li key={c.id} class={isSpot(q.doc, c.id) ? 'is-spotlight' : undefined}>
                        <span>{t('console.cluster', { title: c.title })}</span>
                        {isSpot(q.doc, c.id) ? (
                          <>
                            <span class="spotlight-tag">{t('spotlight.label')}</span>
                            {stopButton}
                          </>
                        ) : (
                          <button type="button" class="button button-small" onClick={() => onSpotlight(q.doc, c.id, 'cluster')}>
                            {t('console.spotlightCluster')}
                          </button>
                        )}
                      </li>
                    ))}
                  </ul>
                )}
                <ul class="console-note-list">
                  {notes.map((n) => {
                    const on = isSpot(q.doc, n.id);
                    return (
                      <li key={n.id} class={`console-note${on ? ' is-spotlight' : ''}`}>
                        <div class="console-note-body">
                          <p class="console-note-text">{n.text}</p>
                          <p class="console-note-author">{author(n)}</p>
                        </div>
                        {on ? (
                          <div class="console-note-actions">
                            <span class="spotlight-tag">{t('spotlight.label')}</span>
                            {stopButton}
                          </div>
                        ) : (
                          <button
                            type="button"
                            class="button button-small"
                            aria-label={t('console.spotlightLabel', { text: n.text })}
                            onClick={() => onSpotlight(q.doc, n.id, 'note')}
                          >
                            {t('console.spotlight')}
                          </button>
                        )}
                      </li>
                    );
                  })}
                </ul>
              </>
            )}
          </section>
        );
      })}
    </section>
  );
}
