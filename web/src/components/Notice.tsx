import type { ComponentChildren } from 'preact';

interface Props {
  tone?: 'info' | 'warning' | 'error';
  children: ComponentChildren;
}

/** A boxed message. Errors are announced at once; the rest when read. */
export function Notice({ tone = 'info', children }: Props) {
  return (
    <div class={`notice notice-${tone}`} role={tone === 'error' ? 'alert' : 'status'}>
      {children}
    </div>
  );
}
