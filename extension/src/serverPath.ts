// Which studyhub-sandbox binary to run: the setting, else the one bundled in the .vsix, else PATH.
import { accessSync, constants, statSync } from 'node:fs';
import * as path from 'node:path';

export interface ServerPathChoice {
  path: string;
  source: 'setting' | 'bundled' | 'PATH';
}

function executable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return statSync(file).isFile();
  } catch {
    return false;
  }
}

// An Error says what was looked for and where, so the user can fix it.
export function resolveServerPath(setting: string, extensionPath: string, envPath = process.env.PATH ?? ''): ServerPathChoice | Error {
  if (setting.trim()) {
    const file = setting.trim();
    if (executable(file)) return { path: file, source: 'setting' };
    return new Error(`studyhubSandbox.serverPath is set to ${file}, which is not an executable file`);
  }
  const bundled = path.join(extensionPath, 'server', 'studyhub-sandbox');
  if (executable(bundled)) return { path: bundled, source: 'bundled' };
  for (const dir of envPath.split(path.delimiter).filter(Boolean)) {
    const candidate = path.join(dir, 'studyhub-sandbox');
    if (executable(candidate)) return { path: candidate, source: 'PATH' };
  }
  return new Error(
    'the studyhub-sandbox server was not found: this extension has no bundled binary for this platform and none is on PATH; set studyhubSandbox.serverPath',
  );
}
