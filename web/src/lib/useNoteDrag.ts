// Binds the drag state machine (dragDrop.ts) to the page: pointer events on
// a note's handle, what is under the pointer, a floating copy of the note
// and the highlight of the target. The highlight and the floating copy are
// drawn directly in the DOM, not through Preact state, so a drag does not
// re-render a board of hundreds of notes at every pointer move.

import { useEffect, useRef } from 'preact/hooks';
import { dragStep, IDLE, parseDropTarget, sameTarget, type DragInput, type DragState, type DropTarget } from './dragDrop';

/** A click on the handle this soon after a drag ended belongs to the drag. */
const SWALLOW_CLICK_MS = 600;
/** Within this distance of the window's top or bottom edge a drag scrolls the page. */
const EDGE_PX = 72;

interface Hit {
  element: Element;
  target: DropTarget;
}

function hitAt(x: number, y: number, noteId: string): Hit | null {
  const element = document.elementFromPoint(x, y)?.closest('[data-drop]');
  if (!element) return null;
  const target = parseDropTarget(element.getAttribute('data-drop'));
  if (!target || (target.kind === 'note' && target.id === noteId)) {
    // On itself: what holds it (its cluster, the loose area) is the target.
    const outer = element.parentElement?.closest('[data-drop]');
    const outerTarget = outer ? parseDropTarget(outer.getAttribute('data-drop')) : null;
    return outer && outerTarget ? { element: outer, target: outerTarget } : null;
  }
  return { element, target };
}

export interface NoteDrag {
  handleProps(noteId: string): Record<string, unknown>;
  swallowClick(): boolean;
}

export function useNoteDrag(onDrop: (noteId: string, target: DropTarget) => void): NoteDrag {
  const state = useRef<DragState>(IDLE);
  const endedAt = useRef(0);
  const ghost = useRef<HTMLElement | null>(null);
  const over = useRef<Hit | null>(null);
  const dropRef = useRef(onDrop);
  dropRef.current = onDrop;

  const cleanUp = () => {
    ghost.current?.remove();
    ghost.current = null;
    over.current?.element.classList.remove('drop-over');
    over.current = null;
    document.body.classList.remove('is-dragging');
    document.querySelector('.note-card.is-dragged')?.classList.remove('is-dragged');
  };

  const feed = (input: DragInput, source?: Element) => {
    const before = state.current;
    const step = dragStep(before, input);
    state.current = step.state;
    if (step.started && before.phase === 'pressed') {
      document.body.classList.add('is-dragging');
      const card = source?.closest('.note-card');
      card?.classList.add('is-dragged');
      const copy = document.createElement('div');
      copy.className = 'drag-ghost';
      copy.setAttribute('aria-hidden', 'true');
      copy.textContent = card?.querySelector('.note-text')?.textContent ?? '';
      document.body.append(copy);
      ghost.current = copy;
    }
    const now = step.state;
    if (now.phase === 'dragging') {
      if (ghost.current) ghost.current.style.transform = `translate(${now.x + 12}px, ${now.y + 12}px)`;
    }
    if (step.state.phase === 'idle' && before.phase === 'dragging') {
      endedAt.current = performance.now();
      cleanUp();
    }
    if (step.drop) dropRef.current(step.drop.noteId, step.drop.target);
  };

  const highlight = (hit: Hit | null) => {
    if (over.current?.element === hit?.element && sameTarget(over.current?.target ?? null, hit?.target ?? null)) return;
    over.current?.element.classList.remove('drop-over');
    hit?.element.classList.add('drop-over');
    over.current = hit;
  };

  // Escape drops nothing; leaving the page cleans up.
  useEffect(() => {
    const key = (e: KeyboardEvent) => {
      if (e.key === 'Escape' && state.current.phase === 'dragging') {
        feed({ type: 'cancel' });
        endedAt.current = performance.now();
        cleanUp();
      }
    };
    window.addEventListener('keydown', key);
    return () => {
      window.removeEventListener('keydown', key);
      cleanUp();
    };
  }, []);

  return {
    swallowClick: () => performance.now() - endedAt.current < SWALLOW_CLICK_MS,
    handleProps: (noteId: string) => ({
      onPointerDown: (e: PointerEvent) => {
        if (e.pointerType === 'mouse' && e.button !== 0) return;
        const el = e.currentTarget as Element;
        try {
          el.setPointerCapture(e.pointerId);
        } catch {
          // A synthetic pointer the browser does not track: moves still arrive.
        }
        feed({ type: 'down', noteId, pointerId: e.pointerId, x: e.clientX, y: e.clientY }, el);
      },
      onPointerMove: (e: PointerEvent) => {
        const s = state.current;
        if (s.phase === 'idle' || s.pointerId !== e.pointerId) return;
        const hit = hitAt(e.clientX, e.clientY, s.noteId);
        feed({ type: 'move', pointerId: e.pointerId, x: e.clientX, y: e.clientY, over: hit?.target ?? null }, e.currentTarget as Element);
        if (state.current.phase === 'dragging') {
          e.preventDefault();
          highlight(hit);
          if (e.clientY < EDGE_PX) window.scrollBy(0, -24);
          else if (e.clientY > window.innerHeight - EDGE_PX) window.scrollBy(0, 24);
        }
      },
      onPointerUp: (e: PointerEvent) => {
        const s = state.current;
        if (s.phase === 'idle' || s.pointerId !== e.pointerId) return;
        const hit = s.phase === 'dragging' ? hitAt(e.clientX, e.clientY, s.noteId) : null;
        feed({ type: 'up', pointerId: e.pointerId, over: hit?.target ?? null });
      },
      onPointerCancel: () => {
        if (state.current.phase === 'dragging') endedAt.current = performance.now();
        feed({ type: 'cancel' });
        cleanUp();
      },
    }),
  };
}
