// The extension's client module against the real server binary, without VS Code.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { existsSync, readFileSync } from 'node:fs';
import { CancellationTokenSource, ResponseError } from 'vscode-jsonrpc/node';
import { SandboxClient, ServerExitedError } from '../src/client';
import { PublishDiagnosticsParams, WorkDoneProgress } from '../src/protocol';
import { ServerManager } from '../src/serverManager';
import { Scratch, serverPath, waitFor } from './helpers';

const SLOW_BUILD = (pidFile: string) =>
  `require('fs').writeFileSync(${JSON.stringify(pidFile)}, String(process.pid));\nsetTimeout(() => {}, 120000);\n`;

describe('SandboxClient against the real server', () => {
  before(() => assert.ok(existsSync(serverPath), `build the server first: ${serverPath}`));

  test('publishes a static sandbox: progress begin, reports, end in order, then the URL serves it', async (t) => {
    const scratch = new Scratch();
    const client = await SandboxClient.start(scratch.options());
    t.after(async () => {
      await client.stop();
      scratch.cleanup();
    });
    const site = scratch.staticSite('hello', 'Hello from the client');
    const progress: WorkDoneProgress[] = [];
    const result = await client.publish({ folder: site }, (p) => progress.push(p));
    assert.match(result.url, /^http:\/\/127\.0\.0\.1:\d+\/s\/hello\/$/);
    assert.equal(progress[0].kind, 'begin');
    assert.equal(progress.at(-1)!.kind, 'end');
    assert.ok(progress.slice(1, -1).every((p) => p.kind === 'report'));
    assert.ok(progress.length >= 4, `a few stages reported: ${JSON.stringify(progress)}`);
    const percents = progress.map((p) => p.percentage ?? -1).filter((p) => p >= 0);
    assert.deepEqual(percents, [...percents].sort((a, b) => a - b), 'percentages never go back');
    assert.ok(progress.some((p) => /^publish: /.test(p.message ?? '')));
    assert.match(progress.at(-1)!.message ?? '', /^published http/);

    const page = await fetch(result.url);
    assert.equal(page.status, 200);
    assert.match(await page.text(), /Hello from the client/);
    const { sites } = await client.list();
    assert.deepEqual(sites.map((s) => s.name), ['hello']);
    assert.equal(client['exitWaiters'].length, 0, 'answered requests leave no exit listener behind');
  });

  test('cancel stops the build and the request fails with -32800', async (t) => {
    const scratch = new Scratch();
    const client = await SandboxClient.start(scratch.options());
    t.after(async () => {
      await client.stop();
      scratch.cleanup();
    });
    const pidFile = `${scratch.root}/build.pid`;
    const site = scratch.npmSite('slow', SLOW_BUILD(pidFile));
    const cancel = new CancellationTokenSource();
    const publishing = client.publish({ folder: site }, () => undefined, cancel.token);
    await waitFor(() => existsSync(pidFile) && readFileSync(pidFile, 'utf8').length > 0, 30_000, 'the build to start');
    const buildPid = Number(readFileSync(pidFile, 'utf8'));
    cancel.cancel();
    await assert.rejects(publishing, (e: unknown) => e instanceof ResponseError && e.code === -32800);
    await waitFor(() => !alive(buildPid), 5_000, 'the build process to be gone');
  });

  test('a failed build yields diagnostics at the right file and line, and the error carries them', async (t) => {
    const diagnostics: PublishDiagnosticsParams[] = [];
    const logs: string[] = [];
    const scratch = new Scratch();
    const client = await SandboxClient.start(
      scratch.options({ onDiagnostics: (p) => diagnostics.push(p), onLogMessage: (p) => logs.push(p.message) }),
    );
    t.after(async () => {
      await client.stop();
      scratch.cleanup();
    });
    const site = scratch.npmSite(
      'broken',
      `console.error(require('path').resolve('src/app.ts') + "(4,7): error TS2304: Cannot find name 'nope'.");\nprocess.exit(1);\n`,
      { 'src/app.ts': 'const a = 1;\n\n\nconst b = nope;\n' },
    );
    await assert.rejects(
      client.publish({ folder: site }, () => undefined),
      (e: unknown) => {
        assert.ok(e instanceof ResponseError);
        assert.equal(e.code, -32803);
        assert.match(e.message, /the build failed/);
        const data = e.data as { diagnostics: Array<{ file: string; line: number }> };
        assert.deepEqual(data.diagnostics.map((d) => [d.file, d.line]), [['src/app.ts', 4]]);
        return true;
      },
    );
    const forFile = diagnostics.find((d) => d.uri.endsWith('/broken/src/app.ts'));
    assert.ok(forFile, JSON.stringify(diagnostics));
    assert.equal(forFile.diagnostics[0].range.start.line, 3); // zero-based
    assert.equal(forFile.diagnostics[0].range.start.character, 6);
    assert.match(forFile.diagnostics[0].message, /Cannot find name 'nope'/);
    assert.ok(logs.some((l) => l.includes('error TS2304')), 'the build log streamed as window/logMessage');

    // The next success clears the problems.
    scratch.write('broken/build.js', "require('fs').mkdirSync('dist',{recursive:true});require('fs').writeFileSync('dist/index.html','ok');\n");
    await client.publish({ folder: site }, () => undefined);
    const last = diagnostics.filter((d) => d.uri.endsWith('/broken/src/app.ts')).at(-1)!;
    assert.deepEqual(last.diagnostics, []);
  });

  test('a server that dies mid-publish fails the request instead of hanging; the manager restarts it', async (t) => {
    const scratch = new Scratch();
    const lines: string[] = [];
    const manager = new ServerManager(() => scratch.options(), (line) => lines.push(line));
    t.after(async () => {
      await manager.dispose();
      scratch.cleanup();
    });
    const first = await manager.client();
    const pidFile = `${scratch.root}/build.pid`;
    const publishing = first.publish({ folder: scratch.npmSite('doomed', SLOW_BUILD(pidFile)) }, () => undefined);
    await waitFor(() => existsSync(pidFile) && readFileSync(pidFile, 'utf8').length > 0, 30_000, 'the build to start');
    process.kill(first.pid!, 'SIGKILL');
    await assert.rejects(publishing, (e: unknown) => e instanceof ServerExitedError && /killed by SIGKILL/.test(e.message));
    await waitFor(() => lines.some((l) => /restarting in 0.5 s/.test(l)), 5_000, 'the restart to be scheduled');
    await waitFor(() => lines.filter((l) => l.startsWith('server started')).length === 2, 10_000, 'the new server');
    const second = await manager.client();
    assert.notEqual(second.pid, first.pid);
    const result = await second.publish({ folder: scratch.staticSite('after', 'After the crash') }, () => undefined);
    assert.match(result.url, /\/s\/after\/$/);
  });

  test('a binary that is not there is an error that names it', async () => {
    await assert.rejects(SandboxClient.start({ serverPath: '/nonexistent/studyhub-sandbox' }), /ENOENT/);
  });
});

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

after(() => undefined);
