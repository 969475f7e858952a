import { useEffect, useState } from 'preact/hooks';
import { language, t, tCount } from '../i18n';
import { sessionResults } from '../lib/api';
import type { ResultsReport, RestitutionStep } from '../lib/types';
import { STEP_TITLES } from './restitutionSteps';

/** How often the view asks again while shown (notes and votes may still change). */
const REFRESH_MS = 5_000;
/** Notes shown per category or cell before "+ N more": the room reads it from 5 m. */
const SHOWN = 4;


/**
 * The results given back to the room ("restituzione") on the projector, one
 * view at a time as the facilitator steps through them. The data are the
 * public report's (the server's), so the room sees what the resoconto will
 * say, with no person named.
 */
export function RestitutionView({ step, sessionId, ticket }: { step: RestitutionStep; sessionId: string; ticket: string }) {
  const [report, setReport] = useState<ResultsReport | null>(null);
  const [failed, setFailed] = useState(false);
  useEffect(() => {
    let stopped = false;
    const load = () =>
      sessionResults(sessionId, ticket, language()).then(
        (r) => {
          if (stopped) return;
          setReport(r);
          setFailed(false);
        },
        () => !stopped && setFailed(true),
      );
    void load();
    const timer = window.setInterval(load, REFRESH_MS);
    return () => {
      stopped = true;
      window.clearInterval(timer);
    };
  }, [sessionId, ticket]);

  return (
    <section class="room-results" aria-labelledby="room-results-heading">
      <h2 id="room-results-heading" class="room-results-heading">
        {t(STEP_TITLES[step])}
      </h2>
      {!report ? (
        <p class="room-results-empty">{failed ? t('restitution.failed') : t('restitution.loading')}</p>
      ) : (
        <StepBody step={step} report={report} />
      )}
    </section>
  );
}

function More({ count }: { count: number }) {
  return count > 0 ? <li class="room-results-more">{tCount('restitution.more', count)}</li> : null;
}

function StepBody({ step, report }: { step: RestitutionStep; report: ResultsReport }) {
  switch (step) {
    case 'map': {
      const cats = (report.raw_material?.categories ?? []).filter((c) => c.notes.length > 0);
      if (cats.length === 0) return <Empty />;
      return (
        <div class="room-results-columns">
          {cats.map((c) => (
            <div class="room-results-column" key={c.category.label}>
              <h3>
                {c.category.label} <span class="room-results-count">{c.notes.length}</span>
              </h3>
              <ul>
                {c.notes.slice(0, SHOWN).map((n, i) => (
                  <li key={i}>{n.text}</li>
                ))}
                <More count={c.notes.length - SHOWN} />
              </ul>
            </div>
          ))}
        </div>
      );
    }
    case 'ledger': {
      const ledger = report.ledger;
      if (!ledger || ledger.rows.length === 0) return <Empty />;
      return (
        <table class="room-results-table">
          <thead>
            <tr>
              <th scope="col">{t('restitution.who')}</th>
              {ledger.resource_types.map((r) => (
                <th scope="col" key={r.label}>
                  {r.label}
                </th>
              ))}
            </tr>
          </thead>
          <tbody>
            {ledger.rows.map((row) => (
              <tr key={row.label}>
                <th scope="row">{row.label}</th>
                {row.cells.map((c, i) => (
                  <td key={i}>{c.count > 0 ? c.count : ''}</td>
                ))}
              </tr>
            ))}
          </tbody>
        </table>
      );
    }
    case 'needs': {
      const needs = (report.needs ?? []).slice(0, 8);
      if (needs.length === 0) return <Empty />;
      return (
        <ol class="room-results-ranking">
          {needs.map((n, i) => (
            <li key={i}>
              <span class="room-results-label">{n.label}</span>
              <span class="room-results-votes">{tCount('ranking.votes', n.votes)}</span>
            </li>
          ))}
        </ol>
      );
    }
    case 'matrix': {
      const m = report.expectations;
      if (!m || m.rows.length === 0) return <Empty />;
      return (
        <table class="room-results-table room-results-matrix">
          <thead>
            <tr>
              <th scope="col">{t('restitution.from')}</th>
              {m.to.map((to) => (
                <th scope="col" key={to.label}>
                  {to.label}
                </th>
              ))}
            </tr>
          </thead>
          <tbody>
            {m.rows.map((row) => (
              <tr key={row.from.label}>
                <th scope="row">{row.from.label}</th>
                {row.cells.map((c, i) => (
                  <td key={i}>
                    <ul>
                      {c.notes.slice(0, 2).map((n, j) => (
                        <li key={j}>{n.text}</li>
                      ))}
                      <More count={c.notes.length - 2} />
                    </ul>
                  </td>
                ))}
              </tr>
            ))}
          </tbody>
        </table>
      );
    }
    case 'conclusions': {
      const phases = report.phases.filter((p) => p.conclusion);
      const commitments = report.commitments ?? [];
      if (phases.length === 0 && commitments.length === 0 && !report.next_steps) return <Empty />;
      return (
        <div class="room-results-columns">
          {phases.length > 0 && (
            <div class="room-results-column room-results-wide">
              {phases.map((p) => (
                <div key={p.id} class="room-results-phase">
                  <h3>{p.title}</h3>
                  {p.conclusion?.synthesis && <p>{p.conclusion.synthesis}</p>}
                  {p.conclusion?.convergences && (
                    <p>
                      <strong>{t('record.synthesis.convergences')}:</strong> {p.conclusion.convergences}
                    </p>
                  )}
                  {p.conclusion?.disagreements && (
                    <p>
                      <strong>{t('record.synthesis.disagreements')}:</strong> {p.conclusion.disagreements}
                    </p>
                  )}
                </div>
              ))}
            </div>
          )}
          {(commitments.length > 0 || report.next_steps) && (
            <div class="room-results-column">
              {commitments.length > 0 && (
                <>
                  <h3>{t('projector.record.commitments')}</h3>
                  <ul>
                    {commitments.map((c, i) => (
                      <li key={i}>
                        {c.organization && <strong>{c.organization}: </strong>}
                        {c.what}
                        {c.by_when && ` · ${t('record.commitments.byWhenShown', { when: c.by_when })}`}
                      </li>
                    ))}
                  </ul>
                </>
              )}
              {report.next_steps && (
                <>
                  <h3>{t('record.closing.heading')}</h3>
                  <p>{report.next_steps}</p>
                </>
              )}
            </div>
          )}
        </div>
      );
    }
  }
}

function Empty() {
  return <p class="room-results-empty">{t('restitution.empty')}</p>;
}
