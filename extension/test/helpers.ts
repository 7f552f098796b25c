// Shared by the node:test suites: the real server binary, private state folders, sandboxes.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { ClientOptions } from '../src/client';

export const repoRoot = path.resolve(__dirname, '../../..');
export const serverPath = process.env.STUDYHUB_SANDBOX_BINARY ?? path.join(repoRoot, 'build/server/studyhub-sandbox');

// A temporary folder with a state directory; `cleanup` stops its background host and removes it.
export class Scratch {
  readonly root = mkdtempSync(path.join(tmpdir(), 'studyhub-ext-'));
  readonly state = path.join(this.root, 'state');

  env(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
    return { ...process.env, STUDYHUB_SANDBOX_HOME: this.state, ...extra };
  }
  options(extra: Partial<ClientOptions> = {}): ClientOptions {
    return { serverPath, env: this.env(), ...extra };
  }
  write(relative: string, content: string): string {
    const file = path.join(this.root, relative);
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, content);
    return file;
  }
  staticSite(name: string, title: string): string {
    this.write(`${name}/index.html`, `<!doctype html><title>${title}</title><script src="./app.js"></script><h1>${title}</h1>`);
    this.write(`${name}/app.js`, `console.log(${JSON.stringify(title)});\n`);
    return path.join(this.root, name);
  }
  // An npm-preset sandbox whose build is `build.js` (no dependencies to install).
  npmSite(name: string, buildJs: string, files: Record<string, string> = {}): string {
    this.write(`${name}/package.json`, JSON.stringify({ name, private: true, scripts: { build: 'node build.js' } }));
    this.write(`${name}/build.js`, buildJs);
    for (const [file, content] of Object.entries(files)) this.write(`${name}/${file}`, content);
    return path.join(this.root, name);
  }
  cleanup(): void {
    try {
      execFileSync(serverPath, ['host', '--stop'], { env: this.env(), stdio: 'ignore' });
    } catch {
      // no host was running
    }
    rmSync(this.root, { recursive: true, force: true });
  }
}

export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export async function waitFor(condition: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await delay(25);
  }
}
