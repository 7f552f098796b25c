// Builds the platform-specific .vsix for linux-x64 with the server binary inside:
// server/studyhub-sandbox from STUDYHUB_SANDBOX_BINARY or ../build/server/studyhub-sandbox.
import { execFileSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, statSync } from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '..');
const binary = process.env.STUDYHUB_SANDBOX_BINARY ?? path.resolve(root, '../build/server/studyhub-sandbox');
if (!existsSync(binary)) {
  console.error(`no server binary at ${binary}: build it first (scripts/setup) or set STUDYHUB_SANDBOX_BINARY`);
  process.exit(1);
}
mkdirSync(path.join(root, 'server'), { recursive: true });
const bundled = path.join(root, 'server', 'studyhub-sandbox');
copyFileSync(binary, bundled);
try {
  execFileSync('strip', ['--strip-unneeded', bundled]); // symbols are not needed to run it
} catch {
  console.warn('strip not available: the bundled binary keeps its symbols');
}
chmodSync(bundled, 0o755);
const { version } = JSON.parse(await import('node:fs').then((fs) => fs.readFileSync(path.join(root, 'package.json'), 'utf8')));
const out = path.join(root, `studyhub-sandbox-linux-x64-${version}.vsix`);
execFileSync(
  path.join(root, 'node_modules/.bin/vsce'),
  ['package', '--target', 'linux-x64', '--no-dependencies', '--skip-license', '--allow-missing-repository', '-o', out],
  { cwd: root, stdio: 'inherit' },
);
console.log(`${out} (${(statSync(out).size / 1e6).toFixed(1)} MB)`);
