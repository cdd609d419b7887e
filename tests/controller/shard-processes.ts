// Real shard pods for the controller tests: one `guildhall shard` process per pod name the stand-in
// Kubernetes API (tests/controller/fake-kube.ts) reports for the StatefulSet, started when the controller
// scales up and stopped (SIGTERM, the kubelet's way) when it scales down — what a StatefulSet controller
// would do in a cluster.
import type { ChildProcess } from 'node:child_process';
import { spawnCli } from '../helpers/cli.js';

export class ShardProcessSupervisor {
  readonly pods = new Map<string, ChildProcess>();
  private readonly output = new Map<string, string>();
  private timer: NodeJS.Timeout | undefined;

  /**
   * @param podNames the pods that should exist now (polled)
   * @param env the shard role's environment (Redis, Discord, lease TTL, …); POD_NAME is set per pod
   */
  constructor(
    private readonly podNames: () => string[],
    private readonly env: Record<string, string>,
    private readonly everyMs = 200,
  ) {}

  start(): void {
    this.timer = setInterval(() => this.sync(), this.everyMs);
    this.sync();
  }

  /** The last output of a pod (for failure messages). */
  log(name: string): string {
    return this.output.get(name) ?? '';
  }

  private sync(): void {
    const names = new Set(this.podNames());
    for (const name of names) {
      if (this.pods.has(name)) continue;
      const child = spawnCli(['shard'], {
        API_INTERNAL_URL: 'http://127.0.0.1:9', // domain RPC is not used by these tests
        SHARD_PORT: '0',
        ...this.env,
        POD_NAME: name,
      });
      const keep = (d: Buffer) => this.output.set(name, (this.log(name) + d.toString()).slice(-20_000));
      child.stdout?.on('data', keep);
      child.stderr?.on('data', keep);
      this.pods.set(name, child);
    }
    for (const [name, child] of this.pods) {
      if (names.has(name)) continue;
      this.pods.delete(name);
      void stopChild(child);
    }
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await Promise.all([...this.pods.values()].map(stopChild));
    this.pods.clear();
  }
}

/** SIGTERM, then SIGKILL after 15 s; resolves once the process is gone. */
async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
  await exited;
  clearTimeout(timer);
}
