/**
 * The member's session: a bearer token and the environment it works on. A link may carry them in the
 * URL fragment (`#token=...&env=...`, never in a query string, so they reach no server log); they are
 * kept in sessionStorage and the fragment is removed at once.
 */

export interface Session {
  token: string;
  environmentId?: string;
}

const TOKEN_KEY = 'dataExport.token';
const ENVIRONMENT_KEY = 'dataExport.environmentId';

export function readSession(location: Location, storage: Storage): Session | undefined {
  const fragment = new URLSearchParams(location.hash.replace(/^#/, ''));
  const fromLink = fragment.get('token');
  if (fromLink) {
    storage.setItem(TOKEN_KEY, fromLink);
    const env = fragment.get('env');
    if (env) storage.setItem(ENVIRONMENT_KEY, env);
    history.replaceState(null, '', location.pathname + location.search);
  }
  const token = storage.getItem(TOKEN_KEY);
  if (!token) return undefined;
  return { token, environmentId: storage.getItem(ENVIRONMENT_KEY) ?? undefined };
}

export function saveSession(storage: Storage, session: Session): void {
  storage.setItem(TOKEN_KEY, session.token);
  if (session.environmentId) storage.setItem(ENVIRONMENT_KEY, session.environmentId);
  else storage.removeItem(ENVIRONMENT_KEY);
}

export function clearSession(storage: Storage): void {
  storage.removeItem(TOKEN_KEY);
  storage.removeItem(ENVIRONMENT_KEY);
}
