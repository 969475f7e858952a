import { useState } from 'preact/hooks';
import { language, message, t, type Message } from '../i18n';
import {
  attendancePath,
  documentError,
  fallbackFilename,
  fetchDocument,
  openPendingTab,
  reportPath,
  saveBlob,
  showInTab,
  type ReportFormat,
} from '../lib/documents';
import { Notice } from './Notice';

interface Props {
  sessionId: string;
  /**
   * What proves the facilitator asks: the key from the console's link, or
   * the console's own facilitator ticket when the link had no key.
   */
  facilitatorKey: string | null;
  organizationsPublic: boolean;
  onOrganizationsPublic: (on: boolean) => void;
}

type Outcome = { tone: 'ok'; text: Message } | { tone: 'error'; text: Message };

/** One thing the panel can fetch: which file, and whether it opens in a tab or downloads. */
interface Request {
  id: string;
  path: string;
  fallback: string;
  open: boolean;
}

/**
 * The console's way to the session's outcome, at any moment: the report in
 * its confidential or public version (printable, ODT to edit in LibreOffice
 * Writer, Markdown, CSV, JSON), the switch that lets the public version name
 * organizations, and the attendance annex, which only the facilitator ever
 * gets.
 */
export function ReportPanel({ sessionId, facilitatorKey, organizationsPublic, onOrganizationsPublic }: Props) {
  const [publicVersion, setPublicVersion] = useState(false);
  const [busy, setBusy] = useState<string | null>(null);
  const [outcome, setOutcome] = useState<Outcome | null>(null);

  const report = (format: ReportFormat): Request => ({
    id: `report-${format}`,
    path: reportPath(sessionId, format, publicVersion, language()),
    fallback: fallbackFilename(publicVersion ? 'report-pubblico' : 'report-riservato', format),
    open: format === 'html',
  });
  const annex = (format: 'csv' | 'html'): Request => ({
    id: `attendance-${format}`,
    path: attendancePath(sessionId, format, language()),
    fallback: fallbackFilename('presenze-riservato', format),
    open: format === 'html',
  });

  const run = async (request: Request) => {
    if (!facilitatorKey) {
      setOutcome({ tone: 'error', text: { key: 'report.error.noKey' } });
      return;
    }
    // Before any await: later, the browser would take the new tab for a popup.
    const tab = request.open ? openPendingTab(t('report.preparing')) : null;
    setBusy(request.id);
    setOutcome(null);
    try {
      const doc = await fetchDocument(request.path, facilitatorKey, request.fallback);
      if (tab && !tab.closed) {
        await showInTab(tab, doc.blob);
        setOutcome({ tone: 'ok', text: { key: 'report.opened' } });
      } else {
        saveBlob(doc.blob, doc.filename);
        setOutcome({
          tone: 'ok',
          text: { key: request.open ? 'report.popupBlocked' : 'report.downloaded', params: { filename: doc.filename } },
        });
      }
    } catch (e) {
      tab?.close();
      setOutcome({ tone: 'error', text: documentError(e, 'facilitator') });
    } finally {
      setBusy(null);
    }
  };

  const button = (request: Request, label: string, primary = false) => (
    <button
      type="button"
      class={`button ${primary ? 'button-primary button-wide' : 'button-secondary'}`}
      disabled={busy !== null || !facilitatorKey}
      aria-busy={busy === request.id ? 'true' : undefined}
      onClick={() => void run(request)}
    >
      {busy === request.id ? t('report.preparing') : label}
    </button>
  );

  return (
    <section class="card report-panel" aria-labelledby="report-heading">
      <h2 id="report-heading">{t('report.heading')}</h2>
      <p class="field-hint report-intro">{t('report.intro')}</p>
      <fieldset class="field choice-group report-version">
        <legend>{t('report.version')}</legend>
        <div class="choices">
          {([false, true] as const).map((isPublic) => (
            <label class="choice" key={String(isPublic)}>
              <input
                type="radio"
                name="report-version"
                checked={publicVersion === isPublic}
                onChange={() => setPublicVersion(isPublic)}
              />
              <span>{t(isPublic ? 'report.version.public' : 'report.version.full')}</span>
            </label>
          ))}
        </div>
      </fieldset>
      <div class="report-flag">
        <label class="toggle">
          <input
            type="checkbox"
            checked={organizationsPublic}
            aria-describedby="report-flag-hint"
            onChange={(e) => onOrganizationsPublic(e.currentTarget.checked)}
          />
          <span>{t('report.organizationsPublic')}</span>
        </label>
        <p class="field-hint" id="report-flag-hint">
          {t('report.organizationsPublicHint')}
        </p>
      </div>
      {button(report('html'), t('report.open'), true)}
      <p class="field-hint">{t('report.openHint')}</p>
      <div class="button-row report-downloads">
        {button(report('odt'), t('report.odt'))}
        {button(report('md'), t('report.markdown'))}
        {button(report('csv'), t('report.csv'))}
        {button(report('json'), t('report.json'))}
      </div>
      <p class="field-hint">{t('report.odtHint')}</p>
      <p class="field-hint">{t('report.csvHint')}</p>
      <h3 class="report-annex-heading">{t('report.attendance.heading')}</h3>
      <p class="field-hint">{t('report.attendance.hint')}</p>
      <div class="button-row report-downloads">
        {button(annex('html'), t('report.attendance.open'))}
        {button(annex('csv'), t('report.attendance.csv'))}
      </div>
      <div class="report-outcome" role="status">
        {outcome?.tone === 'ok' && <p class="report-ok">{message(outcome.text)}</p>}
      </div>
      {outcome?.tone === 'error' && <Notice tone="error">{message(outcome.text)}</Notice>}
      {!facilitatorKey && <p class="field-hint">{t('report.error.noKey')}</p>}
    </section>
  );
}
