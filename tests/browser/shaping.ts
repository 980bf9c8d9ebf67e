/**
 * A narrow link for one server on loopback: what leaves its `ports` (source ports, UDP and TCP) is
 * held to `rate` by an HTB class on `lo`; everything else on `lo` goes by at full speed. Needs root
 * and iproute2's `tc` (sch_htb, cls_u32). Test files run one at a time, so the shaping is this
 * file's only; `lift()` removes it (and a stale one is replaced).
 */
import { execFileSync } from 'node:child_process';

const tc = (...args: string[]) => execFileSync('tc', args, { stdio: ['ignore', 'ignore', 'pipe'] });

export function narrowLoopback(ports: number[], rate: string): { lift(): void } {
  try {
    tc('qdisc', 'del', 'dev', 'lo', 'root');
  } catch {
    /* nothing there */
  }
  tc('qdisc', 'add', 'dev', 'lo', 'root', 'handle', '1:', 'htb', 'default', '10', 'r2q', '100000');
  tc('class', 'add', 'dev', 'lo', 'parent', '1:', 'classid', '1:10', 'htb', 'rate', '40gbit');
  tc('class', 'add', 'dev', 'lo', 'parent', '1:', 'classid', '1:20', 'htb', 'rate', rate, 'ceil', rate);
  // A short queue, as a real narrow link has: lo's default (1,000 packets) would hold ~40 s of
  // video at 250 kbit/s, late rather than lost.
  tc('qdisc', 'add', 'dev', 'lo', 'parent', '1:20', 'handle', '20:', 'pfifo', 'limit', '30');
  // IPv4 and IPv6: a server that listens on every address (LiveKit's UDP mux does) may be reached
  // over either, and all of it goes through lo when both ends are on this machine.
  for (const port of ports) {
    for (const proto of ['17', '6']) {
      tc('filter', 'add', 'dev', 'lo', 'parent', '1:', 'protocol', 'ip', 'prio', '1', 'u32', 'match', 'ip', 'protocol', proto, '0xff', 'match', 'ip', 'sport', String(port), '0xffff', 'flowid', '1:20');
      tc('filter', 'add', 'dev', 'lo', 'parent', '1:', 'protocol', 'ipv6', 'prio', '2', 'u32', 'match', 'ip6', 'protocol', proto, '0xff', 'match', 'ip6', 'sport', String(port), '0xffff', 'flowid', '1:20');
    }
  }
  return {
    lift() {
      try {
        tc('qdisc', 'del', 'dev', 'lo', 'root');
      } catch {
        /* already gone */
      }
    },
  };
}

/** Bytes the narrow class has sent so far (it saw the server's traffic). */
export function narrowedBytes(): number {
  const out = execFileSync('tc', ['-s', 'class', 'show', 'dev', 'lo', 'classid', '1:20'], { encoding: 'utf8' });
  return Number(/Sent (\d+) bytes/.exec(out)?.[1] ?? 0);
}
