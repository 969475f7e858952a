// Moving a note by dragging its handle, with a finger or a mouse: a small
// state machine fed with pointer events, kept free of the DOM so it can be
// tested. The page finds what is under the pointer (`DropTarget`) and turns
// the drop into an edit (`dropIntent`); the wasm client does the edit.
//
// Only the handle starts a drag (it has `touch-action: none`), so a finger
// anywhere else on the board still scrolls. A press that does not travel
// `DRAG_THRESHOLD_PX` is a tap: the handle's own click (the "Sposta in…"
// menu) goes through.

/** Where a note can be dropped. */
export type DropTarget =
  /** Into a cluster (its card). */
  | { kind: 'cluster'; id: string }
  /** On another note: a new group with both when that one is loose, else into its cluster. */
  | { kind: 'note'; id: string }
  /** The "fuori dai gruppi" area: out of any cluster. */
  | { kind: 'loose' };

export type DragState =
  | { phase: 'idle' }
  | { phase: 'pressed'; noteId: string; pointerId: number; startX: number; startY: number }
  | { phase: 'dragging'; noteId: string; pointerId: number; x: number; y: number; over: DropTarget | null };

export type DragInput =
  | { type: 'down'; noteId: string; pointerId: number; x: number; y: number }
  | { type: 'move'; pointerId: number; x: number; y: number; over: DropTarget | null }
  | { type: 'up'; pointerId: number; over: DropTarget | null }
  | { type: 'cancel' };

export interface DragStep {
  state: DragState;
  /** A note was let go over a target. */
  drop?: { noteId: string; target: DropTarget };
  /** The press became a drag: the handle's click that follows must be ignored. */
  started?: boolean;
}

/** How far a press travels before it is a drag and not a tap (CSS px). */
export const DRAG_THRESHOLD_PX = 8;

export const IDLE: DragState = { phase: 'idle' };

export function dragStep(state: DragState, input: DragInput): DragStep {
  switch (input.type) {
    case 'down':
      // A second finger (or a press during a drag) does not start another drag.
      if (state.phase !== 'idle') return { state };
      return { state: { phase: 'pressed', noteId: input.noteId, pointerId: input.pointerId, startX: input.x, startY: input.y } };
    case 'move': {
      if (state.phase === 'idle' || input.pointerId !== state.pointerId) return { state };
      if (state.phase === 'pressed') {
        const travelled = Math.hypot(input.x - state.startX, input.y - state.startY);
        if (travelled < DRAG_THRESHOLD_PX) return { state };
        return {
          state: { phase: 'dragging', noteId: state.noteId, pointerId: state.pointerId, x: input.x, y: input.y, over: input.over },
          started: true,
        };
      }
      return { state: { ...state, x: input.x, y: input.y, over: input.over } };
    }
    case 'up': {
      if (state.phase === 'idle' || input.pointerId !== state.pointerId) return { state };
      if (state.phase === 'pressed' || input.over === null) return { state: IDLE };
      return { state: IDLE, drop: { noteId: state.noteId, target: input.over } };
    }
    case 'cancel':
      return { state: IDLE };
  }
}

export function sameTarget(a: DropTarget | null, b: DropTarget | null): boolean {
  if (a === null || b === null) return a === b;
  if (a.kind !== b.kind) return false;
  return a.kind === 'loose' || a.id === (b as { id: string }).id;
}

/** What a drop asks the board to do. */
export type DropIntent =
  | { kind: 'none' }
  | { kind: 'move'; noteId: string; clusterId: string | null }
  /** A new group holding the dragged note and the loose note it was dropped on. */
  | { kind: 'newCluster'; noteIds: [string, string] };

/**
 * Turns a drop into an edit, given where each note sits now (the view's
 * `cluster`). Dropping where the note already is does nothing.
 */
export function dropIntent(noteId: string, target: DropTarget, clusterOf: (noteId: string) => string | null | undefined): DropIntent {
  const current = clusterOf(noteId) ?? null;
  switch (target.kind) {
    case 'cluster':
      return target.id === current ? { kind: 'none' } : { kind: 'move', noteId, clusterId: target.id };
    case 'loose':
      return current === null ? { kind: 'none' } : { kind: 'move', noteId, clusterId: null };
    case 'note': {
      if (target.id === noteId) return { kind: 'none' };
      const there = clusterOf(target.id);
      if (there === undefined) return { kind: 'none' }; // gone meanwhile
      if (there === null) return { kind: 'newCluster', noteIds: [target.id, noteId] };
      return there === current ? { kind: 'none' } : { kind: 'move', noteId, clusterId: there };
    }
  }
}

/** Reads a drop target from an element's `data-drop` (`cluster:<id>`, `note:<id>`, `loose`). */
export function parseDropTarget(value: string | null | undefined): DropTarget | null {
  if (!value) return null;
  if (value === 'loose') return { kind: 'loose' };
  const colon = value.indexOf(':');
  const kind = value.slice(0, colon);
  const id = value.slice(colon + 1);
  if (colon < 0 || id === '') return null;
  if (kind === 'cluster' || kind === 'note') return { kind, id };
  return null;
}

export function dropTargetAttr(target: DropTarget): string {
  return target.kind === 'loose' ? 'loose' : `${target.kind}:${target.id}`;
}
