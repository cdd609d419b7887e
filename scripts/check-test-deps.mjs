// Fails `npm test` loudly (never a silent skip) when a binary the integration tests need is missing.
import { execFileSync } from 'node:child_process';

const required = [{ bin: 'redis-server', hint: 'apt-get install -y redis-server' }];
const missing = [];
for (const { bin, hint } of required) {
  try {
    execFileSync(bin, ['--version'], { stdio: 'ignore' });
  } catch {
    missing.push(`  - ${bin} (install it with: ${hint})`);
  }
}
if (missing.length > 0) {
  console.error(`npm test needs these programs on PATH:\n${missing.join('\n')}\n.ci/run installs them.`);
  process.exit(1);
}
