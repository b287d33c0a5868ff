/**
 * Where an API error shows in a form: each of its `issues` at the field its path names, a failure
 * without issues (a destination check) at the field its code concerns, anything left above the form.
 */
import type { ApiError } from './api';

export interface PlacedErrors<Field extends string> {
  /** Messages shown at their field. */
  fields: Partial<Record<Field, string>>;
  /** Shown above the form: the message, unless every part of it found its field. */
  form?: string;
  /** 409 `conflict`: the thing changed since it was read. */
  conflict: boolean;
}

export const noErrors = <Field extends string>(): PlacedErrors<Field> => ({ fields: {}, conflict: false });

/**
 * Places an API error. `fieldOfPath` names the visible field an issue's path (`auth.accessKeyId`,
 * `frequency.from`, `notifyEmails.0`) belongs to, or undefined; `fieldOfCode` the field of a code.
 */
export function placeErrors<Field extends string>(
  error: ApiError,
  fieldOfPath: (path: string) => Field | undefined,
  fieldOfCode: (code: string) => Field | undefined = () => undefined,
): PlacedErrors<Field> {
  if (error.code === 'conflict') return { fields: {}, form: error.message, conflict: true };
  const fields: Partial<Record<Field, string>> = {};
  let unplaced = false;
  for (const issue of error.issues) {
    const field = fieldOfPath(issue.path);
    if (field === undefined) unplaced = true;
    else fields[field] = fields[field] ? `${fields[field]}; ${issue.message}` : issue.message;
  }
  const byCode = fieldOfCode(error.code);
  if (byCode) fields[byCode] = error.message;
  const placedAll = (error.issues.length > 0 || byCode !== undefined) && !unplaced;
  return { fields, form: placedAll ? undefined : error.message, conflict: false };
}

/** The field of an issue path among `visible` ones: its first segment (`notifyEmails.0` → `notifyEmails`). */
export const firstSegmentIn =
  <Field extends string>(visible: ReadonlySet<string>) =>
  (path: string): Field | undefined => {
    const field = path.split(/[.[]/)[0];
    return visible.has(field) ? (field as Field) : undefined;
  };
