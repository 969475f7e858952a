import '../i18n/console';
import '../console.css';
import type { ComponentChildren } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import { CopyableLink } from '../components/CopyableLink';
import { Link } from '../components/Link';
import { Notice } from '../components/Notice';
import { TemplateCheckStatus } from '../components/TemplateCheckStatus';
import { moveCaretTo, TemplateEditor } from '../components/TemplateEditor';
import { TextField } from '../components/TextField';
import { TopBar } from '../components/TopBar';
import { t, type Message } from '../i18n';
import {
  createSession,
  createSessionFromSource,
  listTemplates,
  NetworkError,
  TemplateRejected,
  templateSource,
} from '../lib/api';
import { problemText, type TemplateProblem } from '../lib/templateProblems';
import { useTemplateCheck } from '../lib/useTemplateCheck';
import { facilitatorLink, joinLink } from '../lib/links';
import type { CreatedSession, TemplateInfo } from '../lib/types';
import { useTitle } from '../lib/useTitle';
import { charCount, MAX_TITLE_CHARS } from '../lib/validation';

/** The built-in template: the seed's first session of the Tavolo di Negoziazione. */
const DEFAULT_TEMPLATE = 'tavolo-prima-sessione';

type Templates = { state: 'loading' } | { state: 'loaded'; list: TemplateInfo[] } | { state: 'failed' };

/**
 * A template of the facilitator's own: a file they uploaded, or a copy of a
 * built-in one they edit on the page.
 */
type OwnTemplate =
  | { origin: 'upload'; name: string; source: string }
  | { origin: 'edit'; source: string }
  | { origin: 'loading' }
  | { origin: 'failed'; message: Message };

/** Pause in typing before the editor's text is checked. */
const CHECK_DELAY_MS = 700;

function failureMessage(err: unknown): Message {
  if (err instanceof NetworkError) return { key: 'common.networkError' };
  if (err instanceof TemplateRejected && err.problems[0]) {
    return { key: 'template.problemFallback', params: { message: problemText(err.problems[0]) } };
  }
  return { key: 'common.serverError', params: { message: err instanceof Error ? err.message : String(err) } };
}

/** Start: join with a code, or (for facilitators) create a session from a template. */
export function StartPage() {
  useTitle(null);
  const [created, setCreated] = useState<CreatedSession | null>(null);
  return (
    <>
      <TopBar />
      <main id="main" tabIndex={-1} class="page">
        <h1 class="visually-hidden">{t('app.name')}</h1>
        <p class="lead">{t('start.tagline')}</p>
        <section class="card" aria-labelledby="join-heading">
          <h2 id="join-heading">{t('start.join.heading')}</h2>
          <p>{t('start.join.text')}</p>
          <Link href="/j" class="button button-primary button-wide">
            {t('start.join.button')}
          </Link>
        </section>
        {created ? (
          <SessionCreated session={created} onAnother={() => setCreated(null)} />
        ) : (
          <CreateSessionForm onCreated={setCreated} />
        )}
      </main>
    </>
  );
}

