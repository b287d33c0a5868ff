/** What else the machine was doing during a measurement: its total busy CPU time, from /proc/stat. */
import { readFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';

/** USER_HZ: /proc/stat counts in 1/100 s on every Linux this runs on. */
const TICKS_PER_SECOND = 100;

export interface CpuTimes {
  busySeconds: number;
  stealSeconds: number;
}

/** The whole machine's busy and steal CPU seconds since boot; undefined off Linux. */
export function machineCpuTimes(): CpuTimes | undefined {
  try {
    const fields = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
    const [user, nice, system, , , irq, softirq, steal] = fields;
    return {
      busySeconds: (user + nice + system + irq + softirq + (steal ?? 0)) / TICKS_PER_SECOND,
      stealSeconds: (steal ?? 0) / TICKS_PER_SECOND,
    };
  } catch {
    return undefined;
  }
}

export function machineInfo() {
  return {
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model ?? 'unknown',
    memoryGb: Math.round(totalmem() / 2 ** 30),
    node: process.version,
    platform: `${process.platform} ${process.arch}`,
    loadAverageAtStart: loadavg().map((x) => Math.round(x * 100) / 100),
  };
}
