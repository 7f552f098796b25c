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
let hub;
let hubWorker;
let hubLog = '';
let pgDir;
let context;
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
  context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
  await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: base });
  page = await context.newPage();
  await page.goto(`${base}/?folder=${encodeURIComponent(workspace)}`);
  await page.waitForSelector('.monaco-workbench', { timeout: 60_000 });
  log('workbench ready');

  const statusBar = () => page.locator('#workbench\\.parts\\.statusbar').innerText().catch(() => '');
  // The palette lists what is registered when it opens: retry until the command is there.
  // The row is clicked, not Enter: the palette lists recently used commands first, and a fuzzy match
  // ("Show Published Sandboxes" for "Publish Sandbox") may come before the one meant.
  const runCommand = async (title) => {
    const row = await until(`"${title}" in the command palette`, 30_000, async () => {
      await page.keyboard.press('F1');
      const input = page.locator('.quick-input-widget input');
      await input.waitFor({ timeout: 10_000 });
      await input.fill(`>${title}`);
      const found = page.locator('.quick-input-list .monaco-list-row', { has: page.getByText(title, { exact: true }) }).first();
      if (await found.waitFor({ timeout: 2_000 }).then(() => true, () => false)) return found;
      await page.keyboard.press('Escape');
      return undefined;
    });
    await row.click();
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

  // 1b. In code-server the user's browser is not on the server's machine: "Copy URL" and "Open"
  // give the forwarded address (vscode.env.asExternalUri), and it serves the page.
  const hostPort = new URL(url).port;
  await page.locator('.notifications-toasts .monaco-button', { hasText: 'Copy URL' }).first().click();
  const copied = await until('the copied URL', 10_000, async () => {
    const text = await page.evaluate(() => navigator.clipboard.readText()).catch(() => '');
    return text.startsWith('http') ? text : undefined;
  });
  log(`Copy URL gave ${copied}`);
  if (copied === url || !copied.includes(`/proxy/${hostPort}/`)) throw new Error(`Copy URL did not give a forwarded address: ${copied}`);
  const forwardedHtml = await (await fetch(copied)).text();
  if (!forwardedHtml.includes('<div id="root">')) throw new Error(`the forwarded URL does not serve the page: ${forwardedHtml.slice(0, 200)}`);
  const forwardedScript = /src="\.\/(assets\/[^"]+\.js)"/.exec(forwardedHtml)[1];
  if (!(await (await fetch(new URL(forwardedScript, copied))).text()).includes('Hello from a Studyhub sandbox'))
    throw new Error('the script does not load through the forwarded address');
  const opened = context.waitForEvent('page', { timeout: 20_000 });
  await runCommand('Studyhub: Show Published Sandboxes');
  await page.locator('.quick-input-list .monaco-list-row', { hasText: 'hello-vite' }).first().click();
  await page.locator('.quick-input-list .monaco-list-row', { hasText: 'Open' }).first().click();
  // code-server asks before it opens an outside link; the forwarded one is its own.
  await page.locator('.monaco-dialog-box .monaco-button', { hasText: 'Open' }).first().click({ timeout: 3_000 }).catch(() => undefined);
  const tab = await opened;
  await tab.waitForLoadState('domcontentloaded');
  log(`Open went to ${tab.url()}`);
  if (!tab.url().includes(`/proxy/${hostPort}/`)) throw new Error(`Open did not use the forwarded address: ${tab.url()}`);
  await tab.waitForSelector('#root', { timeout: 10_000, state: 'attached' });
  await tab.close();

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

  // 4. The team's hub: PostgreSQL, `hub serve` with no build worker yet (so the queue shows), a user.
  const hubBin = path.join(extensionRoot, 'server/studyhub-sandbox');
  pgDir = mkdtempSync(path.join(tmpdir(), 'studyhub-e2e-pg-'));
  const asPostgres = process.getuid?.() === 0 ? ['runuser', '-u', 'postgres', '--'] : [];
  const pgBin = readdirSync('/usr/lib/postgresql').map((v) => `/usr/lib/postgresql/${v}/bin`).at(-1);
  if (asPostgres.length) execFileSync('chown', ['postgres', pgDir]);
  const pg = (args) => execFileSync(asPostgres[0] ?? args[0], [...asPostgres.slice(1), ...(asPostgres.length ? args : args.slice(1))], { stdio: 'pipe' });
  pg([`${pgBin}/initdb`, '-D', `${pgDir}/data`, '-A', 'trust', '-U', 'postgres', '--no-sync']);
  pg([`${pgBin}/pg_ctl`, '-D', `${pgDir}/data`, '-o', `-k ${pgDir} -c listen_addresses=''`, '-l', `${pgDir}/log`, '-w', 'start']);
  const database = `host=${pgDir} user=postgres dbname=postgres`;
  const hubData = path.join(scratch, 'hub-data');
  hub = spawn(hubBin, ['--log-level', 'info', 'hub', 'serve', '--database', database, '--data', hubData, '--port', '0', '--workers', '0'], {
    env: env(), stdio: ['ignore', 'pipe', 'pipe'],
  });
  let hubOut = '';
  hub.stdout.on('data', (d) => (hubOut += d));
  hub.stderr.on('data', (d) => (hubLog += d));
  const hubUrl = (await until('the hub to listen', 20_000, async () => /hub listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(hubOut)))[1];
  const hubToken = execFileSync(hubBin, ['hub', 'user', 'add', 'ada', '--database', database], { env: env() }).toString().trim();
  log(`hub at ${hubUrl}`);
  await runCommand('Studyhub: Set Hub Access Token');
  const hubTokenInput = page.locator('.quick-input-widget input[type="password"]');
  await hubTokenInput.waitFor({ timeout: 10_000 });
  await hubTokenInput.fill(hubToken);
  await page.keyboard.press('Enter');
  await until('the hub token to be saved', 10_000, async () =>
    /Hub access token saved/.test(await page.locator('.notifications-toasts').innerText().catch(() => '')));
  await runCommand('Preferences: Open User Settings (JSON)');
  await page.locator('.monaco-editor textarea').first().waitFor({ timeout: 20_000 });
  await sleep(500);
  await page.keyboard.press('Control+A');
  await page.keyboard.insertText(JSON.stringify({ ...userSettings, 'studyhubSandbox.target': 'hub', 'studyhubSandbox.hub.url': hubUrl }));
  await page.keyboard.press('Control+S');
  writeFileSync(app, original.replace('export default', '// on the hub, first\nexport default'));
  await sleep(1000);
  const clearToasts = () =>
    page.locator('.notifications-toasts .codicon-notifications-clear-all, .notifications-toasts .codicon-close').first().click().catch(() => undefined);
  await clearToasts();
  // The upload takes ~100 ms on loopback: polling can miss it, so the page records every text the
  // status bar shows while this publish runs.
  await page.evaluate(() => {
    const bar = document.getElementById('workbench.parts.statusbar');
    window.__statusTrail = [];
    window.__statusObserver?.disconnect();
    window.__statusObserver = new MutationObserver(() => window.__statusTrail.push(bar.innerText));
    window.__statusObserver.observe(bar, { subtree: true, childList: true, characterData: true, attributes: true });
  });
  const recordTrail = async (seen) => {
    const trail = await page.evaluate(() => window.__statusTrail.splice(0)).catch(() => []);
    for (const text of trail) {
      const ours = /(Publishing: \w+|Queued[^\n]*|Published|Publish failed)/.exec(text);
      if (ours) seen.add(ours[1]);
    }
  };
  await runCommand('Studyhub: Publish Sandbox');
  const hubSeen = new Set();
  await until('the hub publish to be queued', 60_000, async () => {
    const text = await statusBar();
    const ours = /(Publishing: \w+|Queued[^\n]*|Published|Publish failed)/.exec(text);
    if (ours) hubSeen.add(ours[1]);
    await recordTrail(hubSeen);
    if (/Publish failed/.test(text)) throw new Error(`the hub publish failed: ${text}`);
    return /Queued/.test(text);
  });
  await page.screenshot({ path: path.join(artifacts, 'hub-queued.png') });
  // A build worker joins the team: the queued deployment builds.
  hubWorker = spawn(hubBin, ['--log-level', 'info', 'hub', 'worker', '--database', database, '--data', hubData], {
    env: env(), stdio: ['ignore', 'ignore', 'pipe'],
  });
  hubWorker.stderr.on('data', (d) => (hubLog += d));
  await until('the hub publish to say Published', 300_000, async () => {
    const text = await statusBar();
    const ours = /(Publishing: \w+|Queued[^\n]*|Published|Publish failed)/.exec(text);
    if (ours) hubSeen.add(ours[1]);
    await recordTrail(hubSeen);
    if (/Publish failed/.test(text)) throw new Error(`the hub publish failed: ${text}`);
    return /Published/.test(text);
  });
  await page.evaluate(() => window.__statusObserver?.disconnect());
  log(`status bar on the hub: ${[...hubSeen].join(' → ')}`);
  for (const want of ['Publishing: upload', 'Queued', 'Publishing: build'])
    if (![...hubSeen].some((s) => s.startsWith(want))) throw new Error(`never saw "${want}" in the status bar`);
  const hubToast = await until('the notification with the hub URL', 20_000, async () => {
    const text = await page.locator('.notifications-toasts').innerText().catch(() => '');
    return new RegExp(`Published hello-vite: (${hubUrl.replace(/[.]/g, '\\.')}/s/ada/hello-vite/)`).exec(text);
  });
  const hubSiteUrl = hubToast[1];
  await sleep(800);
  await page.screenshot({ path: path.join(artifacts, 'hub-published.png') });
  const hubHtml = await (await fetch(hubSiteUrl)).text();
  const hubScript = /src="\.\/(assets\/[^"]+\.js)"/.exec(hubHtml);
  if (!hubHtml.includes('<div id="root">') || !hubScript) throw new Error('the hub does not serve the app');
  if (!(await (await fetch(hubSiteUrl + hubScript[1])).text()).includes('Hello from a Studyhub sandbox'))
    throw new Error('the app script does not load from the hub');
  log(`published on the hub at ${hubSiteUrl}; the page and its script load`);

  // 5. A second version, then "Roll Back Sandbox…" to the first.
  writeFileSync(app, original.replace('Hello from a Studyhub sandbox', 'Hello from the second version'));
  await clearToasts();
  await runCommand('Studyhub: Publish Sandbox');
  await until('the second hub publish to start', 30_000, async () => !/Published/.test(await statusBar()));
  await until('the second hub publish to say Published', 240_000, async () => /Published/.test(await statusBar()));
  const secondScript = /src="\.\/(assets\/[^"]+\.js)"/.exec(await (await fetch(hubSiteUrl)).text())[1];
  if (!(await (await fetch(hubSiteUrl + secondScript)).text()).includes('Hello from the second version')) throw new Error('the second version is not served');
  await clearToasts();
  await runCommand('Studyhub: Roll Back Sandbox…');
  await page.locator('.quick-input-widget input').fill(new URL(hubUrl).host);
  await page.locator('.quick-input-list .monaco-list-row', { hasText: 'hello-vite' }).first().click();
  await page.locator('.quick-input-list .monaco-list-row').nth(1).click(); // the version before the current
  await until('the rollback notification', 20_000, async () =>
    /Rolled hello-vite back/.test(await page.locator('.notifications-toasts').innerText().catch(() => '')));
  const rolledScript = /src="\.\/(assets\/[^"]+\.js)"/.exec(await (await fetch(hubSiteUrl)).text())[1];
  if (!(await (await fetch(hubSiteUrl + rolledScript)).text()).includes('Hello from a Studyhub sandbox')) throw new Error('the rollback did not bring back the first version');
  log('rolled the hub site back to its first version from the palette');

  // 6. A broken build on the hub: its error in the Problems panel, at its line.
  writeFileSync(app, lines.join('\n'));
  await clearToasts();
  await runCommand('Studyhub: Publish Sandbox');
  await until('the broken hub publish to say Publish failed', 240_000, async () => /Publish failed/.test(await statusBar()));
  await runCommand('View: Focus Problems');
  await until('the hub build error in the Problems panel', 20_000, async () => {
    const text = await page.locator('.markers-panel').innerText().catch(() => '');
    return text.includes('App.jsx') && new RegExp(`\\[Ln ${brokenLine}, Col \\d+\\]`).test(text);
  });
  await page.screenshot({ path: path.join(artifacts, 'hub-problems.png') });
  log('the hub build error shows in the Problems panel at its line');

  // 7. "Unpublish Sandbox…" with its confirmation.
  writeFileSync(app, original);
  await clearToasts();
  await runCommand('Studyhub: Unpublish Sandbox…');
  await page.locator('.quick-input-widget input').fill(new URL(hubUrl).host);
  await page.locator('.quick-input-list .monaco-list-row', { hasText: 'hello-vite' }).first().click();
  await page.locator('.monaco-dialog-box .monaco-button', { hasText: 'Unpublish' }).first().click();
  await until('the hub site to be gone', 20_000, async () => (await fetch(hubSiteUrl)).status === 404);
  log('unpublished the hub site from the palette');
  const allLogs = [hubLog, ...readdirSync(path.join(scratch, 'user/logs'), { recursive: true })
    .map((f) => path.join(scratch, 'user/logs', f))
    .filter((f) => statSync(f).isFile())
    .map((f) => readFileSync(f, 'utf8'))].join('\n');
  if (allLogs.includes(hubToken)) throw new Error('the hub token appears in a log');
  log(`screenshots in ${artifacts}`);
}

