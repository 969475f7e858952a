import { t } from '../i18n';
import { categoryLabel, categoryStyle, type CategoryShape } from '../lib/categoryStyle';
import type { Category } from '../lib/types';

const PATHS: Record<CategoryShape, string> = {
  circle: 'M8 1.5a6.5 6.5 0 1 0 0 13a6.5 6.5 0 1 0 0-13z',
  square: 'M2 2h12v12H2z',
  triangle: 'M8 1.5L15 14.5H1z',
  diamond: 'M8 0.8L15.2 8L8 15.2L0.8 8z',
  star: 'M8 0.8l2.1 4.6 5 .5-3.8 3.4 1.1 4.9L8 11.7l-4.4 2.5 1.1-4.9L.9 5.9l5-.5z',
  hexagon: 'M4.2 1.5h7.6L15.6 8l-3.8 6.5H4.2L.4 8z',
  cross: 'M5.5 1h5v4.5H15v5h-4.5V15h-5v-4.5H1v-5h4.5z',
  ring: 'M8 1a7 7 0 1 0 0 14A7 7 0 1 0 8 1zm0 3.5a3.5 3.5 0 1 1 0 7a3.5 3.5 0 1 1 0-7z',
};

/** A category's shape, in its colour; decorative (the label says it in words). */
export function CategoryShapeIcon({ shape, colour }: { shape: CategoryShape; colour: string }) {
  return (
    <svg class="category-shape" viewBox="0 0 16 16" width="16" height="16" aria-hidden="true" focusable="false">
      <path d={PATHS[shape]} fill={colour} fill-rule="evenodd" />
    </svg>
  );
}

interface Props {
  categories: readonly Category[];
  category: string | null;
  class?: string;
}

/** A note's category: its label, plus its colour and its shape (never colour alone). */
export function CategoryBadge({ categories, category, class: className = 'note-category' }: Props) {
  const label = categoryLabel(categories, category);
  if (label === null) return null;
  const style = categoryStyle(categories, category);
  return (
    <p
      class={`${className}${style ? ` category-${style.index}` : ''}`}
      style={style ? { borderColor: style.colour } : undefined}
    >
      {style && <CategoryShapeIcon shape={style.shape} colour={style.colour} />}
      <span class="visually-hidden">{t('note.category', { label })}</span>
      <span aria-hidden="true">{label}</span>
    </p>
  );
}
