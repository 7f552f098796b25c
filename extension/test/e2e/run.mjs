// End to end in a real VS Code: code-server 4.100.3 (VS Code 1.100.3) driven by Debian's chromium
// through playwright-core (see ../shared/reference/vscode-e2e.md for why not @vscode/test-electron).
// Installs the built .vsix into a fresh code-server, opens a copy of examples/hello-vite, runs
// "Studyhub: Publish Sandbox" from the palette, watches the status bar go through a publishing state
// to "Published", fetches the URL it reports; then breaks src/App.jsx, publishes again and finds the
// error in the Problems panel at the right file and line; then enters a docker-run token, switches
// the settings to the docker-run target (a real `studyhub-sandbox runner`) without a reload and
// publishes through it. Screenshots go to extension/.e2e/artifacts/.
//   node test/e2e/run.mjs [path/to.vsix]
import { execFileSync, spawn } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const here = path.dirname(fileURLToPath(import.meta.url));
const extensionRoot = path.resolve(here, '../..');
const repoRoot = path.resolve(extensionRoot, '..');
const artifacts = path.join(extensionRoot, '.e2e', 'artifacts');
const vsix =
  process.argv[2] ??
  path.join(extensionRoot, readdirSync(extensionRoot).find((f) => /^studyhub-sandbox-linux-x64-.*\.vsix$/.test(f)) ?? 'missing.vsix');

