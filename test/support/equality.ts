/**
 * A day history is a read-only map whatever its class: a store's SortedDayHistory equals the Map with
 * the same days and times, so tests compare records with plain Maps.
 */
import { expect } from '@jest/globals';
import { SortedDayHistory } from '../../lambdas/core/model';

expect.addEqualityTesters([
  function dayHistoriesEqual(
    this: { equals(a: unknown, b: unknown): boolean },
    a: unknown,
    b: unknown,
  ): boolean | undefined {
    const isHistory = (value: unknown) => value instanceof SortedDayHistory || value instanceof Map;
    if (!(a instanceof SortedDayHistory || b instanceof SortedDayHistory) || !isHistory(a) || !isHistory(b))
      return undefined;
    return this.equals(new Map(a as ReadonlyMap<number, number>), new Map(b as ReadonlyMap<number, number>));
  },
]);
