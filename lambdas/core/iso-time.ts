/** Instants as the API shows them: ISO-8601 UTC text of epoch milliseconds. */
export const isoTime = (ms: number): string => new Date(ms).toISOString();

/** isoTime, or null for an instant not known (yet). */
export const isoTimeOrNull = (ms: number | undefined): string | null => (ms === undefined ? null : isoTime(ms));
