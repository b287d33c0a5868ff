/**
 * Builds the dashboard: esbuild bundles `src/main.ts` (Preact with htm) into `app.js`, next to
 * `index.html` and `styles.css`. Used by `npm start`, the tests and the CDK construct (which needs the
 * synchronous form). `config.json` tells the page where the API is; omitted, the CDK deployment writes it.
 * Run directly (`tsx dashboard/build.ts [outDir]`) to build into `dashboard/dist`.
 */
import { buildSync, type BuildOptions } from 'esbuild';
import { copyFileSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const SOURCE_DIR = join(__dirname, 'src');
export const DEFAULT_DASHBOARD_DIR = join(__dirname, 'dist');

export interface DashboardConfig {
  /** Base URL of the HTTP API, without a trailing slash; '' for the page's own origin. */
  apiBaseUrl: string;
}

export interface BuildDashboardOptions {
  outDir?: string;
  /** Written as `config.json` when given. */
  config?: DashboardConfig;
}

const bundleOptions = (outDir: string): BuildOptions => ({
  entryPoints: [join(SOURCE_DIR, 'main.ts')],
  outfile: join(outDir, 'app.js'),
  bundle: true,
  format: 'esm',
  target: 'es2020',
  minify: true,
  sourcemap: false,
  logLevel: 'silent',
});

/** Builds the bundle into `outDir` (created if missing) and returns the folder. */
export function buildDashboard(options: BuildDashboardOptions = {}): string {
  const outDir = resolve(options.outDir ?? DEFAULT_DASHBOARD_DIR);
  mkdirSync(outDir, { recursive: true });
  buildSync(bundleOptions(outDir));
  for (const file of ['index.html', 'styles.css']) copyFileSync(join(SOURCE_DIR, file), join(outDir, file));
  if (options.config) writeFileSync(join(outDir, 'config.json'), JSON.stringify(options.config));
  return outDir;
}

let builtForDeployment: string | undefined;

/**
 * The bundle for a deployment (no config.json: the deployment writes it), built once per process into
 * a folder of its own, so `cdk synth` and the infra tests need no build step before them.
 */
export function dashboardBundleForDeployment(): string {
  builtForDeployment ??= buildDashboard({ outDir: mkdtempSync(join(tmpdir(), 'dashboard-bundle-')) });
  return builtForDeployment;
}

if (require.main === module) {
  const outDir = buildDashboard({ outDir: process.argv[2], config: { apiBaseUrl: '' } });
  console.log(`Dashboard built into ${outDir}`);
}
