import type { z } from 'zod';
import { ValidationError, type FieldIssue } from '../core/errors';

/** Turns zod's issues into field paths and messages a developer can act on. */
export function toFieldIssues(error: z.ZodError): FieldIssue[] {
  return error.issues.map((issue) => ({
    path: issue.path
      .map((part) => (typeof part === 'number' ? `[${part}]` : String(part)))
      .join('.')
      .replace(/\.\[/g, '['),
    message: issue.message,
  }));
}

function describe(issues: FieldIssue[], subject: string): string {
  const shown = issues.slice(0, 3).map((issue) => (issue.path ? `${issue.path}: ${issue.message}` : issue.message));
  const more = issues.length > 3 ? ` (and ${issues.length - 3} more)` : '';
  return `Invalid ${subject}. ${shown.join('; ')}${more}.`;
}

export function parseJsonBody(body: string | undefined): unknown {
  if (body === undefined || body.trim() === '') {
    throw new ValidationError('The request body is empty; send a JSON object with Content-Type: application/json.');
  }
  try {
    return JSON.parse(body);
  } catch (error) {
    throw new ValidationError('The request body is not valid JSON.', [], { cause: error });
  }
}

export function validate<Schema extends z.ZodType>(
  schema: Schema,
  value: unknown,
  subject = 'request body',
): z.infer<Schema> {
  const result = schema.safeParse(value);
  if (!result.success) {
    const issues = toFieldIssues(result.error);
    throw new ValidationError(describe(issues, subject), issues, { cause: result.error });
  }
  return result.data;
}

export function validateBody<Schema extends z.ZodType>(schema: Schema, body: string | undefined): z.infer<Schema> {
  return validate(schema, parseJsonBody(body));
}
