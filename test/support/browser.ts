/**
 * A real browser for the dashboard tests: Debian's Chromium driven by playwright-core (Playwright's own
 * browser download cannot reach its host here). A missing Chromium fails the suite, it is never skipped.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page, type Request } from 'playwright-core';

export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const SCREENSHOT_DIR = join(__dirname, '..', '..', 'test-results', 'dashboard');

export async function launchBrowser(): Promise<Browser> {
  if (!existsSync(CHROMIUM_PATH)) {
    throw new Error(
      `Chromium is missing at ${CHROMIUM_PATH}: the dashboard tests need a real browser. Install it (apt-get install -y chromium; .ci/run does) or set CHROMIUM_PATH.`,
    );
  }
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

/**
 * A page that records what must never happen: a console error other than the browser's own note of an
 * API refusal (4xx, which the page shows), an uncaught exception, a request that failed (but for one cut
 * short by leaving the page) or a 5xx.
 */
export interface WatchedPage {
  page: Page;
  context: BrowserContext;
  /** Everything that went wrong, one line each. */
  problems: string[];
}

export async function watchedPage(browser: Browser): Promise<WatchedPage> {
  const context = await browser.newContext({ viewport: { width: 1024, height: 900 } });
  const page = await context.newPage();
  const problems: string[] = [];
  page.on('console', (message) => {
    if (message.type() !== 'error') return;
    if (/^Failed to load resource: the server responded with a status of 4\d\d/.test(message.text())) return;
    problems.push(`console error: ${message.text()}`);
  });
  page.on('pageerror', (error) => problems.push(`uncaught: ${error.message}`));
  // Leaving a page (goto, reload) aborts the requests of the page being left, those in flight and those it
  // still starts until the next page commits: that is the walk's doing, not a fault.
  const inFlight = new Set<Request>();
  const cutByNavigation = new Set<Request>();
  let leaving = false;
  page.on('request', (request) => {
    if (request.isNavigationRequest() && request.frame() === page.mainFrame()) {
      leaving = true;
      for (const pending of inFlight) cutByNavigation.add(pending);
    } else if (leaving) {
      cutByNavigation.add(request);
    }
    inFlight.add(request);
  });
  page.on('framenavigated', (frame) => {
    if (frame === page.mainFrame()) leaving = false;
  });
  page.on('requestfinished', (request) => inFlight.delete(request));
  page.on('requestfailed', (request) => {
    inFlight.delete(request);
    const error = request.failure()?.errorText ?? '';
    if (error === 'net::ERR_ABORTED' && cutByNavigation.has(request)) return;
    problems.push(`request failed: ${request.method()} ${request.url()} ${error}`);
  });
  page.on('response', (response) => {
    if (response.status() >= 500) problems.push(`server error: ${response.status()} ${response.url()}`);
  });
  return { page, context, problems };
}

/**
 * Runs a browser walk; on failure saves a screenshot under test-results/dashboard/ before rethrowing.
 * Either way, the walk fails when the page met a problem (see {@link watchedPage}).
 */
export async function walk(browser: Browser, name: string, steps: (page: Page) => Promise<void>): Promise<void> {
  const watched = await watchedPage(browser);
  try {
    await steps(watched.page);
    if (watched.problems.length > 0) throw new Error(`The page met problems:\n${watched.problems.join('\n')}`);
  } catch (error) {
    mkdirSync(SCREENSHOT_DIR, { recursive: true });
    await watched.page
      .screenshot({ path: join(SCREENSHOT_DIR, `${name.replace(/[^a-z0-9]+/gi, '-')}.png`), fullPage: true })
      .catch(() => undefined);
    throw error;
  } finally {
    await watched.context.close();
  }
}

/** The page's controls without a label, aria-label or text, as outerHTML: none may be. */
export const unlabelledControls = (page: Page): Promise<string[]> =>
  page.evaluate(
    "[...document.querySelectorAll('input, select, button')].filter((el) => !(el.labels?.length || el.getAttribute('aria-label') || el.textContent.trim())).map((el) => el.outerHTML)",
  );
