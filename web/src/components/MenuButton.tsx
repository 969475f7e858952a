import type { ComponentChildren, Ref } from 'preact';
import { useEffect, useId, useRef, useState } from 'preact/hooks';

export interface MenuItem {
  label: string;
  onSelect: () => void;
}

interface Props {
  /** What the button shows. */
  children: ComponentChildren;
  /** The button's accessible name, when its text alone does not say enough. */
  label?: string;
  items: readonly MenuItem[];
  class?: string;
  /** Extra props for the button (a drag handle's pointer handlers). */
  buttonProps?: Record<string, unknown>;
  buttonRef?: Ref<HTMLButtonElement>;
  /** Called on the button's click before the menu opens; return false to keep it shut. */
  beforeOpen?: (e: MouseEvent) => boolean;
}

/**
 * A button that opens a list of actions (the WAI-ARIA menu button): Enter,
 * Space or a tap opens it with the first action focused, the arrow keys,
 * Home and End move, Enter runs one, Escape closes and gives focus back.
 * Only rendered while open, so a board of hundreds of notes stays light.
 */
export function MenuButton({ children, label, items, class: className, buttonProps, buttonRef, beforeOpen }: Props) {
  const [open, setOpen] = useState(false);
  const id = useId();
  const own = useRef<HTMLButtonElement | null>(null);
  const list = useRef<HTMLUListElement>(null);
  const focusOnOpen = useRef<'first' | 'last'>('first');

  useEffect(() => {
    if (!open) return;
    const buttons = list.current?.querySelectorAll<HTMLButtonElement>('[role=menuitem]');
    const target = focusOnOpen.current === 'last' ? buttons?.[buttons.length - 1] : buttons?.[0];
    target?.focus();
    // A tap or click elsewhere closes it.
    const outside = (e: PointerEvent) => {
      const root = list.current?.parentElement;
      if (root && !root.contains(e.target as Node)) setOpen(false);
    };
    document.addEventListener('pointerdown', outside, true);
    return () => document.removeEventListener('pointerdown', outside, true);
  }, [open]);

  const close = (refocus: boolean) => {
    setOpen(false);
    if (refocus) own.current?.focus();
  };

  const onMenuKey = (e: KeyboardEvent) => {
    const buttons = [...(list.current?.querySelectorAll<HTMLButtonElement>('[role=menuitem]') ?? [])];
    const at = buttons.indexOf(document.activeElement as HTMLButtonElement);
    const go = (i: number) => buttons[(i + buttons.length) % buttons.length]?.focus();
    switch (e.key) {
      case 'ArrowDown':
        e.preventDefault();
        go(at + 1);
        break;
      case 'ArrowUp':
        e.preventDefault();
        go(at - 1);
        break;
      case 'Home':
        e.preventDefault();
        go(0);
        break;
      case 'End':
        e.preventDefault();
        go(buttons.length - 1);
        break;
      case 'Escape':
        e.preventDefault();
        close(true);
        break;
      case 'Tab':
        setOpen(false);
        break;
    }
  };

  const setRef = (el: HTMLButtonElement | null) => {
    own.current = el;
    if (typeof buttonRef === 'function') buttonRef(el);
    else if (buttonRef) buttonRef.current = el;
  };

  return (
    <div class="menu-root">
      <button
        type="button"
        {...buttonProps}
        ref={setRef}
        class={className ?? 'button button-small'}
        aria-haspopup="menu"
        aria-expanded={open ? 'true' : 'false'}
        aria-controls={open ? id : undefined}
        aria-label={label}
        onClick={(e) => {
          if (beforeOpen && !beforeOpen(e)) return;
          focusOnOpen.current = 'first';
          setOpen((o) => !o);
        }}
        onKeyDown={(e) => {
          if (e.key === 'ArrowDown' || e.key === 'ArrowUp') {
            e.preventDefault();
            focusOnOpen.current = e.key === 'ArrowUp' ? 'last' : 'first';
            setOpen(true);
          }
        }}
      >
        {children}
      </button>
      {open && (
        <ul id={id} ref={list} class="menu" role="menu" aria-label={label} onKeyDown={onMenuKey}>
          {items.map((item, i) => (
            <li key={i} role="none">
              <button
                type="button"
                role="menuitem"
                tabIndex={-1}
                class="menu-item"
                onClick={() => {
                  close(true);
                  item.onSelect();
                }}
              >
                {item.label}
              </button>
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}
