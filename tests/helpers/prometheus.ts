import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './ports.js';

/** One PromQL instant-vector sample as the HTTP API returns it. */
export interface PromSample {
  readonly metric: Record<string, string>;
  readonly value: number;
}

/**
 * A real Prometheus server (Debian's `prometheus` package) on a free loopback port, for tests: it scrapes
 * the given targets (`job → base URL`, path `/metrics`) every `scrapeIntervalSeconds` into a temp TSDB and
 * answers PromQL over its HTTP API.
 *
 * @example
 * const prom = await PrometheusServer.start({ targets: { api: apiUrl } });
 * await prom.waitForScrape();
 * const [s] = await prom.query('sum(guildhall_writer_events_total{result="inserted"})');
 * await prom.stop();
 */
export class PrometheusServer {
  private constructor(
    private readonly proc: ChildProcess,
    readonly url: string,
    private readonly dir: string,
  ) {}

  static async start(opts: {
    targets: Record<string, string>;
    scrapeIntervalSeconds?: number;
  }): Promise<PrometheusServer> {
    assertInstalled('prometheus');
    const dir = mkdtempSync(join(tmpdir(), 'guildhall-prometheus-'));
    const interval = `${opts.scrapeIntervalSeconds ?? 1}s`;
    const jobs = Object.entries(opts.targets).map(([job, base]) => {
      const u = new URL(base);
      return `  - job_name: ${JSON.stringify(job)}
    metrics_path: /metrics
    static_configs:
      - targets: [${JSON.stringify(u.host)}]`;
    });
    writeFileSync(
      join(dir, 'prometheus.yml'),
      `global:\n  scrape_interval: ${interval}\n  scrape_timeout: ${interval}\nscrape_configs:\n${jobs.join('\n')}\n`,
    );
    const port = await freePort();
    const proc = spawn(
      'prometheus',
      [
        `--config.file=${join(dir, 'prometheus.yml')}`,
        `--storage.tsdb.path=${join(dir, 'data')}`,
        `--web.listen-address=127.0.0.1:${port}`,
        '--log.level=warn',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let out = '';
    const keep = (d: Buffer) => (out = (out + d.toString()).slice(-10_000));
    proc.stdout?.on('data', keep);
    proc.stderr?.on('data', keep);
    const server = new PrometheusServer(proc, `http://127.0.0.1:${port}`, dir);
    const deadline = Date.now() + 20_000;
    for (;;) {
      if (proc.exitCode !== null) throw new Error(`prometheus exited (${proc.exitCode}): ${out}`);
      try {
        if ((await fetch(`${server.url}/-/ready`)).ok) return server;
      } catch {
        // not listening yet
      }
      if (Date.now() > deadline) {
        await server.stop();
        throw new Error(`prometheus did not become ready in 20 s: ${out}`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /** Evaluates a PromQL instant query now. */
  async query(promql: string): Promise<PromSample[]> {
    const res = await fetch(`${this.url}/api/v1/query?query=${encodeURIComponent(promql)}`);
    const body = (await res.json()) as {
      status: string;
      error?: string;
      data?: { resultType: string; result: { metric: Record<string, string>; value: [number, string] }[] };
    };
    if (body.status !== 'success' || !body.data)
      throw new Error(`PromQL ${promql} failed: ${body.error ?? res.status}`);
    if (body.data.resultType !== 'vector')
      throw new Error(`PromQL ${promql}: expected a vector, got ${body.data.resultType}`);
    return body.data.result.map((r) => ({ metric: r.metric, value: Number(r.value[1]) }));
  }

  /** The single value of a query that yields one sample, or undefined when it yields none. */
  async value(promql: string): Promise<number | undefined> {
    const rows = await this.query(promql);
    if (rows.length > 1) throw new Error(`PromQL ${promql} yielded ${rows.length} samples, expected one`);
    return rows[0]?.value;
  }

  /** Scrape targets with their health and last error (Prometheus's own view). */
  async targets(): Promise<{ job: string; health: string; lastError: string }[]> {
    const res = await fetch(`${this.url}/api/v1/targets?state=active`);
    const body = (await res.json()) as {
      data: { activeTargets: { labels: { job: string }; health: string; lastError: string }[] };
    };
    return body.data.activeTargets.map((t) => ({
      job: t.labels.job,
      health: t.health,
      lastError: t.lastError,
    }));
  }

  async stop(): Promise<void> {
    if (this.proc.exitCode === null && this.proc.signalCode === null) {
      const exited = new Promise((r) => this.proc.once('exit', r));
      this.proc.kill('SIGTERM');
      const timer = setTimeout(() => this.proc.kill('SIGKILL'), 5_000);
      await exited;
      clearTimeout(timer);
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/**
 * `promtool check metrics` over a text exposition: the problems it reports (one per line), none when the
 * metrics follow Prometheus's naming and format rules.
 */
export function promtoolCheckMetrics(exposition: string): string[] {
  assertInstalled('promtool');
  const r = spawnSync('promtool', ['check', 'metrics'], { input: exposition, encoding: 'utf8' });
  if (r.error) throw r.error;
  const problems = `${r.stdout}\n${r.stderr}`
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '');
  if (r.status !== 0 && problems.length === 0) throw new Error(`promtool exited ${r.status} without output`);
  return problems;
}

function assertInstalled(bin: string): void {
  const r = spawnSync(bin, ['--version'], { encoding: 'utf8' });
  if (r.error || r.status !== 0) {
    throw new Error(
      `${bin} is not installed; the metrics tests need it (apt-get install -y prometheus). They never skip.`,
    );
  }
}
