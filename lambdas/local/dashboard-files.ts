/**
 * Serves the built dashboard (a folder of static files) in local mode. Any other GET path that is not
 * a file answers index.html, so page links (`/environments/{envId}/settings/data-export`) open the app.
 */
import { readFile } from 'node:fs/promises';
import { extname, join, normalize, sep } from 'node:path';
import type { ServerResponse } from 'node:http';

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
};

/** The same policy CloudFront adds on AWS: scripts and styles from the page's origin, API calls to it. */
const SECURITY_HEADERS = {
  'content-security-policy':
    "default-src 'self'; connect-src 'self'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
};

export async function serveDashboardFile(dir: string, pathname: string, res: ServerResponse): Promise<void> {
  const relative = normalize(decodeURIComponent(pathname)).replace(/^([/\\])+/, '');
  const candidate = join(dir, relative);
  const inside = candidate.startsWith(dir.endsWith(sep) ? dir : dir + sep);
  const file = inside && extname(candidate) in CONTENT_TYPES ? candidate : join(dir, 'index.html');
  let body: Buffer;
  try {
    body = await readFile(file);
  } catch {
    if (file.endsWith('index.html')) throw new Error(`The dashboard is not built in ${dir}`);
    res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8', ...SECURITY_HEADERS });
    res.end('Not found');
    return;
  }
  res.writeHead(200, {
    'content-type': CONTENT_TYPES[extname(file)],
    'cache-control': 'no-cache',
    ...SECURITY_HEADERS,
  });
  res.end(body);
}
