// A template the server refuses comes back with problems: a stable code, the
// line and column, and the values the message names. The server's English
// text is a fallback; people read the catalogue's words, with the position
// first ("Riga 12, colonna 5: …"). The rules themselves live in the model
// crate, never here.

import { itConsole as italian } from '../i18n/it.console';
import { message, t, type Message, type MessageKey } from '../i18n';

/** One problem, as `POST /api/templates/check` and `POST /api/sessions` send it. */
export interface TemplateProblem {
  code: string;
  /** 1-based. */
  line: number;
  /** 1-based, in characters (code points) from the start of the line. */
  column: number;
  path: string;
  params: Record<string, string>;
  /** English, without the position. */
  message: string;
}

/** What the check tells of a valid template. */
export interface TemplateOutline {
  id: string;
  title: string;
  description: string;
  vote_budget: number;
  categories: number;
  phases: { id: string; title: string; questions: number }[];
}

/** The codes the server sends (model/src/template.rs, `ProblemCode`). */
export const PROBLEM_CODES = [
  'too_large',
  'syntax',
  'unknown_field',
  'missing_field',
  'wrong_type',
  'no_phases',
  'no_questions',
  'too_many_phases',
  'too_many_questions',
  'too_many_categories',
  'invalid_id',
  'duplicate_phase_id',
  'duplicate_question_id',
  'duplicate_category_id',
  'unknown_category',
  'repeated_category',
  'empty_template_title',
  'empty_phase_title',
  'empty_question_text',
  'empty_category_label',
  'text_too_long',
  'vote_budget_out_of_range',
  'minutes_out_of_range',
  'bad_time',
  'unknown_note_kind',
] as const;

const TYPES = ['text', 'integer', 'list', 'table'] as const;

function known(key: string): key is MessageKey {
  return Object.hasOwn(italian, key);
}

/** The problem itself, in the current language, without its position. */
export function problemMessage(p: TemplateProblem): Message {
  const key = `template.problem.${p.code}`;
  if (!known(key)) return { key: 'template.problemFallback', params: { message: p.message } };
  const params: Record<string, string> = { ...p.params };
  if (p.code === 'wrong_type') {
    const type = (TYPES as readonly string[]).includes(params.expected ?? '') ? params.expected : 'text';
    params.expected = t(`template.type.${type as (typeof TYPES)[number]}`);
  }
  return { key, params };
}

/** "Riga 12, colonna 5: la domanda «q1» usa la categoria sconosciuta «b»". */
export function problemText(p: TemplateProblem): string {
  return t('template.problemAt', { line: p.line, column: p.column, problem: message(problemMessage(p)) });
}

/**
 * The UTF-16 offset (what a textarea's selection counts) of a 1-based line
 * and column, the column counted in code points as the server counts it.
 * Past the end of a line: its end; past the last line: the end of the text.
 */
export function offsetOf(source: string, line: number, column = 1): number {
  let start = 0;
  for (let l = 1; l < line; l++) {
    const next = source.indexOf('\n', start);
    if (next < 0) return source.length;
    start = next + 1;
  }
  let end = source.indexOf('\n', start);
  if (end < 0) end = source.length;
  let offset = start;
  for (let c = 1; c < column && offset < end; c++) {
    offset += source.codePointAt(offset)! > 0xffff ? 2 : 1;
  }
  return offset;
}

/** The 1-based line and column (in code points) of a UTF-16 offset: the editor's caret indicator. */
export function positionOf(source: string, offset: number): { line: number; column: number } {
  const before = source.slice(0, Math.max(0, Math.min(offset, source.length)));
  const lineStart = before.lastIndexOf('\n') + 1;
  let line = 1;
  for (let i = before.indexOf('\n'); i >= 0; i = before.indexOf('\n', i + 1)) line++;
  return { line, column: [...before.slice(lineStart)].length + 1 };
}

/** How many lines a text has (an empty text has one). */
export function lineCount(source: string): number {
  let n = 1;
  for (let i = source.indexOf('\n'); i >= 0; i = source.indexOf('\n', i + 1)) n++;
  return n;
}
