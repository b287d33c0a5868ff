/**
 * ScheduleReconciler (lambdas/core/schedule-reconcile.ts): the schedule follows the saved settings;
 * an environment without settings has none; saves that keep arriving during a reconcile are applied
 * for at most MAX_PASSES passes and leave the environment marked for the hourly check; one failing
 * environment does not stop the others.
 */
import { ScheduleReconciler } from '../../lambdas/core/schedule-reconcile';
import type { AutomaticExportSettings } from '../../lambdas/ports';
import { FakeScheduler, FakeSettingsStore } from '../support/fakes';

const settings = (environmentId: string, version: number, enabled = true): AutomaticExportSettings => ({
  environmentId,
  enabled,
  cadence: version % 2 === 0 ? 'daily' : 'weekly',
  notifyEmails: [],
  updatedAt: version,
  version,
});

function setUp() {
  const store = new FakeSettingsStore();
  const scheduler = new FakeScheduler();
  return { store, scheduler, reconciler: new ScheduleReconciler({ settings: store, scheduler }) };
}

describe('ScheduleReconciler.reconcile', () => {
  it('removes the schedule of an environment that has no settings, and marks nothing', async () => {
    const { store, scheduler, reconciler } = setUp();
    scheduler.schedules.set('env_1', 'daily');
    const marked: unknown[] = [];
    store.markReconciled = async (...args) => void marked.push(args);
    await reconciler.reconcile('env_1');
    expect(scheduler.calls).toEqual([{ op: 'remove', environmentId: 'env_1' }]);
    expect(scheduler.schedules.has('env_1')).toBe(false);
    expect(marked).toEqual([]);
  });

  it('applies settings saved while it ran, then marks the latest version reconciled', async () => {
    const { store, scheduler, reconciler } = setUp();
    await store.put(settings('env_1', 1), 0);
    const upsert = scheduler.upsert.bind(scheduler);
    let saved = false;
    scheduler.upsert = async (environmentId, cadence) => {
      await upsert(environmentId, cadence);
      if (!saved) {
        saved = true;
        await store.put(settings('env_1', 2), 1);
      }
    };
    await reconciler.reconcile('env_1');
    expect(scheduler.calls).toEqual([
      { op: 'upsert', environmentId: 'env_1', cadence: 'weekly' },
      { op: 'upsert', environmentId: 'env_1', cadence: 'daily' },
    ]);
    expect(store.unreconciled.has('env_1')).toBe(false);
  });

  it('gives up after 5 passes while saves keep arriving, leaving the environment marked for the hourly check', async () => {
    const { store, scheduler, reconciler } = setUp();
    await store.put(settings('env_1', 1), 0);
    const upsert = scheduler.upsert.bind(scheduler);
    scheduler.upsert = async (environmentId, cadence) => {
      await upsert(environmentId, cadence);
      const current = (await store.get(environmentId))!;
      await store.put(settings(environmentId, current.version + 1), current.version);
    };
    await reconciler.reconcile('env_1');
    expect(scheduler.calls).toHaveLength(5);
    expect(store.unreconciled.has('env_1')).toBe(true);
  });
});

describe('ScheduleReconciler.reconcilePending', () => {
  it('reconciles every marked environment, and goes on past one whose scheduler call fails', async () => {
    const { store, scheduler, reconciler } = setUp();
    await store.put(settings('env_a', 1), 0);
    await store.put(settings('env_b', 1), 0);
    await store.put(settings('env_c', 1, false), 0);
    const upsert = scheduler.upsert.bind(scheduler);
    scheduler.upsert = async (environmentId, cadence) => {
      if (environmentId === 'env_b') throw new Error('scheduler unavailable');
      await upsert(environmentId, cadence);
    };
    await expect(reconciler.reconcilePending()).resolves.toEqual({ reconciled: ['env_a', 'env_c'], failed: ['env_b'] });
    expect([...store.unreconciled]).toEqual(['env_b']);
    expect(scheduler.schedules.get('env_a')).toBe('weekly');
  });
});