async function cleanup() {
  await browser?.close().catch(() => undefined);
  runner?.kill('SIGTERM');
  hubWorker?.kill('SIGTERM');
  hub?.kill('SIGTERM');
  await sleep(hub ? 1500 : 0);
  if (pgDir) {
    try {
      const asPostgres = process.getuid?.() === 0 ? ['runuser', '-u', 'postgres', '--'] : [];
      const pgBin = readdirSync('/usr/lib/postgresql').map((v) => `/usr/lib/postgresql/${v}/bin`).at(-1);
      const args = [`${pgBin}/pg_ctl`, '-D', `${pgDir}/data`, '-m', 'immediate', 'stop'];
      execFileSync(asPostgres[0] ?? args[0], [...asPostgres.slice(1), ...(asPostgres.length ? args : args.slice(1))], { stdio: 'ignore' });
    } catch {
      // not running
    }
    rmSync(pgDir, { recursive: true, force: true });
  }
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
  // What the services said, for the failure's cause (tokens are never logged by them).
  for (const [name, text] of [['runner.log', runnerLog], ['hub.log', hubLog]]) {
    if (!text) continue;
    writeFileSync(path.join(artifacts, name), text);
    console.error(`e2e: ${name}, last lines:\n${text.split('\n').slice(-25).join('\n')}`);
  }
} finally {
  await cleanup();
}
process.exit(failed ? 1 : 0);
