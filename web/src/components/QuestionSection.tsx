import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { message, t, tCount, type Message } from '../i18n';
import { dropIntent, dropTargetAttr, type DropTarget } from '../lib/dragDrop';
import type { NoteView, PledgeTerms, QuestionMeta, QuestionView, Spotlight } from '../lib/types';
import { useNoteDrag } from '../lib/useNoteDrag';
import { clusterErrorMessage, voteErrorMessage } from '../lib/voteErrors';
import { ClusterCard, type ClusterActions } from './ClusterCard';
import { LockIcon } from './LockIcon';
import type { NoteActions } from './NoteCard';
import { NoteCard } from './NoteCard';
import { NoteComposer } from './NoteComposer';
import { RankingList } from './RankingList';

/** The edits a board section makes on its question's document (the Connection's, bound to the URL). */
export interface QuestionEdits {
  addNote(text: string, category: string | null, anonymous: boolean, terms?: PledgeTerms): void;
  editNote(noteId: string, text: string): void;
  setNoteCategory(noteId: string, category: string | null): void;
  deleteNote(noteId: string): void;
  moveNote(noteId: string, clusterId: string | null): void;
  createClusterWith(title: string, noteIds: string[]): string;
  renameCluster(clusterId: string, title: string): void;
  mergeClusters(fromId: string, intoId: string): void;
  dissolveCluster(clusterId: string): void;
  addDot(targetId: string): void;
  removeDot(targetId: string): void;
}

interface Props {
  question: QuestionMeta;
  view: QuestionView | undefined;
  /** False in a locked phase: read only. */
  writable: boolean;
  edits: QuestionEdits;
  /** The spotlight, when it is on this question's document. */
  spotlight?: Spotlight | null;
}

/**
 * A guiding question on a phone: the composer, the voting bar, the ranking,
 * then the groups as cards and the notes in no group. Notes move by dragging
 * their handle or through its "Sposta in…" menu.
 */