const log = (line) => console.log(`e2e: ${line}`);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function freePort() {
  return new Promise((resolve) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

async function until(what, timeoutMs, probe) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what}`);
    await sleep(100);
  }
}

const scratch = mkdtempSync(path.join(tmpdir(), 'studyhub-e2e-'));
const home = path.join(scratch, 'home');
const workspace = path.join(scratch, 'hello-vite');
const state = path.join(scratch, 'sandbox-state');
let codeServer;
let browser;
let page;
let runner;
let runnerLog = '';
const userSettings = { 'workbench.startupEditor': 'none', 'security.workspace.trust.enabled': false, 'workbench.tips.enabled': false };
let failed = false;

function env() {
  return {
    ...process.env,
    HOME: home,
    XDG_CONFIG_HOME: path.join(home, '.config'),
    XDG_DATA_HOME: path.join(home, '.local/share'),
    XDG_CACHE_HOME: path.join(home, '.cache'),
    TMPDIR: path.join(scratch, 'tmp'),
    STUDYHUB_SANDBOX_HOME: state, // the extension's server inherits it: a private state directory
  };
}

async function main() {
  execFileSync('bash', [path.join(here, 'install-code-server.sh')], { stdio: 'inherit' });
  const codeServerBin = path.join(extensionRoot, '.e2e/code-server/node_modules/.bin/code-server');
  for (const dir of [home, path.join(scratch, 'tmp'), artifacts, path.join(scratch, 'user/User')]) mkdirSync(dir, { recursive: true });
  cpSync(path.join(repoRoot, 'examples/hello-vite'), workspace, {
    recursive: true,
    filter: (src) => !/node_modules|[/]dist$/.test(src),
  });
  writeFileSync(path.join(scratch, 'user/User/settings.json'), JSON.stringify(userSettings));
  const common = ['--user-data-dir', path.join(scratch, 'user'), '--extensions-dir', path.join(scratch, 'extensions')];
  log(`installing ${path.basename(vsix)}`);
  execFileSync(codeServerBin, [...common, '--install-extension', vsix], { env: env(), stdio: 'inherit' });

  const port = await freePort();
  const config = path.join(scratch, 'config.yaml');
  writeFileSync(config, `bind-addr: 127.0.0.1:${port}\nauth: none\ncert: false\n`);
  codeServer = spawn(
    codeServerBin,
    [...common, '--config', config, '--disable-telemetry', '--disable-update-check', '--disable-workspace-trust',
      '--disable-getting-started-override', workspace],
    { env: env(), detached: true, stdio: ['ignore', 'pipe', 'pipe'] }, // its own process group, stopped as a whole
  );
  let serverOutput = '';
  codeServer.stdout.on('data', (d) => (serverOutput += d));
  codeServer.stderr.on('data', (d) => (serverOutput += d));
  const base = `http://127.0.0.1:${port}`;
  await until('code-server to answer /healthz', 60_000, async () => {
    try {
      return (await fetch(`${base}/healthz`)).ok;
    } catch {
      return false;
    }
  }).catch((e) => {
    throw new Error(`${e.message}\n${serverOutput}`);
  });
  log(`code-server up at ${base}`);

  browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage'],
  });
  page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  await page.goto(`${base}/?folder=${encodeURIComponent(workspace)}`);
  await page.waitForSelector('.monaco-workbench', { timeout: 60_000 });
  log('workbench ready');

  const statusBar = () => page.locator('#workbench\\.parts\\.statusbar').innerText().catch(() => '');
  // The palette lists what is registered when it opens: retry until the command is there.
  const runCommand = async (title) => {
    await until(`"${title}" in the command palette`, 30_000, async () => {
      await page.keyboard.press('F1');
      const input = page.locator('.quick-input-widget input');
      await input.waitFor({ timeout: 10_000 });
      await input.fill(`>${title}`);
      const row = page.locator('.quick-input-list .monaco-list-row', { hasText: title }).first();
      if (await row.waitFor({ timeout: 2_000 }).then(() => true, () => false)) return true;
      await page.keyboard.press('Escape');
      return false;
    });
    await page.keyboard.press('Enter');
  };
  // Activated on a folder with a package.json: the idle item shows.
  await until('the idle status-bar item', 60_000, async () => /Publish/.test(await statusBar()));
  log('extension active');

  // 1. Publish: the status bar passes through a publishing state and ends in "Published".
  await runCommand('Studyhub: Publish Sandbox');
  const seen = new Set();
  const published = await until('the status bar to say Published', 240_000, async () => {
    const text = await statusBar();
    const ours = /(Publishing: \w+ \d+%|Queued[^\n]*|Published|Publish failed)/.exec(text);
    if (ours) seen.add(ours[1].replace(/\d+%/, 'N%'));
    if (/Publish failed/.test(text)) throw new Error(`the first publish failed: ${text}`);
    return /Published/.test(text);
  });
  log(`status bar went through: ${[...seen].join(' → ')}`);
  if (![...seen].some((s) => s.startsWith('Publishing: '))) throw new Error('never saw a publishing state in the status bar');
  if (!published) throw new Error('not published');
  const toast = await until('the notification with the URL', 20_000, async () => {
    const text = await page.locator('.notifications-toasts').innerText().catch(() => '');
    return /Published hello-vite: (http:\/\/127\.0\.0\.1:\d+\/s\/hello-vite\/)/.exec(text);
  });
  const url = toast[1];
  log(`reported URL ${url}`);
  await sleep(800); // let the toast finish fading in
  await page.screenshot({ path: path.join(artifacts, 'published.png') });
  const html = await (await fetch(url)).text();
  if (!html.includes('<div id="root">')) throw new Error(`the published page is not the app: ${html.slice(0, 200)}`);
  const script = /src="\.\/(assets\/[^"]+\.js)"/.exec(html);
  if (!script) throw new Error('the page references no relative script');
  const js = await (await fetch(url + script[1])).text();
  if (!js.includes('Hello from a Studyhub sandbox')) throw new Error('the script is not the app bundle');
  log('the page and its script load from the URL');

  // 2. Break the sample: the error shows in the Problems panel at its file and line.
  const app = path.join(workspace, 'src/App.jsx');
  const original = readFileSync(app, 'utf8');
  const lines = original.split('\n');
  const brokenLine = lines.findIndex((l) => l.includes('useState(0)')) + 1;
  lines[brokenLine - 1] = lines[brokenLine - 1].replace('useState(0)', 'useState(0;');
  writeFileSync(app, lines.join('\n'));
  await page.locator('.notifications-toasts .codicon-notifications-clear-all, .notifications-toasts .codicon-close').first().click().catch(() => undefined);
  await runCommand('Studyhub: Publish Sandbox');
  await until('the status bar to say Publish failed', 120_000, async () => /Publish failed/.test(await statusBar()));
  await runCommand('View: Focus Problems');
  const problem = await until('the problem in the Problems panel', 20_000, async () => {
    const text = await page.locator('.markers-panel').innerText().catch(() => '');
    return text.includes('App.jsx') && new RegExp(`Expected "\\)" but found ";"[\\s\\S]*\\[Ln ${brokenLine}, Col \\d+\\]`).test(text)
      ? text
      : undefined;
  });
  log(`Problems panel: ${problem.replace(/\s+/g, ' ').slice(0, 160)}`);
  await page.screenshot({ path: path.join(artifacts, 'problems.png') });

  // 3. The docker-run target, switched on in the settings while VS Code runs (no reload), with the
  // token entered through "Set docker-run Access Token": the publish goes through a real
  // `studyhub-sandbox runner`, and the token shows up in no log.
  const token = `e2e-token-${process.pid}-${Date.now()}`;
  runner = spawn(path.join(extensionRoot, 'server/studyhub-sandbox'), ['runner', '--port', '0'], {
    env: { ...env(), STUDYHUB_SANDBOX_HOME: path.join(scratch, 'runner-state'), STUDYHUB_SANDBOX_TOKEN: token },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let runnerOut = '';
  runner.stdout.on('data', (d) => (runnerOut += d));
  runner.stderr.on('data', (d) => (runnerLog += d));
  const runnerUrl = (await until('the runner to listen', 10_000, async () => /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(runnerOut)))[1];
  log(`runner at ${runnerUrl}`);
  await runCommand('Studyhub: Set docker-run Access Token');
  const tokenInput = page.locator('.quick-input-widget input[type="password"]');
  await tokenInput.waitFor({ timeout: 10_000 });
  await tokenInput.fill(token);
  await page.keyboard.press('Enter');
  await until('the token to be saved', 10_000, async () =>
    /access token saved/.test(await page.locator('.notifications-toasts').innerText().catch(() => '')));
  // Settings through VS Code's own editor, as a user would: open the user settings JSON, replace it, save.
  await runCommand('Preferences: Open User Settings (JSON)');
  await page.locator('.monaco-editor textarea').first().waitFor({ timeout: 20_000 });
  await sleep(500);
  await page.keyboard.press('Control+A');
  await page.keyboard.insertText(
    JSON.stringify({ ...userSettings, 'studyhubSandbox.target': 'docker-run', 'studyhubSandbox.dockerRun.url': runnerUrl }),
  );
  await page.keyboard.press('Control+S');
  writeFileSync(app, original.replace('export default', '// built remotely\nexport default'));
  await sleep(1000);
  await runCommand('Studyhub: Publish Sandbox');
  // The item still says "Publish failed" from step 2 until this publish reports.
  await until('the remote publish to start', 30_000, async () => !/Publish failed/.test(await statusBar()));
  await until('the remote publish to say Published', 240_000, async () => {
    const text = await statusBar();
    if (/Publish failed/.test(text)) throw new Error(`the remote publish failed: ${text}`);
    return /Published/.test(text) && /POST \/run 200/.test(runnerLog);
  });
  const remoteHtml = await (await fetch(url)).text();
  if (!remoteHtml.includes('<div id="root">')) throw new Error('the remotely built page is not the app');
  const logs = [runnerLog, ...readdirSync(path.join(scratch, 'user/logs'), { recursive: true })
    .map((f) => path.join(scratch, 'user/logs', f))
    .filter((f) => statSync(f).isFile())
    .map((f) => readFileSync(f, 'utf8'))].join('\n');
  if (logs.includes(token)) throw new Error('the docker-run token appears in a log');
  log('published through the docker-run target; the token is in no log');
  log(`screenshots in ${artifacts}`);
}

async function cleanup() {
  await browser?.close().catch(() => undefined);
  runner?.kill('SIGTERM');
  if (codeServer?.pid) {
    try {
      process.kill(-codeServer.pid, 'SIGTERM');
      await sleep(500);
      process.kill(-codeServer.pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  try {
    execFileSync(path.join(extensionRoot, 'server/studyhub-sandbox'), ['host', '--stop'], { env: env(), stdio: 'ignore' });
  } catch {
    // no host was started
  }
  if (process.env.E2E_KEEP) log(`kept ${scratch}`);
  else rmSync(scratch, { recursive: true, force: true });
}

try {
  await main();
  log('passed');
} catch (e) {
  failed = true;
  console.error(`e2e: FAILED: ${e.stack ?? e}`);
  await page?.screenshot({ path: path.join(artifacts, 'failure.png') }).catch(() => undefined);
  console.error(`e2e: the screen at the failure: ${path.join(artifacts, 'failure.png')}`);
} finally {
  await cleanup();
}
process.exit(failed ? 1 : 0);
