import { afterEach, describe, expect, it as test } from 'vitest';
import { setLanguage } from '../i18n';
import '../i18n/console';
import { enConsole as en } from '../i18n/en.console';
import { itConsole as it } from '../i18n/it.console';
import {
  lineCount,
  offsetOf,
  positionOf,
  PROBLEM_CODES,
  problemMessage,
  problemText,
  type TemplateProblem,
} from './templateProblems';

function problem(code: string, params: Record<string, string>, line = 12, column = 5): TemplateProblem {
  return { code, line, column, path: '', params, message: `english text for ${code}` };
}

afterEach(() => setLanguage('it'));

describe('problemText', () => {
  test('puts the position first and names the values in Italian', async () => {
    await setLanguage('it');
    const p = problem('unknown_category', { question: 'q1', category: 'b' });
    expect(problemText(p)).toBe('Riga 12, colonna 5: la domanda «q1» usa la categoria sconosciuta «b»');
  });

  test('speaks English when asked', async () => {
    await setLanguage('en');
    const p = problem('duplicate_phase_id', { id: 'p1', first_line: '7' }, 14, 6);
    expect(problemText(p)).toBe('Line 14, column 6: the phase id “p1” is already used on line 7');
  });

  test('translates the expected type of a wrongly typed value', async () => {
    await setLanguage('it');
    const p = problem('wrong_type', { field: 'vote_budget', expected: 'integer', detail: 'invalid type' }, 3, 15);
    expect(problemText(p)).toBe('Riga 3, colonna 15: «vote_budget» deve essere un numero intero');
    const odd = problem('wrong_type', { field: 'x', expected: 'datetime' });
    expect(problemText(odd)).toContain('un testo tra virgolette');
  });

  test("falls back to the server's English for a code it does not know", async () => {
    await setLanguage('it');
    const p = problem('brand_new', {}, 2, 1);
    expect(problemMessage(p)).toEqual({ key: 'template.problemFallback', params: { message: 'english text for brand_new' } });
    expect(problemText(p)).toBe('Riga 2, colonna 1: english text for brand_new');
  });
});

describe('catalogues', () => {
  test('explain every problem code in both languages, with every placeholder filled', () => {
    for (const code of PROBLEM_CODES) {
      const key = `template.problem.${code}`;
      expect(Object.keys(it), key).toContain(key);
      expect(Object.keys(en), key).toContain(key);
    }
  });
});

describe('positions', () => {
  const source = 'id = "t"\ntitle = "Perché"\n\n# 😀 x = 1\nlast';

  test('a line and column become the textarea offset', () => {
    expect(offsetOf(source, 1)).toBe(0);
    expect(offsetOf(source, 2, 1)).toBe(9);
    expect(source.slice(offsetOf(source, 2, 9))).toMatch(/^"Perché"/);
    expect(offsetOf(source, 3)).toBe(source.indexOf('\n\n') + 1);
    // Columns count code points: the emoji is one column, two UTF-16 units.
    expect(source.slice(offsetOf(source, 4, 5))).toMatch(/^x = 1/);
    expect(offsetOf(source, 2, 999)).toBe(source.indexOf('\n', 9));
    expect(offsetOf(source, 99)).toBe(source.length);
  });

  test('an offset becomes the line and column the server would name', () => {
    expect(positionOf(source, 0)).toEqual({ line: 1, column: 1 });
    const x = source.indexOf('x = 1');
    expect(positionOf(source, x)).toEqual({ line: 4, column: 5 });
    expect(offsetOf(source, 4, 5)).toBe(x);
    expect(positionOf(source, source.length)).toEqual({ line: 5, column: 5 });
  });

  test('counts lines', () => {
    expect(lineCount('')).toBe(1);
    expect(lineCount('a\nb\n')).toBe(3);
    expect(lineCount(source)).toBe(5);
  });
});
