// How a note's category looks: its label, a colour and a shape, so that it
// is never told by colour alone (colour-blind people, a washed-out projector,
// a phone in the sun). The template defines the categories; the style is
// picked by the category's position within its question, never by its id.

import type { Category } from './types';

export type CategoryShape = 'circle' | 'square' | 'triangle' | 'diamond' | 'star' | 'hexagon' | 'cross' | 'ring';

export interface CategoryStyle {
  /** Position in the palette (0-based), for the CSS class `category-<n>`. */
  index: number;
  /** The category's colour (a border and the shape's fill; text stays ink). */
  colour: string;
  shape: CategoryShape;
}

/**
 * Eight colours that stay apart for the common colour-vision deficiencies
 * (Okabe–Ito, darkened where needed so a shape reads on white), each paired
 * with its own shape.
 */
export const PALETTE: readonly { colour: string; shape: CategoryShape }[] = [
  { colour: '#0072b2', shape: 'circle' },
  { colour: '#d55e00', shape: 'square' },
  { colour: '#009e73', shape: 'triangle' },
  { colour: '#cc79a7', shape: 'diamond' },
  { colour: '#b08900', shape: 'star' },
  { colour: '#56b4e9', shape: 'hexagon' },
  { colour: '#6a3d9a', shape: 'cross' },
  { colour: '#333333', shape: 'ring' },
];

/** The style of `categoryId` among its question's categories; null when it is none of them. */
export function categoryStyle(categories: readonly Category[], categoryId: string | null): CategoryStyle | null {
  if (categoryId === null) return null;
  const index = categories.findIndex((c) => c.id === categoryId);
  if (index < 0) return null;
  const entry = PALETTE[index % PALETTE.length] as { colour: string; shape: CategoryShape };
  return { index: index % PALETTE.length, colour: entry.colour, shape: entry.shape };
}

/** The label a person reads; an unknown id (a newer template) is shown as it is. */
export function categoryLabel(categories: readonly Category[], categoryId: string | null): string | null {
  if (categoryId === null) return null;
  return categories.find((c) => c.id === categoryId)?.label ?? categoryId;
}
