import { t } from '../i18n';
import type { ServerProblem } from '../lib/connection';
import { Notice } from './Notice';

/** What the server said is wrong on its side, in the person's words. */
export function ServerProblemNotice({ problem }: { problem: ServerProblem | null }) {
  if (!problem) return null;
  const text =
    problem.kind === 'cannotSave'
      ? t('server.cannotSave')
      : problem.kind === 'damaged'
        ? t('server.damaged')
        : t('server.problem', { message: problem.message });
  return <Notice tone={problem.kind === 'cannotSave' ? 'warning' : 'error'}>{text}</Notice>;
}
