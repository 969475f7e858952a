import { useState } from 'preact/hooks';
import { choiceLabel, t, tCount } from '../i18n';
import type { NoteView, PhaseView, QuestionMeta, QuestionView, Spotlight } from '../lib/types';
import { pledgeTerms } from '../lib/pledge';
import { CategoryBadge } from './CategoryBadge';
import { RankingList } from './RankingList';

/** What the console does to a question (each may throw; the page shows why). */
export interface ConsoleQuestionActions {
  spotlight(doc: string, target: string, kind: 'note' | 'cluster'): void;
  stopSpotlight(): void;
  setVoting(doc: string, open: boolean, budget: number | null): void;
  revealVotes(doc: string, revealed: boolean): void;
  hideNote(doc: string, noteId: string, hidden: boolean, reason: string | null): void;
  removeNote(doc: string, noteId: string, reason: string | null): void;
  /** Starts a commitment from a contribution note. */
  commit?(note: NoteView): void;
}

interface Props {
  phase: PhaseView;
  questionView: (doc: string) => QuestionView | undefined;
  spotlight: Spotlight | null;
  actions: ConsoleQuestionActions;
}

function author(note: NoteView): string {
  if (note.anonymous) return t('note.anonymous');
  const sector = note.sector ? choiceLabel('sector', note.sector) : '';
  return [note.organization, sector].filter(Boolean).join(' · ');
}

const MAX_BUDGET = 50;

/** Open or close voting (with the dots each), show or hide the totals. */
function VotingControls({ question, view, actions }: { question: QuestionMeta; view: QuestionView; actions: ConsoleQuestionActions }) {
  const [budget, setBudget] = useState(String(view.voting.budget));
  const [invalid, setInvalid] = useState(false);
  const voting = view.voting;
  const fieldId = `budget-${question.id}`;
  const toggle = () => {
    if (voting.open) return actions.setVoting(question.doc, false, null);
    const n = Number(budget);
    if (!Number.isInteger(n) || n < 1 || n > MAX_BUDGET) return setInvalid(true);
    setInvalid(false);
    actions.setVoting(question.doc, true, n);
  };
  return (
    <div class="console-voting" role="group" aria-label={`${t('console.voting.heading')}: ${question.text}`}>
      <p class="console-voting-status">
        <span class={`tag ${voting.open ? 'tag-current' : 'tag-open'}`}>
          {voting.open ? t('console.voting.isOpen', { budget: voting.budget }) : t('console.voting.isClosed')}
        </span>{' '}
        <span class="tag tag-open">{voting.revealed ? t('console.voting.revealed') : t('console.voting.hidden')}</span>
      </p>
      <div class="console-voting-row">
        {!voting.open && (
          <span class="console-budget">
            <label for={fieldId}>{t('console.voting.budget')}</label>
            <input
              id={fieldId}
              type="text"
              inputMode="numeric"
              value={budget}
              aria-invalid={invalid ? 'true' : undefined}
              aria-describedby={invalid ? `${fieldId}-error` : undefined}
              onInput={(e) => setBudget(e.currentTarget.value)}
            />
          </span>
        )}
        <button
          type="button"
          class={`button ${voting.open ? 'button-secondary' : 'button-primary'}`}
          aria-label={t(voting.open ? 'console.voting.closeLabel' : 'console.voting.openLabel', { text: question.text })}
          onClick={toggle}
        >
          {t(voting.open ? 'console.voting.close' : 'console.voting.open')}
        </button>
        <button
          type="button"
          class="button button-secondary"
          aria-label={t(voting.revealed ? 'console.voting.hideLabel' : 'console.voting.revealLabel', { text: question.text })}
          onClick={() => actions.revealVotes(question.doc, !voting.revealed)}
        >
          {t(voting.revealed ? 'console.voting.hide' : 'console.voting.reveal')}
        </button>
      </div>
      {invalid && (
        <p class="field-error" id={`${fieldId}-error`}>
          {t('console.voting.budgetInvalid')}
        </p>
      )}
    </div>
  );
}