function CreateSessionForm({ onCreated }: { onCreated: (s: CreatedSession) => void }) {
  const [templates, setTemplates] = useState<Templates>({ state: 'loading' });
  const [template, setTemplate] = useState(DEFAULT_TEMPLATE);
  const [title, setTitle] = useState('');
  const [titleError, setTitleError] = useState<Message | undefined>(undefined);
  const [failure, setFailure] = useState<Message | null>(null);
  const [submitting, setSubmitting] = useState(false);
  const [own, setOwn] = useState<OwnTemplate | null>(null);
  const editor = useRef<HTMLTextAreaElement>(null);
  /** Where to put the caret once the editor is on screen. */
  const pendingCaret = useRef<TemplateProblem | null>(null);
  const ownSource = own && (own.origin === 'upload' || own.origin === 'edit') ? own.source : null;
  const check = useTemplateCheck(ownSource, own?.origin === 'edit' ? CHECK_DELAY_MS : 0);

  useEffect(() => {
    let cancelled = false;
    listTemplates().then(
      (list) => {
        if (cancelled) return;
        setTemplates({ state: 'loaded', list });
        if (list.length > 0 && !list.some((x) => x.id === DEFAULT_TEMPLATE)) setTemplate(list[0]!.id);
      },
      () => !cancelled && setTemplates({ state: 'failed' }),
    );
    return () => void (cancelled = true);
  }, []);

  useEffect(() => {
    const p = pendingCaret.current;
    if (own?.origin === 'edit' && p && editor.current) {
      pendingCaret.current = null;
      moveCaretTo(editor.current, p.line, p.column);
    }
  }, [own]);

  const editCopy = async () => {
    setFailure(null);
    setOwn({ origin: 'loading' });
    try {
      const source = await templateSource(template);
      setOwn({ origin: 'edit', source });
    } catch (err) {
      setOwn({
        origin: 'failed',
        message: err instanceof NetworkError ? { key: 'common.networkError' } : { key: 'template.edit.loadFailed' },
      });
    }
  };

  const upload = async (input: HTMLInputElement) => {
    const file = input.files?.[0];
    // Cleared, so choosing the same file again (after fixing it) reads it again.
    input.value = '';
    if (!file) return;
    setFailure(null);
    try {
      setOwn({ origin: 'upload', name: file.name, source: await file.text() });
    } catch {
      setOwn({ origin: 'failed', message: { key: 'template.upload.readFailed', params: { name: file.name } } });
    }
  };

  const goTo = (p: TemplateProblem) => {
    if (own?.origin === 'upload') {
      pendingCaret.current = p;
      setOwn({ origin: 'edit', source: own.source });
    } else if (editor.current) {
      moveCaretTo(editor.current, p.line, p.column);
    }
  };

  const onSubmit = async (e: Event) => {
    e.preventDefault();
    if (submitting) return;
    setFailure(null);
    const trimmed = title.trim();
    if (charCount(trimmed) > MAX_TITLE_CHARS) {
      setTitleError({ key: 'start.create.titleTooLong', params: { max: MAX_TITLE_CHARS } });
      document.getElementById('create-title')?.focus();
      return;
    }
    if (own && ownSource === null) return;
    setSubmitting(true);
    try {
      onCreated(
        ownSource === null
          ? await createSession(template, trimmed || undefined)
          : await createSessionFromSource(ownSource, trimmed || undefined),
      );
    } catch (err) {
      setFailure(failureMessage(err));
    } finally {
      setSubmitting(false);
    }
  };

  const problems = check.result?.state === 'invalid' ? check.result.problems : null;
  const ownInvalid = own !== null && (check.pending || check.result?.state !== 'valid');

  const list = templates.state === 'loaded' && templates.list.length > 0 ? templates.list : null;
  const description = list?.find((x) => x.id === template)?.description;

  return (
    <section class="card" aria-labelledby="create-heading">
      <h2 id="create-heading">{t('start.create.heading')}</h2>
      <p>{t('start.create.text')}</p>
      <form onSubmit={onSubmit} noValidate>
        {own === null ? (
          <>
            <div class="field">
              <label for="create-template">{t('start.create.template')}</label>
              <select
                id="create-template"
                value={template}
                onChange={(e) => setTemplate(e.currentTarget.value)}
                aria-describedby={description ? 'create-template-description' : undefined}
              >
                {list ? (
                  list.map((x) => (
                    <option value={x.id} key={x.id}>
                      {x.title}
                    </option>
                  ))
                ) : (
                  <option value={DEFAULT_TEMPLATE}>{DEFAULT_TEMPLATE}</option>
                )}
              </select>
              {templates.state === 'loading' && <p class="field-hint">{t('start.create.templatesLoading')}</p>}
              {description && (
                <p class="field-hint template-description" id="create-template-description">
                  {description}
                </p>
              )}
            </div>
            {templates.state === 'failed' && <Notice tone="warning">{t('start.create.templatesError')}</Notice>}
            <div class="template-own">
              <h3>{t('template.own.heading')}</h3>
              <p>{t('template.own.text')}</p>
              <div class="button-row">
                <label class="button button-secondary file-button">
                  <input
                    id="template-file"
                    type="file"
                    accept=".toml,text/plain,application/toml"
                    class="visually-hidden"
                    aria-label={t('template.upload.label')}
                    onChange={(e) => void upload(e.currentTarget)}
                  />
                  {t('template.upload.button')}
                </label>
                <button type="button" class="button button-secondary" onClick={() => void editCopy()}>
                  {t('template.edit.button')}
                </button>
              </div>
            </div>
          </>
        ) : (
          <OwnTemplatePanel own={own}>
            {own.origin === 'edit' && (
              <TemplateEditor
                id="template-source"
                value={own.source}
                onInput={(source) => setOwn({ origin: 'edit', source })}
                textarea={editor}
                problemLine={problems?.[0]?.line}
                describedBy="template-check"
              />
            )}
            <TemplateCheckStatus
              id="template-check"
              check={check}
              onGoTo={own.origin === 'edit' ? goTo : undefined}
            />
            <div class="button-row template-own-actions">
              {own.origin === 'upload' && problems?.[0] && (
                <button type="button" class="button button-secondary" onClick={() => goTo(problems[0]!)}>
                  {t('template.upload.openInEditor')}
                </button>
              )}
              <button
                type="button"
                class="button button-secondary"
                onClick={() => {
                  setOwn(null);
                  setFailure(null);
                }}
              >
                {t('template.useBuiltin')}
              </button>
            </div>
          </OwnTemplatePanel>
        )}
        <TextField
          id="create-title"
          label={t('start.create.title')}
          hint={t('start.create.titleHint')}
          value={title}
          onInput={(v) => {
            setTitle(v);
            setTitleError(undefined);
          }}
          error={titleError}
          autoComplete="off"
        />
        {failure && <Notice tone="error">{t(failure.key, failure.params)}</Notice>}
        <button type="submit" class="button button-primary button-wide" disabled={submitting || ownInvalid}>
          {submitting ? t('start.create.submitting') : t('start.create.submit')}
        </button>
      </form>
    </section>
  );
}

