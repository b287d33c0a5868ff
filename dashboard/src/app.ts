/**
 * The shell: sign-in, the environment's header, the navigation and the current page. A page is one
 * entry of {@link PAGES}; it owns the paths under its own (`export-jobs/<id>`) and its query string.
 */
import type { FunctionComponent } from 'preact';
import { html } from 'htm/preact';
import { useEffect, useMemo, useState } from 'preact/hooks';
import { Api, ApiError } from './api';
import { Field } from './components';
import { DataExportPage } from './pages/data-export';
import { DestinationsPage } from './pages/destinations';
import { ExportJobsPage } from './pages/export-jobs';
import { ManualExportPage } from './pages/manual-export';
import { RawExportPage } from './pages/raw-export';
import { followLink, matchRoute, navigate, pageOfPath, pagePath, useLocation } from './router';
import { clearSession, saveSession, type Session } from './session';

export interface PageProps {
  api: Api;
  environmentId: string;
  /** The path below the page's own, '' on the page itself (e.g. a job's id under `export-jobs`). */
  subpath: string;
  /** The query string, with its `?` ('' without one). */
  search: string;
}

interface Page {
  /** Path under `/environments/{envId}/`; the failure emails link to `settings/data-export`, `settings/raw-export` and `export-jobs/<jobId>`. */
  path: string;
  title: string;
  view: FunctionComponent<PageProps>;
}

export const PAGES: readonly Page[] = [
  { path: 'settings/data-export', title: 'Data export', view: DataExportPage },
  { path: 'settings/manual-export', title: 'Manual export', view: ManualExportPage },
  { path: 'destinations', title: 'Destinations', view: DestinationsPage },
  { path: 'export-jobs', title: 'Export jobs', view: ExportJobsPage },
  { path: 'settings/raw-export', title: 'Raw export', view: RawExportPage },
];

export function App({ apiBaseUrl, initialSession }: { apiBaseUrl: string; initialSession?: Session }) {
  const [session, setSession] = useState(initialSession);
  const { pathname, search } = useLocation();
  const route = matchRoute(pathname);
  const environmentId = route?.environmentId ?? session?.environmentId;

  useEffect(() => {
    if (session && route && route.environmentId !== session.environmentId) {
      const next = { ...session, environmentId: route.environmentId };
      saveSession(sessionStorage, next);
      setSession(next);
    }
    if (session && !route && session.environmentId)
      navigate(pagePath(session.environmentId, PAGES[0].path), { replace: true });
  }, [session, route?.environmentId, pathname]);

  const signIn = (next: Session) => {
    saveSession(sessionStorage, next);
    setSession(next);
    if (next.environmentId) navigate(pagePath(next.environmentId, route?.page ?? PAGES[0].path));
  };
  const signOut = () => {
    clearSession(sessionStorage);
    setSession(undefined);
  };

  if (!session || !environmentId)
    return html`<${SignIn} session=${session} environmentId=${environmentId} onSignIn=${signIn} />`;
  return html`<${Shell}
    apiBaseUrl=${apiBaseUrl}
    token=${session.token}
    environmentId=${environmentId}
    page=${route?.page}
    search=${search}
    onSignOut=${signOut}
  />`;
}

function Shell(props: {
  apiBaseUrl: string;
  token: string;
  environmentId: string;
  page?: string;
  search: string;
  onSignOut: () => void;
}) {
  const api = useMemo(() => new Api(props.apiBaseUrl, props.token), [props.apiBaseUrl, props.token]);
  const [environment, setEnvironment] = useState<{ name: string }>();
  const [environmentError, setEnvironmentError] = useState<string>();
  useEffect(() => {
    setEnvironmentError(undefined);
    api
      .get<{ name: string }>(`/v1/environments/${encodeURIComponent(props.environmentId)}`)
      .then(setEnvironment)
      .catch((error: unknown) => setEnvironmentError(error instanceof ApiError ? error.message : String(error)));
  }, [api, props.environmentId]);

  const found = pageOfPath(PAGES, props.page);
  const page = found?.page;
  useEffect(() => {
    document.title = `${page?.title ?? 'Data export'}${environment ? ` · ${environment.name}` : ''}`;
  }, [page, environment]);

  return html`
    <a class="skip" href="#main">Skip to content</a>
    <header class="top">
      <div class="brand">Data export</div>
      <div class="environment">Environment: <strong>${environment?.name ?? props.environmentId}</strong></div>
      <button type="button" class="secondary" onClick=${props.onSignOut}>Sign out</button>
    </header>
    <nav aria-label="Settings">
      <ul>
        ${PAGES.map(
          (candidate) =>
            html`<li>
              <a
                href=${pagePath(props.environmentId, candidate.path)}
                aria-current=${candidate === page ? 'page' : undefined}
                onClick=${followLink}
                >${candidate.title}</a
              >
            </li>`,
        )}
      </ul>
    </nav>
    <main id="main" tabindex="-1">
      ${
        environmentError
          ? html`<div class="alert" role="alert">
              <p>${environmentError}</p>
              <p>Sign out and sign in with a token of this environment's organization.</p>
            </div>`
          : null
      }
      ${
        page
          ? html`<h1>${page.title}</h1>
              <${page.view}
                api=${api}
                environmentId=${props.environmentId}
                subpath=${found.subpath}
                search=${props.search}
              />`
          : html`<h1>Page not found</h1>
              <p>Choose a page above.</p>`
      }
    </main>
  `;
}

function SignIn(props: { session?: Session; environmentId?: string; onSignIn: (session: Session) => void }) {
  const [token, setToken] = useState(props.session?.token ?? '');
  const [environmentId, setEnvironmentId] = useState(props.environmentId ?? '');
  const [errors, setErrors] = useState<{ token?: string; environmentId?: string }>({});
  const submit = (event: Event) => {
    event.preventDefault();
    const missing = {
      token: token.trim() ? undefined : 'Paste a member token (npm start prints one).',
      environmentId: environmentId.trim() ? undefined : 'Enter the environment id, e.g. env_…',
    };
    setErrors(missing);
    if (!missing.token && !missing.environmentId)
      props.onSignIn({ token: token.trim(), environmentId: environmentId.trim() });
  };
  return html`<main id="main" class="sign-in">
    <h1>Sign in</h1>
    <p>Open the link <code>npm start</code> prints (<code>dashboardUrl</code>), or paste a member token.</p>
    <form onSubmit=${submit} novalidate>
      <${Field} id="token" label="Member token" error=${errors.token}>
        <input
          id="token"
          type="password"
          autocomplete="off"
          value=${token}
          onInput=${(e: Event) => setToken((e.currentTarget as HTMLInputElement).value)}
          aria-invalid=${errors.token ? 'true' : undefined}
        />
      <//>
      <${Field} id="environmentId" label="Environment id" error=${errors.environmentId}>
        <input
          id="environmentId"
          autocomplete="off"
          value=${environmentId}
          onInput=${(e: Event) => setEnvironmentId((e.currentTarget as HTMLInputElement).value)}
          aria-invalid=${errors.environmentId ? 'true' : undefined}
        />
      <//>
      <div class="actions"><button type="submit">Sign in</button></div>
    </form>
  </main>`;
}
