// Every user-visible string goes through t(). Italian is the default; the
// choice is remembered on the device.

import { useEffect, useState } from 'preact/hooks';
import { it, type MessageKey } from './it';

export type { MessageKey };
export type Language = 'it' | 'en';
export const LANGUAGES: readonly Language[] = ['it', 'en'];
export type Params = Record<string, string | number>;

/** A message to show later, in whatever language is current then. */
export interface Message {
  key: MessageKey;
  params?: Params;
}

type Catalogue = Partial<Record<MessageKey, string>>;

/**
 * The texts loaded so far. Italian comes with the app, except the console's
 * (they come with the console, the projector and the start page: see
 * ./console.ts); English is fetched whole when someone chooses it. A phone
 * that never leaves the board in Italian downloads neither. The service
 * worker keeps every part for offline use.
 */
const loaded: Partial<Record<Language, Catalogue>> = { it: { ...it } };

const loaders: Record<Language, () => Promise<Catalogue>> = {
  it: () => Promise.resolve(it),
  en: () =>
    Promise.all([import('./en'), import('./en.console')]).then(([core, console]) => ({
      ...core.en,
      ...console.enConsole,
    })),
};

/** Loads `lang`'s texts if they are not there yet. */
export async function loadLanguage(lang: Language): Promise<void> {
  loaded[lang] ??= await loaders[lang]();
}

/** Adds texts that come with a page (the console's Italian ones). */
export function addTexts(lang: Language, texts: Catalogue): void {
  loaded[lang] = { ...loaded[lang], ...texts };
}

const STORAGE_KEY = 'tavolo:lang';

/** Fills `{name}` placeholders; unknown ones stay visible rather than vanish. */
export function format(template: string, params?: Params): string {
  if (!params) return template;
  return template.replace(/\{(\w+)\}/g, (whole, name: string) =>
    Object.hasOwn(params, name) ? String(params[name]) : whole,
  );
}

/**
 * The person's stored choice, else Italian. The browser's language is not
 * consulted: sessions are held in Italian (their questions are Italian), and
 * a phone set to English should not turn the interface around the questions
 * into another language unless its owner asks for it.
 */
export function detectLanguage(stored: string | null): Language {
  if (stored === 'it' || stored === 'en') return stored;
  return 'it';
}

function initialLanguage(): Language {
  let stored: string | null = null;
  try {
    stored = globalThis.localStorage?.getItem(STORAGE_KEY) ?? null;
  } catch {
    // Storage disabled: Italian.
  }
  return detectLanguage(stored);
}

let current: Language = 'it';

/**
 * Sets the language the person chose before, its catalogue loaded: the
 * first screen is drawn in it (no Italian flash for an English reader).
 */
export async function startLanguage(): Promise<void> {
  const wanted = initialLanguage();
  if (wanted === current) return;
  try {
    await loadLanguage(wanted);
    current = wanted;
  } catch {
    // Not loadable now (offline, never fetched): Italian.
  }
}
const listeners = new Set<() => void>();

export function language(): Language {
  return current;
}

export function t(key: MessageKey, params?: Params): string {
  // A key with no text (a page's texts not added) shows as itself rather
  // than as nothing; the e2e tests look for the words.
  return format(loaded[current]?.[key] ?? loaded.it?.[key] ?? key, params);
}

export function message(m: Message): string {
  return t(m.key, m.params);
}

type PluralBase<K> = K extends `${infer Base}.one` ? Base : never;

/** A count with its noun: `{base}.one` or `{base}.other` by the language's plural rules. */
export function tCount(base: PluralBase<MessageKey>, count: number): string {
  const form = new Intl.PluralRules(current).select(count) === 'one' ? 'one' : 'other';
  return t(`${base}.${form}` as MessageKey, { count });
}

/** A sector, tier or attendance value as a person reads it; unknown values as they are. */
export function choiceLabel(kind: 'sector' | 'tier' | 'attendance', value: string): string {
  const key = `${kind}.${value}`;
  return Object.hasOwn(it, key) ? t(key as MessageKey) : value;
}

/**
 * Switches to `lang` once its catalogue is loaded. Offline with the
 * catalogue never fetched, the page stays in its language (and says why in
 * the console).
 */
export async function setLanguage(lang: Language): Promise<void> {
  try {
    await loadLanguage(lang);
  } catch (e) {
    console.warn(`tavolo: the ${lang} texts could not be loaded`, e);
    return;
  }
  current = lang;
  try {
    globalThis.localStorage?.setItem(STORAGE_KEY, lang);
  } catch {
    // Not remembered; still switched for this page.
  }
  applyToDocument();
  for (const listener of listeners) listener();
}

/** Keeps `<html lang>` in step so screen readers pronounce the text right. */
export function applyToDocument(): void {
  if (typeof document !== 'undefined') document.documentElement.lang = current;
}

/** Re-renders the caller when the language changes. */
export function useLanguage(): Language {
  const [lang, setLang] = useState(current);
  useEffect(() => {
    const update = () => setLang(current);
    listeners.add(update);
    return () => void listeners.delete(update);
  }, []);
  return lang;
}
