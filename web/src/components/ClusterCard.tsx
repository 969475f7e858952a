import { useEffect, useRef, useState } from 'preact/hooks';
import { message, t, tCount, type Message } from '../i18n';
import { dropTargetAttr } from '../lib/dragDrop';
import type { Category, ClusterView, NoteView } from '../lib/types';
import { clusterErrorMessage } from '../lib/voteErrors';
import { DotControls } from './DotControls';
import { MenuButton } from './MenuButton';
import { NoteCard, type NoteActions } from './NoteCard';

export interface ClusterActions {
  rename(clusterId: string, title: string): void;
  merge(fromId: string, intoId: string): void;
  dissolve(clusterId: string): void;
}

interface Props {
  cluster: ClusterView;
  notes: NoteView[];
  /** Every live cluster, for "Unisci a…" and the notes' "Sposta in…". */
  clusters: readonly { id: string; title: string }[];
  categories: readonly Category[];
  writable: boolean;
  voting: boolean;
  actions: ClusterActions;
  noteActions: NoteActions;
  /** Open the title field at once (a group just made by a drop). */
  askTitle?: boolean;
  onTitleAsked?: () => void;
  spotNote: string | null;
  spotlighted: boolean;
}

type Mode = 'view' | 'rename' | 'confirmDissolve';

/** A group of notes as a card: its title (and titles that lost a conflict, to pick from), its menu, its notes. */
export function ClusterCard({
  cluster,
  notes,
  clusters,
  categories,
  writable,
  voting,
  actions,
  noteActions,
  askTitle = false,
  onTitleAsked,
  spotNote,
  spotlighted,
}: Props) {
  const [mode, setMode] = useState<Mode>(askTitle ? 'rename' : 'view');
  const [draft, setDraft] = useState(cluster.title);
  const [error, setError] = useState<Message | null>(null);
  const field = useRef<HTMLInputElement>(null);
  const menu = useRef<HTMLButtonElement>(null);
  const title = cluster.title || t('cluster.untitled');
  const headingId = `cluster-${cluster.id}-title`;

  useEffect(() => {
    if (askTitle) {
      setDraft(cluster.title);
      setMode('rename');
      onTitleAsked?.();
    }
  }, [askTitle]);
  useEffect(() => {
    if (mode === 'rename') field.current?.focus();
  }, [mode]);

  const back = () => {
    setMode('view');
    setError(null);
    requestAnimationFrame(() => menu.current?.focus());
  };
  const attempt = (action: () => void, after: () => void = back) => {
    try {
      action();
      after();
    } catch (err) {
      setError(clusterErrorMessage(err));
    }
  };

  const items = [
    {
      label: t('cluster.rename'),
      onSelect: () => {
        setDraft(cluster.title);
        setMode('rename');
      },
    },
    ...clusters
      .filter((c) => c.id !== cluster.id)
      .map((c) => ({ label: t('cluster.mergeInto', { title: c.title || t('cluster.untitled') }), onSelect: () => attempt(() => actions.merge(cluster.id, c.id), () => {}) })),
    { label: t('cluster.dissolve'), onSelect: () => setMode('confirmDissolve') },
  ];

  return (
    <section
      id={`cluster-${cluster.id}`}
      class={`cluster-card${spotlighted ? ' cluster-spotlight' : ''}`}
      aria-labelledby={headingId}
      aria-current={spotlighted ? 'true' : undefined}
      data-drop={writable ? dropTargetAttr({ kind: 'cluster', id: cluster.id }) : undefined}
      data-drop-label={t('cluster.dropHere')}
      data-cluster-id={cluster.id}
    >
      {spotlighted && <p class="spotlight-label">{t('spotlight.label')}</p>}
      <header class="cluster-header">
        <h3 class="cluster-title" id={headingId}>
          <span class="visually-hidden">{t('cluster.heading', { title: '' }).replace(/\s*$/, ' ')}</span>
          <span class="cluster-title-text">{title}</span>
        </h3>
        <span class="cluster-count">{tCount('cluster.notes', notes.length)}</span>
        {writable && (
          <MenuButton class="button button-small cluster-menu" label={t('cluster.menuLabel', { title })} items={items} buttonRef={menu}>
            {t('cluster.menu')}
          </MenuButton>
        )}
      </header>
      {cluster.titleConflicts.length > 0 && (
        <div class="title-conflict" role="group" aria-labelledby={`${headingId}-conflict`}>
          <p id={`${headingId}-conflict`}>{t('cluster.conflict')}</p>
          <div class="button-row">
            <button type="button" class="button button-small" disabled={!writable} onClick={() => attempt(() => actions.rename(cluster.id, cluster.title), () => {})}>
              {t('cluster.keep', { title })}
            </button>
            {cluster.titleConflicts.map((other) => (
              <button key={other} type="button" class="button button-small" disabled={!writable} onClick={() => attempt(() => actions.rename(cluster.id, other), () => {})}>
                {t('cluster.pick', { title: other || t('cluster.untitled') })}
              </button>
            ))}
          </div>
        </div>
      )}
      {mode === 'rename' && (
        <form
          class="inline-form"
          onSubmit={(e) => {
            e.preventDefault();
            attempt(() => actions.rename(cluster.id, draft));
          }}
        >
          <label for={`${headingId}-field`}>{t('cluster.renameLabel')}</label>
          <input id={`${headingId}-field`} ref={field} type="text" maxLength={120} value={draft} onInput={(e) => setDraft(e.currentTarget.value)} />
          <div class="button-row">
            <button type="submit" class="button button-primary">
              {t('common.save')}
            </button>
            <button type="button" class="button button-secondary" onClick={back}>
              {t('common.cancel')}
            </button>
          </div>
        </form>
      )}
      {mode === 'confirmDissolve' && (
        <div class="confirm" role="group" aria-labelledby={`${headingId}-dissolve`}>
          <p id={`${headingId}-dissolve`}>{t('cluster.dissolveConfirm')}</p>
          <div class="button-row">
            <button type="button" class="button button-danger" onClick={() => attempt(() => actions.dissolve(cluster.id), () => setMode('view'))}>
              {t('cluster.dissolveYes')}
            </button>
            <button type="button" class="button button-secondary" onClick={back}>
              {t('common.cancel')}
            </button>
          </div>
        </div>
      )}
      {error && <p class="field-error">{message(error)}</p>}
      <DotControls
        title={title}
        myDots={cluster.myDots}
        votes={cluster.votes}
        open={voting && writable}
        onAdd={() => noteActions.addDot(cluster.id)}
        onRemove={() => noteActions.removeDot(cluster.id)}
      />
      {notes.length === 0 ? (
        <p class="cluster-empty">{t('cluster.empty')}</p>
      ) : (
        <ul class="note-list">
          {notes.map((note) => (
            <NoteCard
              key={note.id}
              grouped
              note={note}
              categories={categories}
              writable={writable}
              voting={voting}
              clusters={clusters}
              actions={noteActions}
              spotlighted={note.id === spotNote}
            />
          ))}
        </ul>
      )}
    </section>
  );
}
