import { readdirSync, readFileSync } from 'node:fs';

/**
 * Where the machine's CPU went during a run, from Linux /proc: Gatehouse's password-hashing threads (the niced
 * workers), the rest of Gatehouse (event loop, TLS-free I/O, signing, GC), PostgreSQL, this benchmark process
 * (the load generator) and everything else. Hashing-bound rates are compared with the raw argon2id ceiling; this
 * says how much of the two cores the other work took, i.e. how close to that ceiling the rate could have come.
 */
export type CpuShare = Record<'hashing' | 'gatehouse' | 'postgres' | 'loadGenerator' | 'other', number>;

const TICKS_PER_SECOND = 100; // USER_HZ on Linux

function fields(stat: string): string[] {
  // The command name may contain spaces: the fields after it start past the last ')'.
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
}

const commOf = (stat: string) => stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
const ticks = (f: string[]) => Number(f[11]) + Number(f[12]); // utime + stime
const niceOf = (f: string[]) => Number(f[16]);

/** Cumulative CPU ticks by category right now. `gatehousePids`: the server processes (their node children count). */
export function cpuTicks(gatehousePids: number[]): CpuShare {
  const totals: CpuShare = { hashing: 0, gatehouse: 0, postgres: 0, loadGenerator: 0, other: 0 };
  const parents = new Map<number, number>();
  const stats = new Map<number, string>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      stats.set(Number(entry), stat);
      parents.set(Number(entry), Number(fields(stat)[1]));
    } catch {
      // the process ended meanwhile
    }
  }
  const underGatehouse = (pid: number): boolean => {
    for (let p: number | undefined = pid, depth = 0; p !== undefined && p > 1 && depth < 6; p = parents.get(p), depth++) {
      if (gatehousePids.includes(p)) return true;
    }
    return false;
  };
  for (const [pid, stat] of stats) {
    if (pid === process.pid) {
      // Its own time and that of its ended children: the load generators (bench/load.ts) run as child processes.
      const f = fields(stat);
      totals.loadGenerator += ticks(f) + Number(f[13]) + Number(f[14]);
    } else if (commOf(stat) === 'postgres') {
      totals.postgres += ticks(fields(stat));
    } else if (underGatehouse(pid)) {
      // Per thread: the hashing workers run niced, everything else of the server at normal priority.
      try {
        for (const tid of readdirSync(`/proc/${pid}/task`)) {
          const f = fields(readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8'));
          if (niceOf(f) > 0) totals.hashing += ticks(f);
          else totals.gatehouse += ticks(f);
        }
      } catch {
        totals.gatehouse += ticks(fields(stat));
      }
    } else {
      totals.other += ticks(fields(stat));
    }
  }
  return totals;
}

/** CPU milliseconds per operation by category, between two readings. */
export function cpuPerOperation(before: CpuShare, after: CpuShare, operations: number): CpuShare {
  const per = {} as CpuShare;
  for (const key of Object.keys(before) as (keyof CpuShare)[]) {
    per[key] = operations > 0 ? ((after[key] - before[key]) * 1000) / TICKS_PER_SECOND / operations : 0;
  }
  return per;
}