/** The facilitator's own template: the file's name, or the editor, and what the check says. */
function OwnTemplatePanel({ own, children }: { own: OwnTemplate; children: ComponentChildren }) {
  return (
    <div class="template-own">
      <h3>{t('template.own.heading')}</h3>
      {own.origin === 'loading' && <p>{t('template.edit.loading')}</p>}
      {own.origin === 'failed' && <Notice tone="error">{t(own.message.key, own.message.params)}</Notice>}
      {own.origin === 'upload' && <p class="template-file-name">{t('template.upload.file', { name: own.name })}</p>}
      {children}
    </div>
  );
}

function SessionCreated({ session, onAnother }: { session: CreatedSession; onAnother: () => void }) {
  const origin = location.origin;
  const heading = useRef<HTMLHeadingElement>(null);
  // The form this replaces had focus; move it to the news.
  useEffect(() => heading.current?.focus(), []);
  const facilitatorPath = `/f/${encodeURIComponent(session.session_id)}#${encodeURIComponent(session.facilitator_key)}`;
  return (
    <section class="card session-created" aria-labelledby="created-heading">
      <h2 id="created-heading" tabIndex={-1} ref={heading}>
        {t('start.created.heading')}
      </h2>
      <p class="session-title">{session.title}</p>
      <p class="join-code-label">{t('start.created.code')}</p>
      <p class="join-code">{session.join_code}</p>
      <CopyableLink id="created-join-link" label={t('start.created.joinLink')} value={joinLink(origin, session.join_code)} />
      <Notice tone="warning">{t('start.created.facilitatorWarning')}</Notice>
      <CopyableLink
        id="created-facilitator-link"
        label={t('start.created.facilitatorLink')}
        value={facilitatorLink(origin, session.session_id, session.facilitator_key)}
      />
      <div class="button-column">
        <Link href={facilitatorPath} class="button button-primary button-wide">
          {t('start.created.openFacilitator')}
        </Link>
        <button type="button" class="button button-secondary button-wide" onClick={onAnother}>
          {t('start.created.another')}
        </button>
      </div>
    </section>
  );
}
