import { describe, expect, it as test } from 'vitest';
import { en as enCore } from './en';
import { enConsole } from './en.console';
import { detectLanguage, format, setLanguage, t, type Language, type MessageKey } from './index';
import { it as itCore } from './it';
import { itConsole } from './it.console';
import { REFUSAL_CODES } from '../lib/refusals';

const it: Record<string, string> = { ...itCore, ...itConsole };
const en: Record<string, string> = { ...enCore, ...enConsole };
const catalogues: Record<Language, Record<string, string>> = { it, en };

const placeholders = (s: string) => [...s.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();

describe('catalogues', () => {
  test('keep the console texts apart from those every page needs', () => {
    const core = Object.keys(itCore);
    expect(Object.keys(itConsole).filter((k) => core.includes(k))).toEqual([]);
    expect(Object.keys(enCore).sort()).toEqual(core.sort());
  });

  test('have exactly the same keys', () => {
    expect(Object.keys(en).sort()).toEqual(Object.keys(it).sort());
  });

  test('have no empty values', () => {
    for (const lang of Object.keys(catalogues) as Language[]) {
      for (const [key, value] of Object.entries(catalogues[lang])) {
        expect(value.trim(), `${lang} ${key}`).not.toBe('');
      }
    }
  });

  test('use the same placeholders in every language', () => {
    for (const [key, value] of Object.entries(it)) {
      expect(placeholders(en[key] ?? ''), key).toEqual(placeholders(value));
    }
  });

  test('come in complete plural pairs', () => {
    const keys = Object.keys(it);
    for (const key of keys.filter((k) => k.endsWith('.one'))) {
      expect(keys, key).toContain(key.replace(/\.one$/, '.other'));
    }
    for (const key of keys.filter((k) => k.endsWith('.other'))) {
      expect(keys, key).toContain(key.replace(/\.other$/, '.one'));
    }
  });

  test('explain every refusal code the server sends', () => {
    for (const code of REFUSAL_CODES) expect(Object.keys(it)).toContain(`refusal.${code}`);
  });
});

describe('format', () => {
  test('fills placeholders and keeps unknown ones', () => {
    expect(format('Fase {number} di {total}', { number: 2, total: 5 })).toBe('Fase 2 di 5');
    expect(format('Ciao, {name}', {})).toBe('Ciao, {name}');
    expect(format('{a}{a}', { a: 'x' })).toBe('xx');
  });
});

describe('detectLanguage', () => {
  test('prefers the stored choice', () => {
    expect(detectLanguage('en')).toBe('en');
    expect(detectLanguage('it')).toBe('it');
  });

  test('is Italian otherwise, whatever the browser says', () => {
    expect(detectLanguage(null)).toBe('it');
    expect(detectLanguage('xx')).toBe('it');
  });
});

describe('loading', () => {
  test('English arrives whole when chosen, the console texts with it', async () => {
    const consoleKey = Object.keys(enConsole)[0] as MessageKey;
    await setLanguage('en');
    expect(t('app.skipToContent')).toBe(enCore['app.skipToContent']);
    expect(t(consoleKey)).toBe(enConsole[consoleKey as keyof typeof enConsole]);
    await setLanguage('it');
    expect(t('app.skipToContent')).toBe(itCore['app.skipToContent']);
  });
});
