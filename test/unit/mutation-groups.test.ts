import assert from 'node:assert/strict';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { unavailable, isPapgateError } from '../../src/domain/errors';
import { MutationGroups, type Mutation, type MutationOutcome, type MutationRunner } from '../../src/store/sqlite/mutation-groups';

// The scheduling of group commit, with a recording runner (the SQLite
// transactions themselves are exercised in test/integration/store-group-commit.test.ts).

const noChange: Mutation['mutate'] = () => ({ result: 'unchanged' });

interface Recorded {
  ranAlone: string[];
  ranGroups: string[][];
}

function recordingRunner(over: Partial<MutationRunner> = {}): MutationRunner & Recorded {
  const rec: Recorded = { ranAlone: [], ranGroups: [] };
  return Object.assign(rec, {
    alone: async (m: Mutation) => {
      rec.ranAlone.push(m.mac);
      return `alone:${m.mac}`;
    },
    together: async (group: readonly Mutation[]): Promise<MutationOutcome[]> => {
      rec.ranGroups.push(group.map((m) => m.mac));
      return group.map((m) => ({ ok: true, value: `together:${m.mac}` }));
    },
    isUnavailable: (e: unknown) => isPapgateError(e) && e.code === 'unavailable',
    ...over,
  }) as MutationRunner & Recorded;
}

describe('group commit scheduling (MutationGroups)', () => {
  it('runs the mutations of one event-loop turn as one group, a later turn as another, a lone one alone', async () => {
    const runner = recordingRunner();
    const groups = new MutationGroups(runner);
    const first = await Promise.all(['a', 'b', 'c'].map((mac) => groups.add(mac, noChange)));
    const lone = await groups.add('d', noChange);
    assert.deepEqual(first, ['together:a', 'together:b', 'together:c']);
    assert.equal(lone, 'alone:d');
    assert.deepEqual(runner.ranGroups, [['a', 'b', 'c']]);
    assert.deepEqual(runner.ranAlone, ['d']);
  });

  it('fails only the caller whose mutation failed; the others get their results', async () => {
    const boom = new Error('constraint');
    const runner = recordingRunner({
      together: async (group) => group.map((m): MutationOutcome => (m.mac === 'b' ? { ok: false, error: boom } : { ok: true, value: m.mac })),
    });
    const groups = new MutationGroups(runner);
    const settled = await Promise.allSettled(['a', 'b', 'c'].map((mac) => groups.add(mac, noChange)));
    assert.deepEqual(
      settled.map((s) => s.status),
      ['fulfilled', 'rejected', 'fulfilled'],
    );
    assert.equal((settled[1] as PromiseRejectedResult).reason, boom);
  });

  it('runs each mutation alone when the group failed as a whole (nothing of it was committed)', async () => {
    const runner = recordingRunner({
      together: async () => {
        throw new Error('the transaction was rolled back');
      },
    });
    const groups = new MutationGroups(runner);
    const results = await Promise.all(['a', 'b'].map((mac) => groups.add(mac, noChange)));
    assert.deepEqual(results, ['alone:a', 'alone:b']);
    assert.deepEqual(runner.ranAlone, ['a', 'b']);
  });

  it('fails the whole group at once when the store is unavailable, without running each alone', async () => {
    const closed = unavailable('cannot update the devices: the store is closed');
    const runner = recordingRunner({
      together: async () => {
        throw closed;
      },
    });
    const groups = new MutationGroups(runner);
    const settled = await Promise.allSettled(['a', 'b'].map((mac) => groups.add(mac, noChange)));
    assert.deepEqual(
      settled.map((s) => (s.status === 'rejected' ? s.reason : s.value)),
      [closed, closed],
    );
    assert.deepEqual(runner.ranAlone, []);
  });

  it('drain starts what is queued at once and waits until it has settled', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const runner = recordingRunner({
      together: async (group) => {
        runner.ranGroups.push(group.map((m) => m.mac));
        await gate;
        return group.map((m) => ({ ok: true, value: m.mac }));
      },
    });
    const groups = new MutationGroups(runner);
    const results = Promise.all(['a', 'b'].map((mac) => groups.add(mac, noChange)));
    let drained = false;
    const draining = groups.drain().then(() => (drained = true));
    assert.deepEqual(runner.ranGroups, [['a', 'b']], 'started before drain returned');
    await nextTurn();
    assert.equal(drained, false, 'still waiting for the group');
    release();
    await draining;
    assert.deepEqual(await results, ['a', 'b']);
    await nextTurn();
    assert.deepEqual(runner.ranGroups, [['a', 'b']], 'the queued group ran once');
  });
});
