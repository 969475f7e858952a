import { t, tCount } from '../i18n';
import type { QuestionView } from '../lib/types';

interface Props {
  view: QuestionView;
  /** Heading level inside its section. */
  headingLevel?: 3 | 4;
  class?: string;
  /** At most this many rows (the projector). */
  limit?: number;
  headingId: string;
}

/**
 * Most dots first: groups (their dots and their notes') by title, notes in
 * no group by text, as the view ranks them. Nothing while totals are hidden
 * from this screen.
 */
export function RankingList({ view, headingLevel = 3, class: className = 'ranking', limit, headingId }: Props) {
  if (view.ranking.length === 0) return null;
  const Heading = headingLevel === 3 ? 'h3' : 'h4';
  const notes = new Map(view.notes.map((n) => [n.id, n]));
  const clusters = new Map(view.clusters.map((c) => [c.id, c]));
  const rows = view.ranking
    .map((r) => {
      if (r.kind === 'cluster') {
        const c = clusters.get(r.id);
        return c ? { ...r, title: c.title || t('cluster.untitled') } : null;
      }
      const n = notes.get(r.id);
      return n ? { ...r, title: n.text } : null;
    })
    // Nothing with no dots: a ranking of every note at 0 says nothing.
    .filter((r): r is NonNullable<typeof r> => r !== null && r.votes > 0)
    .slice(0, limit);
  return (
    <section class={className} aria-labelledby={headingId}>
      <Heading id={headingId} class="ranking-heading">
        {t('ranking.heading')}
      </Heading>
      {rows.length === 0 && <p class="muted">{t('ranking.empty')}</p>}
      <ol class="ranking-list">
        {rows.map((r) => (
          <li key={`${r.kind}:${r.id}`} class={`ranking-row ranking-${r.kind}`} data-ranking-id={r.id}>
            <span class="ranking-kind">{t(r.kind === 'cluster' ? 'ranking.cluster' : 'ranking.note')}</span>
            <span class="ranking-title">{r.title}</span>
            <span class="ranking-votes">{tCount('ranking.votes', r.votes)}</span>
          </li>
        ))}
      </ol>
    </section>
  );
}
