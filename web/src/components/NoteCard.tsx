import { memo } from '../lib/memo';
import { useEffect, useRef, useState } from 'preact/hooks';
import { choiceLabel, message, t, type Message } from '../i18n';
import { dropTargetAttr } from '../lib/dragDrop';
import { noteErrorMessage } from '../lib/noteErrors';
import type { Category, NoteView } from '../lib/types';
import { CategoryBadge } from './CategoryBadge';
import { pledgeTerms } from '../lib/pledge';
import { DotControls } from './DotControls';
import { MenuButton, type MenuItem } from './MenuButton';

/** What a note card can ask for; each throws the client's Error when refused. */
export interface NoteActions {
  edit(noteId: string, text: string): void;
  setCategory(noteId: string, category: string | null): void;
  remove(noteId: string): void;
  /** Into a cluster, or out of any with null. */
  move(noteId: string, clusterId: string | null): void;
  /** A new group holding this note. */
  newCluster(noteId: string, title: string): void;
  addDot(targetId: string): void;
  removeDot(targetId: string): void;
  /** Pointer handlers for the drag handle of `noteId`. */
  handleProps(noteId: string): Record<string, unknown>;
  /** True once, right after a drag: the handle's click must not open the menu. */
  swallowClick(): boolean;
}

interface Props {
  note: NoteView;
  categories: readonly Category[];
  /** False in a locked phase: read only. */
  writable: boolean;
  /** Voting is open on this question. */
  voting: boolean;
  /** The live clusters, for "Sposta in…". */
  clusters: readonly { id: string; title: string }[];
  actions: NoteActions;
  /** The facilitator asked everyone to look at this note. */
  spotlighted?: boolean;
  /** In a group: its dots go to the group (see DotControls). */
  grouped?: boolean;
}

/** Who wrote it, as the board may show it: organization · sector, or "anonimo". */
function authorLine(note: NoteView): string | null {
  if (note.anonymous) return t('note.anonymous');
  if (!note.sector) return null; // the roster is still loading
  const sector = choiceLabel('sector', note.sector);
  return note.organization ? t('note.author', { organization: note.organization, sector }) : sector;
}

type Mode = 'view' | 'edit' | 'newCluster' | 'confirmDelete';

/**
 * One sticky note: its category (label, colour, shape), text, author, my
 * dots; a handle to drag it or to choose where it goes; my own notes can be
 * edited, re-categorised or deleted (whether it is anonymous is chosen
 * when it is written: see ARCHITECTURE.md, contract v2).
 */
