/** Reading a process's memory once it has stopped moving. */
import { rssBytes } from "./procfs.ts";

export const MiB = 1024 * 1024;

export interface Settled {
  bytes: number;
  afterS: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * RSS of `pid` once three readings in a row agree within 1%, but not before `minS` (time
 * for idle Durable Objects to hibernate) nor after `maxS`.
 */
export async function settledRss(pid: number, minS: number, maxS: number): Promise<Settled> {
  const started = Date.now();
  const interval = Math.min(1000, Math.max(100, (maxS * 1000) / 10));
  await sleep(minS * 1000);
  const readings: number[] = [];
  for (;;) {
    const rss = rssBytes(pid);
    if (rss === null) throw new Error(`process ${pid} is gone`);
    readings.push(rss);
    const last = readings.slice(-3);
    const elapsedS = (Date.now() - started) / 1000;
    if ((last.length === 3 && Math.max(...last) - Math.min(...last) <= 0.01 * Math.max(...last)) || elapsedS >= maxS) {
      return { bytes: rss, afterS: Math.round(elapsedS * 10) / 10 };
    }
    await sleep(interval);
  }
}
