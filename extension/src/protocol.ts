// The JSON-RPC contract of studyhub-sandbox serve, as TypeScript types (protocol/README.md and
// protocol/schemas are the source; the tests validate what this side sends against the schemas).
import type { Diagnostic } from './generated/event';

export type Target = 'local' | 'docker-run' | 'hub';

export interface DockerRunParams {
  url?: string;
  token?: string; // kept in SecretStorage; never logged
  image?: string;
}

export interface HubParams {
  url?: string;
  token?: string; // kept in SecretStorage; never logged
}

export interface TargetOptions {
  target?: Target;
  dockerRun?: DockerRunParams;
  hub?: HubParams;
}

export interface PublishParams extends TargetOptions {
  folder: string;
  name?: string;
  buildTimeoutSeconds?: number;
  workDoneToken?: string | number;
}

export interface PublishResult {
  url: string;
  immutableUrl: string;
  snapshotId: string;
  cached: boolean;
  files: number;
  bytes: number;
  durationMs: number;
  name: string;
  folder: string;
  target: Target;
  deploymentId?: number; // hub target
  uploadedFiles?: number;
  uploadedBytes?: number;
}

// A problem found in the build output: the schema's own (protocol/schemas/event.json), generated.
export type { Diagnostic };

// `data` of a failed publish (-32803).
export interface PublishFailureData {
  logTail?: string;
  diagnostics?: Diagnostic[];
}

export interface PublishedSite {
  name: string;
  url: string;
  immutableUrl: string;
  snapshotId: string;
  publishedAt: string;
  folder: string;
  files: number;
  bytes: number;
  history: string[];
}

export interface HubSite {
  name: string;
  url: string;
  immutableUrl: string;
  snapshotId: string;
  publishedAt: string;
  history: string[];
}

export interface ListResult {
  sites: PublishedSite[];
  hub?: { url: string; sites: HubSite[]; error?: string };
}

// sandbox/rollback and sandbox/unpublish: on the hub with target 'hub', else on this machine.
export interface SiteParams {
  name: string;
  target?: 'local' | 'hub';
  hub?: HubParams;
}
export interface RollbackParams extends SiteParams {
  snapshotId?: string;
}
export interface RollbackResult {
  name: string;
  url: string;
  immutableUrl: string;
  snapshotId: string;
  publishedAt: string;
  target: 'local' | 'hub';
}
export interface UnpublishResult {
  name: string;
  target: 'local' | 'hub';
  removed: true;
}

// LSP types the server sends.
export interface LspPosition {
  line: number;
  character: number;
}
export interface LspDiagnostic {
  range: { start: LspPosition; end: LspPosition };
  severity?: number; // 1 error, 2 warning
  source?: string;
  message: string;
}
export interface PublishDiagnosticsParams {
  uri: string;
  diagnostics: LspDiagnostic[];
}
export interface LogMessageParams {
  type: number; // 1 error, 2 warning, 3 info, 4 log
  message: string;
}
export interface WorkDoneProgress {
  kind: 'begin' | 'report' | 'end';
  title?: string;
  message?: string;
  percentage?: number;
  cancellable?: boolean;
}

export const ErrorCodes = {
  invalidParams: -32602,
  requestFailed: -32803,
  requestCancelled: -32800,
} as const;
