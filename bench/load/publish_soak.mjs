// Memory of one `serve` session over many publishes: N publishes of a static sandbox whose content
// changes every time (so each one snapshots, builds, extracts and swaps), RSS of the server every N/10.
//   node bench/load/publish_soak.mjs [BUILD_DIR] [N]      (uses extension/node_modules/vscode-jsonrpc)
import { spawn, execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const rpc = createRequire(path.join(root, 'extension/package.json'))('vscode-jsonrpc/node');
const bin = path.resolve(root, process.argv[2] ?? 'build', 'server/studyhub-sandbox');
const total = Number(process.argv[3] ?? 500);
const scratch = mkdtempSync(path.join(tmpdir(), 'studyhub-soak-'));
const env = { ...process.env, STUDYHUB_SANDBOX_HOME: path.join(scratch, 'state') };
const site = path.join(scratch, 'site');
mkdirSync(site);

const child = spawn(bin, ['serve'], { env, stdio: ['pipe', 'pipe', 'inherit'] });
const conn = rpc.createMessageConnection(new rpc.StreamMessageReader(child.stdout), new rpc.StreamMessageWriter(child.stdin));
conn.listen();
child.stdin.on('error', () => undefined); // the server leaves after exit
conn.onError(() => undefined);
const rss = () => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'))[1]) / 1024;
try {
  await conn.sendRequest('initialize', { processId: null, capabilities: {} });
  conn.sendNotification('initialized', {});
  const samples = [];
  for (let i = 0; i < total; i++) {
    writeFileSync(path.join(site, 'index.html'), `<h1>version ${i}</h1>` + 'x'.repeat(1000));
    await conn.sendRequest('sandbox/publish', { folder: site });
    if (i === 0 || (i + 1) % (total / 10) === 0) samples.push(rss().toFixed(1));
  }
  console.log(`${total} publishes through one serve session; RSS in MiB after the 1st, then every ${total / 10}:`);
  console.log(`   ${samples.join(' ')}`);
  await conn.sendRequest('shutdown', null);
  const gone = new Promise((resolve) => child.once('exit', resolve));
  conn.sendNotification('exit', null).catch(() => undefined);
  await gone;
  conn.dispose();
} finally {
  child.kill();
  try { execFileSync(bin, ['host', '--stop'], { env, stdio: 'ignore' }); } catch {}
  rmSync(scratch, { recursive: true, force: true });
}
