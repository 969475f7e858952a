import { t, tCount } from '../i18n';

interface Props {
  /** What the dots are on, as people read it (a note's text, a group's title). */
  title: string;
  myDots: number;
  /** The total; null while the facilitator keeps totals hidden. */
  votes: number | null;
  /** Voting is open (and the phase too): offer + and −. */
  open: boolean;
  /**
   * A note in a group: the group is where dots go (they count for it in the
   * ranking), so the note offers no + and no total of its own; dots put on
   * it before it was grouped can still be taken back here.
   */
  grouped?: boolean;
  onAdd: () => void;
  onRemove: () => void;
}

/** Short enough for a button's name, long enough to tell notes apart. */
function shorten(text: string, max = 60): string {
  const one = text.replace(/\s+/g, ' ').trim();
  return one.length > max ? `${one.slice(0, max - 1)}…` : one;
}

/** My dots on a note or a group, with + and − while voting is open, and the total once revealed. */
export function DotControls({ title, myDots, votes, open, grouped = false, onAdd, onRemove }: Props) {
  if (grouped) {
    if (!open || myDots === 0) return null;
    return (
      <div class="dots dots-grouped">
        <div class="dot-controls">
          <button type="button" class="dot-button" aria-label={t('vote.remove', { title: shorten(title) })} onClick={onRemove}>
            <span aria-hidden="true">−</span>
          </button>
          <span class="dot-mine">{tCount('vote.mineForGroup', myDots)}</span>
        </div>
      </div>
    );
  }
  if (!open && votes === null) return null;
  const name = shorten(title);
  return (
    <div class="dots">
      {open && (
        <div class="dot-controls">
          <button
            type="button"
            class="dot-button"
            aria-label={t('vote.remove', { title: name })}
            disabled={myDots === 0}
            onClick={onRemove}
          >
            <span aria-hidden="true">−</span>
          </button>
          <span class="dot-mine">
            <span class="dot-pips" aria-hidden="true">
              {Array.from({ length: Math.min(myDots, 10) }, (_, i) => (
                <span key={i} class="dot-pip" />
              ))}
            </span>
            {tCount('vote.mine', myDots)}
          </span>
          {/* Stays focusable when no dots are left: pressing it says why. */}
          <button type="button" class="dot-button dot-add" aria-label={t('vote.add', { title: name })} onClick={onAdd}>
            <span aria-hidden="true">+</span>
          </button>
        </div>
      )}
      {votes !== null && <span class="dot-total">{tCount('vote.total', votes)}</span>}
    </div>
  );
}

export { shorten };
