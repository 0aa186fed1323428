import { cpus, platform, release, totalmem, loadavg } from "node:os";

/** The machine a run happened on, printed with every result: absolute numbers only mean something with it. */
export interface MachineInfo {
  node: string;
  cpu: string;
  cores: number;
  os: string;
  memoryGiB: number;
  loadAverage: number[];
  date: string;
}

export function machineInfo(): MachineInfo {
  const list = cpus();
  return {
    node: process.version,
    cpu: list[0]?.model.trim() ?? "unknown",
    cores: list.length,
    os: `${platform()} ${release()}`,
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    loadAverage: loadavg().map((l) => Math.round(l * 100) / 100),
    date: new Date().toISOString(),
  };
}

/** One line: `Node v20.x · CPU model × N cores · linux 6.x · 2026-01-01T00:00:00Z`. */
export function machineLine(m: MachineInfo): string {
  return `Node ${m.node} · ${m.cpu} × ${m.cores} cores · ${m.os} · ${m.memoryGiB} GiB · load ${m.loadAverage.join("/")} at start · ${m.date}`;
}
