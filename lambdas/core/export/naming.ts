/** Object keys and file names of exports: deterministic, readable, safe in any file system. */

/** Lower-case letters, digits and dashes: what survives every bucket console and shell. */
export function slug(text: string): string {
  const cleaned = text
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '');
  return cleaned.slice(0, 60) || 'environment';
}

/** e.g. `production_6m-weekly_2026-11-23.csv`: environment, aggregation and date. */
export function exportFileName(environmentName: string, aggregation: string, date: string, extension: string): string {
  return `${slug(environmentName)}_${aggregation}_${date}.${extension}`;
}
