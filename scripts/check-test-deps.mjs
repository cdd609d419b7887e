// Runs before `npm test`: the integration tests need real programs (redis-server; prometheus and promtool
// from Debian's `prometheus` package). A missing one is installed with apt-get when this is a Debian
// machine and we are root (as .ci/run does); otherwise `npm test` stops here with the command to run —
// tests never skip.
import { execFileSync, spawnSync } from 'node:child_process';

const required = [
  { bin: 'redis-server', pkg: 'redis-server' },
  { bin: 'prometheus', pkg: 'prometheus' },
  { bin: 'promtool', pkg: 'prometheus' },
];

const has = (bin) => {
  try {
    execFileSync(bin, ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
};

const missing = () => required.filter((r) => !has(r.bin));
const packages = (rs) => [...new Set(rs.map((r) => r.pkg))];

let lacking = missing();
if (lacking.length > 0 && process.getuid?.() === 0 && has('apt-get')) {
  const pkgs = packages(lacking);
  console.error(`npm test: installing ${pkgs.join(', ')} (apt-get) for the integration tests…`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const install = () =>
    spawnSync('apt-get', ['install', '-y', '--no-install-recommends', ...pkgs], { stdio: 'inherit', env });
  if (install().status !== 0) {
    spawnSync('apt-get', ['update'], { stdio: 'inherit', env });
    install();
  }
  lacking = missing();
}
if (lacking.length > 0) {
  console.error(
    `npm test needs these programs on PATH:\n${lacking.map((r) => `  - ${r.bin} (Debian package ${r.pkg})`).join('\n')}\n` +
      `Install them with: apt-get install -y ${packages(lacking).join(' ')}  (.ci/run does).`,
  );
  process.exit(1);
}
