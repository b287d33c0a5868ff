/**
 * Segment membership: a segment is an AND of conditions on the company's current attributes and on
 * its first/last seen as of an instant.
 *
 * Operator semantics:
 * - a missing attribute reads as null; only the company's own attributes are read (never the prototype's);
 * - equals / notEquals / anyOf compare strictly, except that a number and a numeric string are equal
 *   when they denote the same number (`"5"` equals `5`); notEquals is the negation of equals;
 * - contains: the attribute is a string containing the value (case-sensitive);
 * - greaterThan / lessThan: the attribute is a number or a numeric string; anything else never matches;
 * - isSet: the attribute is neither null nor the empty string; isNotSet is its negation;
 * - firstSeen / lastSeen moreThanDaysAgo / lessThanDaysAgo N: `asOf - seen` is more / less than N days;
 *   neither holds for a company not seen before `asOf`.
 */
import type { SeenAsOf } from './adoption';
import { seenTimeline } from './adoption';
import type { AttributeValue, CompanyRecord, SegmentCondition, SegmentDefinition } from './model';
import { DAY_MS } from './model';

const NUMERIC = /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/;

/** The number an attribute denotes, or null when it is neither a finite number nor a numeric string. */
function numericValue(value: AttributeValue): number | null {
  if (typeof value === 'number') return Number.isFinite(value) ? value : null;
  if (typeof value === 'string' && NUMERIC.test(value.trim())) return Number(value);
  return null;
}

function sameValue(attribute: AttributeValue, value: AttributeValue): boolean {
  if (attribute === value) return true;
  if (typeof attribute === typeof value) return false;
  const attributeNumber = numericValue(attribute);
  return attributeNumber !== null && attributeNumber === numericValue(value);
}

function conditionHolds(
  condition: SegmentCondition,
  attributes: CompanyRecord['attributes'],
  asOf: number,
  seen: SeenAsOf | null,
): boolean {
  if ('field' in condition) {
    if (seen === null) return false;
    const age = asOf - seen[condition.field];
    const limit = condition.days * DAY_MS;
    return condition.operator === 'moreThanDaysAgo' ? age > limit : age < limit;
  }
  // The company's own attributes only: `constructor` or `toString` must not read the prototype.
  const attribute = Object.hasOwn(attributes, condition.attribute) ? (attributes[condition.attribute] ?? null) : null;
  switch (condition.operator) {
    case 'equals':
      return sameValue(attribute, condition.value);
    case 'notEquals':
      return !sameValue(attribute, condition.value);
    case 'contains':
      return typeof attribute === 'string' && attribute.includes(condition.value);
    case 'anyOf':
      return condition.values.some((value) => sameValue(attribute, value));
    case 'greaterThan':
    case 'lessThan': {
      const attributeNumber = numericValue(attribute);
      if (attributeNumber === null) return false;
      return condition.operator === 'greaterThan'
        ? attributeNumber > condition.value
        : attributeNumber < condition.value;
    }
    case 'isSet':
      return attribute !== null && attribute !== '';
    case 'isNotSet':
      return attribute === null || attribute === '';
  }
}

const byNameThenId = (a: SegmentDefinition, b: SegmentDefinition): number =>
  a.name < b.name ? -1 : a.name > b.name ? 1 : a.id < b.id ? -1 : a.id > b.id ? 1 : 0;

/**
 * The segments the company belongs to as of `asOf`, sorted by name, then id (code-unit order, so the
 * result does not depend on the runtime's locale). `seen` is the company's seen state as of `asOf`,
 * passed by callers that already have it.
 */
export function matchingSegments(
  company: CompanyRecord,
  segments: readonly SegmentDefinition[],
  asOf: number,
  seen: SeenAsOf | null = seenTimeline(company)(asOf),
): SegmentDefinition[] {
  return segments
    .filter((segment) =>
      segment.conditions.every((condition) => conditionHolds(condition, company.attributes, asOf, seen)),
    )
    .sort(byNameThenId);
}