export function QuestionSection({ question, view, writable, edits, spotlight }: Props) {
  const headingId = `question-${question.id}`;
  const [folded, setFolded] = useFolded(question.doc);
  // The facilitator pointing everyone at something here opens it.
  const spotTarget = spotlight?.target ?? null;
  useEffect(() => {
    if (spotTarget) setFolded(false);
  }, [spotTarget]);
  const [notice, setNotice] = useState<{ text: Message; error: boolean; n: number } | null>(null);
  const [askTitleOf, setAskTitleOf] = useState<string | null>(null);

  const byId = useMemo(() => new Map((view?.notes ?? []).map((n) => [n.id, n])), [view]);
  const say = (text: Message, error = false) => setNotice((old) => ({ text, error, n: (old?.n ?? 0) + 1 }));
  const titleOf = (clusterId: string | null) => {
    const c = clusterId ? view?.clusters.find((x) => x.id === clusterId) : undefined;
    return c ? c.title || t('cluster.untitled') : '';
  };

  const move = (noteId: string, clusterId: string | null, refocus = false) => {
    try {
      edits.moveNote(noteId, clusterId);
      say(clusterId ? { key: 'move.moved', params: { title: titleOf(clusterId) } } : { key: 'move.movedOut' });
      // The note is drawn again in its new place: keep the keyboard on its handle there.
      if (refocus) requestAnimationFrame(() => document.querySelector<HTMLElement>(`#note-${CSS.escape(noteId)} .note-handle`)?.focus());
    } catch (e) {
      say(clusterErrorMessage(e), true);
    }
  };
  const newCluster = (noteIds: string[], title = '') => {
    const id = edits.createClusterWith(title, noteIds);
    say({ key: 'move.grouped' });
    return id;
  };
  const drop = (noteId: string, target: DropTarget) => {
    const intent = dropIntent(noteId, target, (id) => (byId.has(id) ? (byId.get(id)?.cluster ?? null) : undefined));
    if (intent.kind === 'move') move(intent.noteId, intent.clusterId);
    else if (intent.kind === 'newCluster') {
      try {
        // Ask for a title right away, on the new card.
        setAskTitleOf(newCluster(intent.noteIds));
      } catch (e) {
        say(clusterErrorMessage(e), true);
      }
    }
  };
  const drag = useNoteDrag(drop);
  const budget = view?.voting.budget ?? 0;
  const dot = (change: () => void) => {
    try {
      change();
      if (notice?.error) setNotice(null);
    } catch (e) {
      say(voteErrorMessage(e, budget), true);
    }
  };

  // One actions object for the section's lifetime, reading the latest
  // closures through a ref, so that memoised note cards are not redrawn
  // just because this section was.
  const latest = useRef({ edits, move, newCluster, dot, drag });
  latest.current = { edits, move, newCluster, dot, drag };
  const noteActions = useMemo<NoteActions>(
    () => ({
      edit: (id, text) => latest.current.edits.editNote(id, text),
      setCategory: (id, c) => latest.current.edits.setNoteCategory(id, c),
      remove: (id) => latest.current.edits.deleteNote(id),
      move: (noteId, clusterId) => latest.current.move(noteId, clusterId, true),
      newCluster: (noteId, title) => void latest.current.newCluster([noteId], title),
      addDot: (id) => latest.current.dot(() => latest.current.edits.addDot(id)),
      removeDot: (id) => latest.current.dot(() => latest.current.edits.removeDot(id)),
      handleProps: (id) => latest.current.drag.handleProps(id),
      swallowClick: () => latest.current.drag.swallowClick(),
    }),
    [],
  );
  // The "Sposta in…" choices change only when a group is made, renamed or goes.
  const choiceKey = (view?.clusters ?? []).map((c) => `${c.id}\u0000${c.title}`).join('\u0001');
  const clusterChoices = useMemo(() => (view?.clusters ?? []).map((c) => ({ id: c.id, title: c.title })), [choiceKey]);
  const clusterActions: ClusterActions = {
    rename: edits.renameCluster,
    merge: edits.mergeClusters,
    dissolve: edits.dissolveCluster,
  };

  const spotNote = spotlight?.kind === 'note' ? spotlight.target : null;
  const spotCluster = spotlight?.kind === 'cluster' ? spotlight.target : null;
  const voting = view?.voting.open ?? false;
  const loose = view ? view.loose.map((id) => byId.get(id)).filter((n): n is NoteView => n !== undefined).reverse() : [];
  const loneDrop = writable ? dropTargetAttr({ kind: 'loose' }) : undefined;

  return (
    <section
      class={`question-section${view?.voting.open && view.voting.remaining === 0 ? ' dots-spent' : ''}`}
      aria-labelledby={headingId}
    >
      <h2 class="question-heading">
        <button
          type="button"
          class="question-toggle"
          aria-expanded={!folded}
          aria-controls={`${headingId}-body`}
          onClick={() => setFolded(!folded)}
        >
          <span id={headingId} class="question-text">
            {question.text}
          </span>
          {folded && view !== undefined && (
            <span class="question-fold-summary">
              {view.notes.length === 0 ? t('board.noNotes') : tCount('board.notes', view.notes.length)}
              {view.voting.open && ` · ${t('projector.votingOpen')}`}
            </span>
          )}
          <svg class="question-chevron" viewBox="0 0 16 16" width="20" height="20" aria-hidden="true" focusable="false">
            <path d="M3 6l5 5 5-5" fill="none" stroke="currentColor" stroke-width="2" />
          </svg>
        </button>
      </h2>
      <div id={`${headingId}-body`} hidden={folded}>
        {writable ? (
          <NoteComposer question={question} onAdd={edits.addNote} />
        ) : (
          <p class="locked-explanation">
            <LockIcon /> {t('board.phaseLocked')}
          </p>
        )}
        {view === undefined ? (
          <p class="muted">{t('board.loadingNotes')}</p>
        ) : (
          <>
            {voting && (
              <div class="voting-bar">
                <p class="voting-open">{t('vote.open')}</p>
                <p class="voting-remaining" aria-live="polite">
                  {t('vote.remaining', { remaining: view.voting.remaining, budget: view.voting.budget })}
                </p>
              </div>
            )}
            <RankingList view={view} headingId={`${headingId}-ranking`} />
            <p class="note-count">{view.notes.length === 0 ? t('board.noNotes') : tCount('board.notes', view.notes.length)}</p>
            {writable && view.notes.length > 0 && <p class="field-hint drag-hint">{t('note.dragHint')}</p>}
            {view.clusters.length > 0 && (
              <div class="cluster-list" role="list" aria-label={t('board.clusters')}>
                {view.clusters.map((c) => (
                  <div role="listitem" key={c.id}>
                    <ClusterCard
                      cluster={c}
                      notes={c.notes.map((id) => byId.get(id)).filter((n): n is NoteView => n !== undefined)}
                      clusters={clusterChoices}
                      categories={question.categories}
                      writable={writable}
                      voting={voting}
                      actions={clusterActions}
                      noteActions={noteActions}
                      askTitle={askTitleOf === c.id}
                      onTitleAsked={() => setAskTitleOf(null)}
                      spotNote={spotNote}
                      spotlighted={c.id === spotCluster}
                    />
                  </div>
                ))}
              </div>
            )}
            {(view.clusters.length > 0 || loose.length > 0) && (
              <section class="loose-area" aria-labelledby={`${headingId}-loose`} data-drop={loneDrop} data-drop-label={t('board.looseDrop')}>
                <h3 id={`${headingId}-loose`} class="loose-heading">
                  {t('board.loose')}
                </h3>
                {loose.length === 0 ? (
                  <p class="cluster-empty">{t('board.looseEmpty')}</p>
                ) : (
                  <ul class="note-list">
                    {loose.map((note) => (
                      <NoteCard
                        key={note.id}
                        note={note}
                        categories={question.categories}
                        writable={writable}
                        voting={voting}
                        clusters={clusterChoices}
                        actions={noteActions}
                        spotlighted={note.id === spotNote}
                      />
                    ))}
                  </ul>
                )}
              </section>
            )}
          </>
        )}
      </div>
      <p class="visually-hidden" aria-live="polite">
        {notice && !notice.error && <span key={notice.n}>{message(notice.text)}</span>}
      </p>
      {notice?.error && (
        <div class="board-toast" role="alert">
          <p>{message(notice.text)}</p>
          <button type="button" class="button button-small" onClick={() => setNotice(null)}>
            {t('refusal.dismiss')}
          </button>
        </div>
      )}
    </section>
  );
}

/**
 * Whether a question is folded on this phone: the person's choice, kept
 * for the tab (sessionStorage) so a reload does not undo it. Questions start
 * open, so nobody misses one or the notes others wrote under it.
 */
function useFolded(doc: string): [boolean, (folded: boolean) => void] {
  const key = `tavolo.folded.${doc}`;
  const [folded, setState] = useState(() => {
    try {
      return sessionStorage.getItem(key) === '1';
    } catch {
      return false;
    }
  });
  const set = (next: boolean) => {
    setState(next);
    try {
      if (next) sessionStorage.setItem(key, '1');
      else sessionStorage.removeItem(key);
    } catch {
      // Private mode without storage: folding still works for this page.
    }
  };
  return [folded, set];
}
