// Checks a template's TOML with the server as it changes: after a pause in
// typing (the check endpoint shares the room's rate limit), and never
// showing an answer about an older text than the one on screen. Until the
// new answer comes, the last one stays up, marked pending: a message that
// vanished at every keystroke would make the editor jump.

import { useEffect, useRef, useState } from 'preact/hooks';
import { checkTemplate, NetworkError } from './api';
import type { TemplateOutline, TemplateProblem } from './templateProblems';

export type TemplateCheckResult =
  | { state: 'valid'; template: TemplateOutline }
  | { state: 'invalid'; problems: TemplateProblem[] }
  | { state: 'failed'; network: boolean; message: string };

export interface TemplateCheck {
  /** The answer about the last text checked; null before the first. */
  result: TemplateCheckResult | null;
  /** The text on screen has not been checked yet. */
  pending: boolean;
}

/** `source` null: nothing to check. `delayMs`: the pause after the last change. */
export function useTemplateCheck(source: string | null, delayMs: number): TemplateCheck {
  const [check, setCheck] = useState<TemplateCheck>({ result: null, pending: false });
  const checked = useRef<string | null>(null);
  useEffect(() => {
    if (source === null) {
      checked.current = null;
      setCheck({ result: null, pending: false });
      return;
    }
    // The same text again (say, an uploaded file opened in the editor): its answer stands.
    if (source === checked.current) return;
    let current = true;
    setCheck((c) => ({ result: c.result, pending: true }));
    const timer = setTimeout(() => {
      const settle = (result: TemplateCheckResult) => {
        if (!current) return;
        checked.current = result.state === 'failed' ? null : source;
        setCheck({ result, pending: false });
      };
      checkTemplate(source).then(
        (r) => settle(r.valid ? { state: 'valid', template: r.template } : { state: 'invalid', problems: r.problems }),
        (e: unknown) =>
          settle({
            state: 'failed',
            network: e instanceof NetworkError,
            message: e instanceof Error ? e.message : String(e),
          }),
      );
    }, delayMs);
    return () => {
      current = false;
      clearTimeout(timer);
    };
  }, [source, delayMs]);
  return check;
}
