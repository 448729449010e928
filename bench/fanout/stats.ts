/** Percentiles and CPU accounting (this process, a server PID, the machine) from /proc. */

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i];
}

const TICK = 100; // USER_HZ on Linux

function procTicks(pid: number | "self"): number {
  try {
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return Number(f[11]) + Number(f[12]); // utime + stime
  } catch {
    return NaN;
  }
}

function machineBusyTicks(): number {
  const f = Deno.readTextFileSync("/proc/stat").split("\n")[0].trim().split(/\s+/).slice(1)
    .map(Number);
  return f[0] + f[1] + f[2] + f[5] + f[6] + f[7]; // user nice system irq softirq steal
}

/** CPU used between `start()` and `stop()`, in cores (CPU-seconds per second). */
export function cpuMeter(serverPid: number | undefined) {
  const t0 = performance.now();
  const s0 = serverPid ? procTicks(serverPid) : NaN;
  const g0 = procTicks("self");
  const m0 = machineBusyTicks();
  return () => {
    const secs = (performance.now() - t0) / 1000;
    const server = serverPid ? (procTicks(serverPid) - s0) / TICK / secs : NaN;
    const gen = (procTicks("self") - g0) / TICK / secs;
    const machine = (machineBusyTicks() - m0) / TICK / secs;
    const round = (x: number) => Math.round(x * 100) / 100;
    return {
      secs: round(secs),
      serverCpu: round(server),
      genCpu: round(gen),
      otherCpu: round(machine - (Number.isNaN(server) ? 0 : server) - gen),
    };
  };
}
