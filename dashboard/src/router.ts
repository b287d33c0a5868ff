/**
 * Path routing (`/environments/{envId}/<page>`), so a link from an email opens the right page: links
 * push history entries, the back button works, and the server answers index.html for any page path.
 */
import { useEffect, useState } from 'preact/hooks';

export { matchRoute, pageOfPath, pagePath, type PageRoute } from './routes';

export function navigate(path: string, { replace = false } = {}): void {
  if (replace) history.replaceState(null, '', path);
  else history.pushState(null, '', path);
  dispatchEvent(new PopStateEvent('popstate'));
}

/** The current path and query string (a listing's filters live there), updated on navigation. */
export function useLocation(): { pathname: string; search: string } {
  const [current, setCurrent] = useState({ pathname: location.pathname, search: location.search });
  useEffect(() => {
    const update = () => setCurrent({ pathname: location.pathname, search: location.search });
    addEventListener('popstate', update);
    return () => removeEventListener('popstate', update);
  }, []);
  return current;
}

/** A click handler for in-app links: plain clicks navigate in place, modified clicks open as usual. */
export function followLink(event: MouseEvent): void {
  if (event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey)
    return;
  const anchor = event.currentTarget as HTMLAnchorElement;
  event.preventDefault();
  navigate(anchor.pathname + anchor.search);
}
