/**
 * Summarizes a V8 .cpuprofile (from `--cpu-prof`): self time by package / source area and the top
 * functions. `npx tsx bench/tools/profile-summary.ts <file.cpuprofile> [topN]`
 */
import { readFileSync } from 'node:fs';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

/** A coarse area of the code a URL belongs to. */
export function areaOf(url: string, functionName: string): string {
  if (!url) return functionName.startsWith('(') ? functionName : '(native / builtins)';
  const nm = url.match(/node_modules\/((?:@[^/]+\/)?[^/]+)/);
  if (nm) return nm[1].startsWith('@aws-sdk') || nm[1].startsWith('@smithy') ? `${nm[1]}` : nm[1];
  const lambdas = url.match(/\/(lambdas\/.*|bench\/.*)$/);
  if (lambdas) return lambdas[1];
  if (url.startsWith('node:')) return url;
  return url;
}

function main(): void {
  const file = process.argv[2];
  const top = Number(process.argv[3] ?? 30);
  const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const selfMicros = new Map<number, number>();
  profile.samples.forEach((id, i) => selfMicros.set(id, (selfMicros.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)));
  let total = 0;
  const byArea = new Map<string, number>();
  const byFunction = new Map<string, number>();
  for (const [id, micros] of selfMicros) {
    const node = byId.get(id)!;
    total += micros;
    const area = areaOf(node.callFrame.url, node.callFrame.functionName);
    byArea.set(area, (byArea.get(area) ?? 0) + micros);
    const fn = `${node.callFrame.functionName || '(anonymous)'} ${area}:${node.callFrame.lineNumber + 1}`;
    byFunction.set(fn, (byFunction.get(fn) ?? 0) + micros);
  }
  const print = (title: string, map: Map<string, number>) => {
    console.log(`\n${title} (total ${(total / 1e6).toFixed(2)} s sampled)`);
    for (const [name, micros] of [...map].sort((a, b) => b[1] - a[1]).slice(0, top)) {
      console.log(
        `${(micros / 1e6).toFixed(2).padStart(7)} s ${((100 * micros) / total).toFixed(1).padStart(5)}%  ${name}`,
      );
    }
  };
  print('Self time by area', byArea);
  print('Self time by function', byFunction);
}

main();
