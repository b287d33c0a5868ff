/**
 * Bundles the measured child (bench/export-run.ts) the way the Lambda functions are deployed
 * (lib/constructs/service-function.ts: esbuild, minified CommonJS, ESM builds of dependencies
 * preferred, source maps), so that the export's memory and CPU are measured as they would run on
 * Lambda, without tsx compiling TypeScript inside the measured process.
 */
import { build } from 'esbuild';

/** `readableNames` keeps function names (for CPU profiles); whitespace and syntax are still minified. */
export async function bundleExportRun(entry: string, outfile: string, readableNames = false): Promise<void> {
  await build({
    entryPoints: [entry],
    outfile,
    bundle: true,
    platform: 'node',
    target: `node${process.versions.node.split('.')[0]}`,
    format: 'cjs',
    minifyIdentifiers: !readableNames,
    minifyWhitespace: true,
    minifySyntax: true,
    sourcemap: true,
    sourcesContent: false,
    mainFields: ['module', 'main'],
    logLevel: 'warning',
  });
}
