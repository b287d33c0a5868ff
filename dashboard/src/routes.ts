/**
 * The page paths (`/environments/{envId}/<page>`), apart from the browser's history (router.ts), so that
 * they are plain functions.
 */

export interface PageRoute {
  environmentId: string;
  /** The page's path under the environment, e.g. `settings/data-export`. */
  page: string;
}

const ROUTE = /^\/environments\/([^/]+)\/(.+?)\/?$/;

export function matchRoute(pathname: string): PageRoute | undefined {
  const match = ROUTE.exec(pathname);
  if (!match) return undefined;
  return { environmentId: decodeURIComponent(match[1]), page: match[2] };
}

/** The page a route's path belongs to (its own path, or one below it), and the rest of the path. */
export function pageOfPath<Page extends { path: string }>(
  pages: readonly Page[],
  path: string | undefined,
): { page: Page; subpath: string } | undefined {
  if (path === undefined) return undefined;
  for (const page of pages) {
    if (path === page.path) return { page, subpath: '' };
    if (path.startsWith(`${page.path}/`)) return { page, subpath: path.slice(page.path.length + 1) };
  }
  return undefined;
}

export const pagePath = (environmentId: string, page: string): string =>
  `/environments/${encodeURIComponent(environmentId)}/${page}`;
