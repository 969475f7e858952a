import { t, tCount } from '../i18n';
import { problemText, type TemplateProblem } from '../lib/templateProblems';
import type { TemplateCheck } from '../lib/useTemplateCheck';

interface Props {
  id: string;
  check: TemplateCheck;
  /** Offered next to each problem when the text is in an editor. */
  onGoTo?: ((problem: TemplateProblem) => void) | undefined;
}

/** Problems listed under the first one, at most. */
const MORE_SHOWN = 4;

/**
 * What the server's check says of a template: its outline when valid, else
 * where it is wrong, in the person's language. Announced politely: while the
 * facilitator types, an alert at every pause would drown everything else.
 */
export function TemplateCheckStatus({ id, check, onGoTo }: Props) {
  const { result, pending } = check;
  if (!result && !pending) return null;
  let body;
  let tone = 'info';
  if (!result) {
    body = <p>{t('template.checking')}</p>;
  } else if (result.state === 'valid') {
    const tpl = result.template;
    body = (
      <>
        <p>
          <strong>{t('template.valid', { title: tpl.title })}</strong> · {tCount('template.phases', tpl.phases.length)}
        </p>
        <ol class="template-outline">
          {tpl.phases.map((p) => (
            <li key={p.id}>{p.title}</li>
          ))}
        </ol>
      </>
    );
  } else if (result.state === 'invalid') {
    tone = 'error';
    const [first, ...rest] = result.problems;
    body = (
      <>
        {first && <ProblemLine problem={first} onGoTo={onGoTo} />}
        {rest.length > 0 && (
          <>
            <p>{t('template.moreProblems', { count: rest.length })}</p>
            <ul>
              {rest.slice(0, MORE_SHOWN).map((p, i) => (
                <li key={i}>
                  <ProblemLine problem={p} onGoTo={onGoTo} />
                </li>
              ))}
            </ul>
          </>
        )}
      </>
    );
  } else {
    tone = 'warning';
    body = <p>{result.network ? t('common.networkError') : t('template.checkFailed', { message: result.message })}</p>;
  }
  return (
    <div class={`template-status${result && pending ? ' template-status-pending' : ''}`} id={id} aria-busy={pending}>
      <div class={`notice notice-${tone}`} role="status">
        {body}
      </div>
    </div>
  );
}

function ProblemLine({ problem, onGoTo }: { problem: TemplateProblem; onGoTo?: Props['onGoTo'] }) {
  return (
    <p class="template-problem">
      <span>{problemText(problem)}</span>{' '}
      {onGoTo && (
        <button type="button" class="button button-small" onClick={() => onGoTo(problem)}>
          {t('template.goToLine', { line: problem.line })}
        </button>
      )}
    </p>
  );
}