/** A note on the console: spotlight it, or hide / remove it with a reason. */
function ConsoleNote({
  doc,
  note,
  categories,
  spotlit,
  pledge,
  actions,
}: {
  doc: string;
  note: NoteView;
  categories: QuestionMeta['categories'];
  spotlit: boolean;
  /** A contribution: it can become a commitment. */
  pledge: boolean;
  actions: ConsoleQuestionActions;
}) {
  const [open, setOpen] = useState(false);
  const [confirm, setConfirm] = useState(false);
  const [reason, setReason] = useState('');
  const reasonOrNull = reason.trim() === '' ? null : reason.trim();
  const fieldId = `reason-${note.id}`;
  return (
    <li class={`console-note${spotlit ? ' is-spotlight' : ''}${note.hidden ? ' console-note-hidden' : ''}`} data-note-id={note.id}>
      <div class="console-note-main">
        <div class="console-note-body">
          <CategoryBadge categories={categories} category={note.category} />
          <p class="console-note-text">{note.text}</p>
          {pledgeTerms(note) && <p class="note-terms">{pledgeTerms(note)}</p>}
          <p class="console-note-author">
            {author(note)}
            {note.votes !== null && note.votes > 0 && <span class="console-note-votes"> · {tCount('ranking.votes', note.votes)}</span>}
          </p>
          {note.hidden && (
            <p class="console-hidden-tag">{note.hiddenReason ? t('console.hiddenReason', { reason: note.hiddenReason }) : t('console.hiddenTag')}</p>
          )}
        </div>
        <div class="console-note-actions">
          {spotlit ? (
            <>
              <span class="spotlight-tag">{t('spotlight.label')}</span>
              <button type="button" class="button button-small button-stop" onClick={actions.stopSpotlight}>
                {t('console.stopSpotlight')}
              </button>
            </>
          ) : (
            <button
              type="button"
              class="button button-small"
              aria-label={t('console.spotlightLabel', { text: note.text })}
              onClick={() => actions.spotlight(doc, note.id, 'note')}
            >
              {t('console.spotlight')}
            </button>
          )}
          {pledge && actions.commit && !note.hidden && (
            <button
              type="button"
              class="button button-small"
              aria-label={t('console.commitLabel', { text: note.text })}
              onClick={() => actions.commit?.(note)}
            >
              {t('console.commit')}
            </button>
          )}
          <button
            type="button"
            class="button button-small"
            aria-expanded={open ? 'true' : 'false'}
            aria-label={t('console.moderateLabel', { text: note.text })}
            onClick={() => {
              setOpen(!open);
              setConfirm(false);
            }}
          >
            {t('console.moderate')}
          </button>
        </div>
      </div>
      {open && (
        <div class="console-moderate">
          <label for={fieldId}>{t('console.reason')}</label>
          <input id={fieldId} type="text" maxLength={200} value={reason} onInput={(e) => setReason(e.currentTarget.value)} />
          {confirm ? (
            <div class="confirm">
              <p>{t('console.removeConfirm')}</p>
              <div class="button-row">
                <button type="button" class="button button-danger" onClick={() => actions.removeNote(doc, note.id, reasonOrNull)}>
                  {t('console.removeYes')}
                </button>
                <button type="button" class="button button-secondary" onClick={() => setConfirm(false)}>
                  {t('common.cancel')}
                </button>
              </div>
            </div>
          ) : (
            <div class="button-row">
              <button
                type="button"
                class="button button-secondary"
                onClick={() => {
                  actions.hideNote(doc, note.id, !note.hidden, note.hidden ? null : reasonOrNull);
                  setOpen(false);
                }}
              >
                {t(note.hidden ? 'console.unhide' : 'console.hide')}
              </button>
              <button type="button" class="button button-danger" onClick={() => setConfirm(true)}>
                {t('console.remove')}
              </button>
            </div>
          )}
        </div>
      )}
    </li>
  );
}

/** The current phase's notes, question by question: voting, ranking, groups with their notes, moderation. */
export function ConsoleNotes({ phase, questionView, spotlight, actions }: Props) {
  const isSpot = (doc: string, target: string) => spotlight?.doc === doc && spotlight.target === target;
  return (
    <section class="card console-notes" aria-labelledby="console-notes-heading">
      <h2 id="console-notes-heading">{t('console.notes.heading')}</h2>
      {phase.questions.map((q) => {
        const view = questionView(q.doc);
        const byId = new Map((view?.notes ?? []).map((n) => [n.id, n]));
        const noteItem = (n: NoteView) => (
          <ConsoleNote
            key={n.id}
            doc={q.doc}
            note={n}
            categories={q.categories}
            spotlit={isSpot(q.doc, n.id)}
            pledge={q.noteKind === 'pledge'}
            actions={actions}
          />
        );
        return (
          <section key={q.id} class="console-question" aria-label={q.text}>
            <h3 class="console-question-text">{q.text}</h3>
            {!view ? (
              <p class="muted">{t('board.loadingNotes')}</p>
            ) : (
              <>
                <VotingControls question={q} view={view} actions={actions} />
                <RankingList view={view} headingLevel={4} headingId={`console-ranking-${q.id}`} class="ranking console-ranking" />
                {view.notes.length === 0 ? (
                  <p class="muted">{t('board.noNotes')}</p>
                ) : (
                  <>
                    <p class="note-count">{tCount('board.notes', view.notes.length)}</p>
                    {view.clusters.map((c) => (
                      <div key={c.id} class={`console-cluster${isSpot(q.doc, c.id) ? ' is-spotlight' : ''}`} data-cluster-id={c.id}>
                        <div class="console-cluster-head">
                          <span class="console-cluster-title">
                            {t('console.cluster', { title: c.title || t('cluster.untitled') })}
                            {c.votes !== null && c.votes > 0 && <span class="console-note-votes"> · {tCount('ranking.votes', c.votes)}</span>}
                          </span>
                          {isSpot(q.doc, c.id) ? (
                            <span class="console-note-actions">
                              <span class="spotlight-tag">{t('spotlight.label')}</span>
                              <button type="button" class="button button-small button-stop" onClick={actions.stopSpotlight}>
                                {t('console.stopSpotlight')}
                              </button>
                            </span>
                          ) : (
                            <button type="button" class="button button-small" onClick={() => actions.spotlight(q.doc, c.id, 'cluster')}>
                              {t('console.spotlightCluster')}
                            </button>
                          )}
                        </div>
                        <ul class="console-note-list">{c.notes.map((id) => byId.get(id)).filter((n): n is NoteView => !!n).map(noteItem)}</ul>
                      </div>
                    ))}
                    {view.loose.length > 0 && (
                      <>
                        {view.clusters.length > 0 && <h4 class="console-loose-heading">{t('console.unclustered')}</h4>}
                        <ul class="console-note-list">
                          {[...view.loose]
                            .reverse()
                            .map((id) => byId.get(id))
                            .filter((n): n is NoteView => !!n)
                            .map(noteItem)}
                        </ul>
                      </>
                    )}
                  </>
                )}
              </>
            )}
          </section>
        );
      })}
    </section>
  );
}
