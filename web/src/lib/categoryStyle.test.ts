import { describe, expect, it } from 'vitest';
import { categoryLabel, categoryStyle, PALETTE } from './categoryStyle';

const categories = [
  { id: 'spazio', label: 'Spazio' },
  { id: 'competenze', label: 'Competenze' },
  { id: 'tempo', label: 'Tempo / volontari' },
];

describe('categoryStyle', () => {
  it('follows the position in the question, not the id', () => {
    expect(categoryStyle(categories, 'spazio')?.index).toBe(0);
    expect(categoryStyle(categories, 'tempo')?.index).toBe(2);
    const renamed = [{ id: 'x', label: 'X' }, ...categories];
    expect(categoryStyle(renamed, 'spazio')?.index).toBe(1);
  });

  it('gives every category of a question its own colour and its own shape', () => {
    const many = Array.from({ length: PALETTE.length }, (_, i) => ({ id: `c${i}`, label: `C${i}` }));
    const styles = many.map((c) => categoryStyle(many, c.id));
    expect(new Set(styles.map((s) => s?.colour)).size).toBe(PALETTE.length);
    expect(new Set(styles.map((s) => s?.shape)).size).toBe(PALETTE.length);
  });

  it('cycles past the palette instead of failing', () => {
    const many = Array.from({ length: PALETTE.length + 2 }, (_, i) => ({ id: `c${i}`, label: `C${i}` }));
    expect(categoryStyle(many, `c${PALETTE.length + 1}`)?.index).toBe(1);
  });

  it('has no style for no category or an unknown one', () => {
    expect(categoryStyle(categories, null)).toBeNull();
    expect(categoryStyle(categories, 'boh')).toBeNull();
  });
});

describe('categoryLabel', () => {
  it('reads the label from the template, and shows an unknown id as it is', () => {
    expect(categoryLabel(categories, 'tempo')).toBe('Tempo / volontari');
    expect(categoryLabel(categories, 'boh')).toBe('boh');
    expect(categoryLabel(categories, null)).toBeNull();
  });
});
