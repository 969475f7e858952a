import type { ComponentChildren } from 'preact';
import { navigate } from '../lib/router';

interface Props {
  href: string;
  class?: string;
  children: ComponentChildren;
}

/** A link inside the app: moves without reloading, unless opened in a new tab. */
export function Link({ href, class: className, children }: Props) {
  const onClick = (e: MouseEvent) => {
    if (e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
    e.preventDefault();
    navigate(href);
  };
  return (
    <a href={href} class={className} onClick={onClick}>
      {children}
    </a>
  );
}