function NoteCardView({ note, categories, writable, voting, clusters, actions, spotlighted = false, grouped = false }: Props) {
  const [mode, setMode] = useState<Mode>('view');
  const [draft, setDraft] = useState('');
  const [draftCategory, setDraftCategory] = useState<string | null>(null);
  const [error, setError] = useState<Message | null>(null);
  const field = useRef<HTMLTextAreaElement & HTMLInputElement>(null);
  const editButton = useRef<HTMLButtonElement>(null);
  const handle = useRef<HTMLButtonElement>(null);
  const base = `note-${note.id}`;

  useEffect(() => {
    if (mode === 'edit' || mode === 'newCluster') field.current?.focus();
  }, [mode]);

  const author = authorLine(note);
  const back = (focus: 'edit' | 'handle' = 'edit') => {
    setMode('view');
    setError(null);
    requestAnimationFrame(() => (focus === 'edit' ? editButton : handle).current?.focus());
  };
  const attempt = (action: () => void, after: () => void) => {
    try {
      action();
      after();
    } catch (err) {
      setError(noteErrorMessage(err));
    }
  };

  const startEdit = () => {
    setDraft(note.text);
    setDraftCategory(note.category);
    setMode('edit');
  };
  const save = (e: Event) => {
    e.preventDefault();
    attempt(() => {
      if (draft !== note.text) actions.edit(note.id, draft);
      if (draftCategory !== note.category) actions.setCategory(note.id, draftCategory);
    }, back);
  };
  const createGroup = (e: Event) => {
    e.preventDefault();
    attempt(() => actions.newCluster(note.id, draft), () => back('handle'));
  };

  const moveItems: MenuItem[] = [
    ...clusters
      .filter((c) => c.id !== note.cluster)
      .map((c) => ({ label: t('move.toCluster', { title: c.title || t('cluster.untitled') }), onSelect: () => actions.move(note.id, c.id) })),
    {
      label: t('move.newCluster'),
      onSelect: () => {
        setDraft('');
        setMode('newCluster');
      },
    },
    ...(note.cluster ? [{ label: t('move.out'), onSelect: () => actions.move(note.id, null) }] : []),
  ];

  const classes = ['note-card'];
  if (note.mine) classes.push('note-mine');
  if (spotlighted) classes.push('note-spotlight');
  if (note.hidden) classes.push('note-hidden');
  if (!note.cluster) classes.push('note-loose');

  return (
    <li
      id={base}
      class={classes.join(' ')}
      aria-current={spotlighted ? 'true' : undefined}
      data-drop={writable ? dropTargetAttr({ kind: 'note', id: note.id }) : undefined}
      data-drop-label={writable && !note.cluster ? t('board.newGroupDrop') : undefined}
      data-note-id={note.id}
    >
      {spotlighted && <p class="spotlight-label">{t('spotlight.label')}</p>}
      {note.hidden && (
        <p class="note-hidden-label">
          {note.hiddenReason ? t('note.hiddenByFacilitator', { reason: note.hiddenReason }) : t('note.hiddenNoReason')}
        </p>
      )}
      <CategoryBadge categories={categories} category={note.category} />
      {mode === 'edit' ? (
        <form class="note-editor" onSubmit={save}>
          <label class="visually-hidden" for={`edit-${note.id}`}>
            {t('note.editLabel')}
          </label>
          <textarea
            id={`edit-${note.id}`}
            ref={field}
            rows={4}
            value={draft}
            onInput={(e) => setDraft(e.currentTarget.value)}
            aria-invalid={error ? 'true' : undefined}
            aria-describedby={error ? `edit-${note.id}-error` : undefined}
          />
          {categories.length > 0 && (
            <fieldset class="category-chips">
              <legend>{t('composer.category')}</legend>
              {[...categories, { id: '', label: t('composer.noCategory') }].map((c) => (
                <label class="chip" key={c.id}>
                  <input
                    type="radio"
                    name={`edit-${note.id}-category`}
                    value={c.id}
                    checked={(draftCategory ?? '') === c.id}
                    onChange={() => setDraftCategory(c.id === '' ? null : c.id)}
                  />
                  <span>{c.label}</span>
                </label>
              ))}
            </fieldset>
          )}
          <p class="field-hint">{note.anonymous ? t('note.staysAnonymous') : t('note.staysSigned')}</p>
          {error && (
            <p class="field-error" id={`edit-${note.id}-error`}>
              {message(error)}
            </p>
          )}
          <div class="button-row">
            <button type="submit" class="button button-primary">
              {t('common.save')}
            </button>
            <button type="button" class="button button-secondary" onClick={() => back()}>
              {t('common.cancel')}
            </button>
            <button type="button" class="button button-danger" onClick={() => setMode('confirmDelete')}>
              {t('note.delete')}
            </button>
          </div>
        </form>
      ) : (
        <p class="note-text">{note.text}</p>
      )}
      {pledgeTerms(note) && <p class="note-terms">{pledgeTerms(note)}</p>}
      {mode === 'confirmDelete' && (
        <div class="confirm" role="group" aria-labelledby={`${base}-confirm`}>
          <p id={`${base}-confirm`}>{t('note.deleteConfirm')}</p>
          {error && <p class="field-error">{message(error)}</p>}
          <div class="button-row">
            <button type="button" class="button button-danger" onClick={() => attempt(() => actions.remove(note.id), () => setMode('view'))}>
              {t('note.deleteYes')}
            </button>
            <button type="button" class="button button-secondary" onClick={() => back()}>
              {t('common.cancel')}
            </button>
          </div>
        </div>
      )}
      {mode === 'newCluster' && (
        <form class="inline-form" onSubmit={createGroup}>
          <label for={`${base}-group-title`}>{t('move.newClusterLabel')}</label>
          <input id={`${base}-group-title`} type="text" ref={field} value={draft} maxLength={120} onInput={(e) => setDraft(e.currentTarget.value)} />
          {error && <p class="field-error">{message(error)}</p>}
          <div class="button-row">
            <button type="submit" class="button button-primary">
              {t('move.create')}
            </button>
            <button type="button" class="button button-secondary" onClick={() => back('handle')}>
              {t('common.cancel')}
            </button>
          </div>
        </form>
      )}
      <div class="note-footer">
        <p class="note-author">
          {author}
          {note.mine && <span class="note-mine-label">{t('note.mine')}</span>}
        </p>
        <div class="note-actions">
          {writable && note.mine && mode === 'view' && (
            <button type="button" ref={editButton} class="button button-small" onClick={startEdit}>
              {t('note.edit')}
            </button>
          )}
          {writable && (
            <MenuButton
              // Anyone may regroup anyone's note, but on others' notes the
              // handle is a quiet grip, not an invitation.
              class={note.mine ? 'note-handle' : 'note-handle note-handle-quiet'}
              label={t('note.handleLabel', { text: note.text.slice(0, 60) })}
              items={moveItems}
              buttonRef={handle}
              buttonProps={actions.handleProps(note.id)}
              beforeOpen={(e) => {
                if (!actions.swallowClick()) return true;
                e.preventDefault();
                return false;
              }}
            >
              <svg class="handle-grip" viewBox="0 0 12 18" width="12" height="18" aria-hidden="true" focusable="false">
                {[3, 9].flatMap((x) => [3, 9, 15].map((y) => <circle key={`${x}${y}`} cx={x} cy={y} r="1.8" />))}
              </svg>
              {note.mine && <span class="note-handle-text">{t('note.handle')}</span>}
            </MenuButton>
          )}
        </div>
      </div>
      <DotControls
        title={note.text}
        myDots={note.myDots}
        votes={note.votes}
        open={voting && writable}
        grouped={grouped}
        onAdd={() => actions.addDot(note.id)}
        onRemove={() => actions.removeDot(note.id)}
      />
    </li>
  );
}

/** Two views of a note draw the same when every field is equal (a view is rebuilt on every change). */
function sameNote(a: NoteView, b: NoteView): boolean {
  if (a === b) return true;
  for (const key of Object.keys(a) as (keyof NoteView)[]) {
    if (a[key] !== b[key]) return false;
  }
  return true;
}

/**
 * A board redraws from a fresh view on every remote change; only the notes
 * whose view differs are drawn again (300 notes on a phone).
 */
export const NoteCard = memo(
  NoteCardView,
  (a, b) =>
    sameNote(a.note, b.note) &&
    a.categories === b.categories &&
    a.writable === b.writable &&
    a.voting === b.voting &&
    a.clusters === b.clusters &&
    a.actions === b.actions &&
    a.spotlighted === b.spotlighted &&
    a.grouped === b.grouped,
);
