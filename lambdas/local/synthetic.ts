/**
 * Deterministic synthetic tenants: realistic mixes of usage patterns (never used, tried, daily,
 * weekly, monthly, churned) with company attributes and feedback. Local mode's demo data and the
 * benchmark both come from here.
 */
import { DAY_MS, feedbackTally, toEpochDay, type CompanyUsage, type FeatureUsageRecord } from '../core/model';

export interface SyntheticTenantOptions {
  companies: number;
  /** Event keys of the features to generate usage for. */
  featureKeys: string[];
  /** Days of history, ending with the day of `endAt`. */
  days: number;
  endAt: number;
  seed?: number;
}

/** mulberry32: small, fast and good enough for test data. */
function randomGenerator(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const NAME_PARTS = [
  [
    'Acme',
    'Globex',
    'Initech',
    'Umbrella',
    'Hooli',
    'Stark',
    'Wayne',
    'Soylent',
    'Tyrell',
    'Cyberdyne',
    'Nordhavn',
    'Zürich Data',
    'Müller & Söhne',
    'Ōkami',
  ],
  ['Labs', 'Corp', 'Analytics', 'Systems', 'GmbH', 'Inc.', 'Cloud', 'Logistics', 'Health', 'Bank'],
];
const COUNTRIES = ['US', 'DE', 'GB', 'FR', 'JP', 'BR', 'IN'];
const PLANS = ['free', 'starter', 'business', 'enterprise'];

type Pattern = 'never' | 'tried' | 'daily' | 'weekly' | 'monthly' | 'churned';
const PATTERN_WEIGHTS: [Pattern, number][] = [
  ['never', 0.25],
  ['tried', 0.15],
  ['daily', 0.15],
  ['weekly', 0.2],
  ['monthly', 0.1],
  ['churned', 0.15],
];

export function* syntheticTenant(options: SyntheticTenantOptions): Generator<CompanyUsage> {
  const random = randomGenerator(options.seed ?? 42);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)];
  const endDay = toEpochDay(options.endAt);
  const firstDay = endDay - options.days + 1;
  /** A use at a random time of the day, never later than endAt. */
  const timeOn = (day: number) => Math.min(day * DAY_MS + Math.floor(random() * DAY_MS), options.endAt);

  for (let index = 0; index < options.companies; index++) {
    const joinDay = firstDay + Math.floor(random() ** 2 * options.days * 0.8);
    const seenDays = new Map<number, number>();
    const usage: FeatureUsageRecord[] = [];

    for (const eventKey of options.featureKeys) {
      const pattern = choosePattern(random());
      const usedDays = new Map<number, number>();
      const startDay = joinDay + Math.floor(random() * Math.max(1, (endDay - joinDay) / 2));
      for (let day = startDay; day <= endDay; day++) {
        if (isActive(pattern, day - startDay, endDay - startDay, random)) usedDays.set(day, timeOn(day));
      }
      if (pattern === 'tried' && usedDays.size === 0 && startDay <= endDay) usedDays.set(startDay, timeOn(startDay));
      const feedback =
        usedDays.size > 0 && random() < 0.2
          ? Array.from({ length: 1 + Math.floor(random() * 3) }, () =>
              feedbackTally({
                at: timeOn(pick([...usedDays.keys()])),
                score:
                  random() < 0.15 ? null : Math.min(5, 1 + Math.floor(random() * 5 + (pattern === 'daily' ? 1 : 0))),
              }),
            )
          : [];
      if (usedDays.size === 0 && feedback.length === 0) continue;
      for (const [day, at] of usedDays) seenDays.set(day, Math.max(seenDays.get(day) ?? 0, at));
      const firstUsedDay = usedDays.size > 0 ? Math.min(...usedDays.keys()) : undefined;
      usage.push({
        eventKey,
        // The first use of the first day happened at or before that day's last use.
        firstUsed:
          firstUsedDay === undefined
            ? null
            : firstUsedDay * DAY_MS + Math.floor((usedDays.get(firstUsedDay)! - firstUsedDay * DAY_MS) * random()),
        usedDays,
        feedback,
      });
    }
    const joinAt = timeOn(joinDay);
    seenDays.set(joinDay, Math.max(seenDays.get(joinDay) ?? 0, joinAt));
    const name = `${pick(NAME_PARTS[0])} ${pick(NAME_PARTS[1])} ${index + 1}`;
    yield {
      company: {
        companyId: `company-${String(index + 1).padStart(6, '0')}`,
        name,
        attributes: {
          name,
          country: pick(COUNTRIES),
          plan: pick(PLANS),
          employees: Math.floor(5 + random() ** 3 * 5000),
        },
        firstSeen: Math.min(joinAt, ...usage.map((u) => u.firstUsed ?? Infinity)),
        seenDays,
      },
      usage,
    };
  }
}

function choosePattern(draw: number): Pattern {
  let cumulative = 0;
  for (const [pattern, weight] of PATTERN_WEIGHTS) {
    cumulative += weight;
    if (draw < cumulative) return pattern;
  }
  return 'never';
}

function isActive(pattern: Pattern, sinceStart: number, span: number, random: () => number): boolean {
  switch (pattern) {
    case 'never':
      return false;
    case 'tried':
      return sinceStart < 10 && random() < 0.15;
    case 'daily':
      return random() < 0.8;
    case 'weekly':
      return random() < 0.25;
    case 'monthly':
      return random() < 0.06;
    case 'churned':
      return sinceStart < span / 2 && random() < 0.6;
  }
}
