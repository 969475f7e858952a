import { describe, expect, it } from 'vitest';
import { DRAG_THRESHOLD_PX, dragStep, dropIntent, dropTargetAttr, IDLE, parseDropTarget, sameTarget, type DragInput, type DragState } from './dragDrop';

function run(inputs: DragInput[]) {
  let state: DragState = IDLE;
  const drops = [];
  let started = 0;
  for (const input of inputs) {
    const step = dragStep(state, input);
    state = step.state;
    if (step.drop) drops.push(step.drop);
    if (step.started) started += 1;
  }
  return { state, drops, started };
}

const cluster = { kind: 'cluster', id: 'c1' } as const;

describe('dragStep', () => {
  it('a press and a release in place is a tap, not a drop', () => {
    const r = run([
      { type: 'down', noteId: 'n1', pointerId: 1, x: 10, y: 10 },
      { type: 'move', pointerId: 1, x: 12, y: 11, over: cluster },
      { type: 'up', pointerId: 1, over: cluster },
    ]);
    expect(r.drops).toEqual([]);
    expect(r.started).toBe(0);
    expect(r.state).toEqual(IDLE);
  });

  it('a press that travels becomes a drag and drops on what is under the pointer', () => {
    const r = run([
      { type: 'down', noteId: 'n1', pointerId: 7, x: 10, y: 10 },
      { type: 'move', pointerId: 7, x: 10, y: 10 + DRAG_THRESHOLD_PX, over: null },
      { type: 'move', pointerId: 7, x: 40, y: 200, over: cluster },
      { type: 'up', pointerId: 7, over: cluster },
    ]);
    expect(r.started).toBe(1);
    expect(r.drops).toEqual([{ noteId: 'n1', target: cluster }]);
  });

  it('tracks the target under the pointer while dragging', () => {
    let state: DragState = IDLE;
    state = dragStep(state, { type: 'down', noteId: 'n1', pointerId: 1, x: 0, y: 0 }).state;
    state = dragStep(state, { type: 'move', pointerId: 1, x: 0, y: 50, over: { kind: 'loose' } }).state;
    expect(state).toMatchObject({ phase: 'dragging', over: { kind: 'loose' }, y: 50 });
  });

  it('letting go over nothing drops nothing', () => {
    const r = run([
      { type: 'down', noteId: 'n1', pointerId: 1, x: 0, y: 0 },
      { type: 'move', pointerId: 1, x: 0, y: 100, over: cluster },
      { type: 'up', pointerId: 1, over: null },
    ]);
    expect(r.drops).toEqual([]);
    expect(r.state).toEqual(IDLE);
  });

  it('ignores other pointers (a second finger) and cancels cleanly', () => {
    const r = run([
      { type: 'down', noteId: 'n1', pointerId: 1, x: 0, y: 0 },
      { type: 'down', noteId: 'n2', pointerId: 2, x: 0, y: 0 },
      { type: 'move', pointerId: 2, x: 0, y: 100, over: cluster },
      { type: 'up', pointerId: 2, over: cluster },
    ]);
    expect(r.drops).toEqual([]);
    expect(r.state).toMatchObject({ phase: 'pressed', noteId: 'n1' });
    const cancelled = run([
      { type: 'down', noteId: 'n1', pointerId: 1, x: 0, y: 0 },
      { type: 'move', pointerId: 1, x: 0, y: 100, over: cluster },
      { type: 'cancel' },
      { type: 'up', pointerId: 1, over: cluster },
    ]);
    expect(cancelled.drops).toEqual([]);
  });
});

describe('dropIntent', () => {
  const where: Record<string, string | null> = { a: null, b: null, c: 'c1', d: 'c1', e: 'c2' };
  const clusterOf = (id: string) => where[id];

  it('moves into a cluster, or does nothing when already there', () => {
    expect(dropIntent('a', { kind: 'cluster', id: 'c1' }, clusterOf)).toEqual({ kind: 'move', noteId: 'a', clusterId: 'c1' });
    expect(dropIntent('c', { kind: 'cluster', id: 'c1' }, clusterOf)).toEqual({ kind: 'none' });
  });

  it('takes a note out of its cluster on the loose area', () => {
    expect(dropIntent('c', { kind: 'loose' }, clusterOf)).toEqual({ kind: 'move', noteId: 'c', clusterId: null });
    expect(dropIntent('a', { kind: 'loose' }, clusterOf)).toEqual({ kind: 'none' });
  });

  it('on a loose note makes a new group with both', () => {
    expect(dropIntent('a', { kind: 'note', id: 'b' }, clusterOf)).toEqual({ kind: 'newCluster', noteIds: ['b', 'a'] });
    expect(dropIntent('c', { kind: 'note', id: 'b' }, clusterOf)).toEqual({ kind: 'newCluster', noteIds: ['b', 'c'] });
  });

  it('on a clustered note joins its cluster', () => {
    expect(dropIntent('a', { kind: 'note', id: 'e' }, clusterOf)).toEqual({ kind: 'move', noteId: 'a', clusterId: 'c2' });
    expect(dropIntent('c', { kind: 'note', id: 'd' }, clusterOf)).toEqual({ kind: 'none' });
  });

  it('on itself or on a note gone meanwhile does nothing', () => {
    expect(dropIntent('a', { kind: 'note', id: 'a' }, clusterOf)).toEqual({ kind: 'none' });
    expect(dropIntent('a', { kind: 'note', id: 'zz' }, clusterOf)).toEqual({ kind: 'none' });
  });
});

describe('drop target attributes', () => {
  it('round-trip', () => {
    for (const t of [{ kind: 'loose' }, { kind: 'cluster', id: 'c_1:x' }, { kind: 'note', id: 'n9' }] as const) {
      expect(parseDropTarget(dropTargetAttr(t))).toEqual(t);
    }
    expect(parseDropTarget('')).toBeNull();
    expect(parseDropTarget('cluster:')).toBeNull();
    expect(parseDropTarget('thing:x')).toBeNull();
  });

  it('compare', () => {
    expect(sameTarget({ kind: 'loose' }, { kind: 'loose' })).toBe(true);
    expect(sameTarget({ kind: 'cluster', id: 'a' }, { kind: 'note', id: 'a' })).toBe(false);
    expect(sameTarget(null, null)).toBe(true);
  });
});
