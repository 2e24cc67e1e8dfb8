import { type ChildProcess, spawn } from 'node:child_process';
import { SparkMesosError } from '@spark-mesos/errors';

/**
 * Starts containers' processes from a small long-lived Node process, the launcher, instead of
 * the agent's own.
 *
 * Node's `child_process.spawn` is synchronous: libuv forks the whole calling process (its cost
 * grows with the page tables of a large heap) and then blocks until the child has called `exec`.
 * On a busy machine that is several milliseconds per task on the event loop that also runs the
 * master and every agent. The launcher does the fork, `exec`, the `stdout`/`stderr` files and
 * the reaping off that loop; the agent sends one IPC message per launch and signals process
 * groups itself (`process.kill(-pid)`), as before.
 *
 * One launcher serves every agent of this process while any of them runs; it is started on the
 * first launch and ends with the last agent. When this process goes away without stopping its
 * agents, the launcher SIGKILLs the process groups it started before it exits.
 *
 * @module
 */

/** How a process ended. */
export interface LaunchedExit {
  /** Exit status, when it exited. */
  readonly code: number | null;
  /** Signal that ended it, when it was signalled. */
  readonly signal: NodeJS.Signals | null;
}

/** What to start: `spawn(file, args, { cwd, env, detached: true, stdio: [ignore, stdout, stderr] })`. */
export interface LaunchRequest {
  /** The program. */
  readonly file: string;
  /** Its arguments (without argv[0]). */
  readonly args: readonly string[];
  /** argv[0], when not `file`. */
  readonly argv0?: string;
  /** Working directory. */
  readonly cwd: string;
  /** Whether to create `cwd` (and its parents) first. @default false */
  readonly createDirectory?: boolean;
  /** The whole environment. */
  readonly env: Readonly<Record<string, string | undefined>>;
  /** File that stdout is appended to (created if missing). */
  readonly stdout: string;
  /** File that stderr is appended to (created if missing). */
  readonly stderr: string;
}

/** A started process: the leader of a process group of its own. */
export interface LaunchedProcess {
  /** Process id and process group id; -1 when the program could not be executed. */
  readonly pid: number;
  /** Settles once it has exited (code 127 when it could not be executed, as a shell says). */
  readonly exited: Promise<LaunchedExit>;
}

/**
 * The launcher's program: CommonJS run with `node -e`, so that it needs no file of its own next to
 * the bundle. Messages in: `{ id, file, args, argv0?, cwd, createDirectory?, env, stdout, stderr }`;
 * out: `{ id, pid }` or `{ id, error }` once spawned, then `{ id, code, signal }` once exited.
 *
 * @internal exported for its tests
 */
export const LAUNCHER_SOURCE = `
const { spawn } = require('node:child_process');
const { openSync, closeSync, mkdirSync } = require('node:fs');
const groups = new Set();
const send = (message) => { if (process.connected) process.send(message); };
process.on('message', (m) => {
  let out, err, child;
  try {
    if (m.createDirectory) mkdirSync(m.cwd, { recursive: true });
    out = openSync(m.stdout, 'a');
    err = openSync(m.stderr, 'a');
    const options = { cwd: m.cwd, env: m.env, stdio: ['ignore', out, err], detached: true };
    if (m.argv0 !== undefined) options.argv0 = m.argv0;
    child = spawn(m.file, m.args, options);
  } catch (error) {
    send({ id: m.id, error: String((error && error.message) || error) });
    return;
  } finally {
    if (out !== undefined) closeSync(out);
    if (err !== undefined) closeSync(err);
  }
  const pid = child.pid === undefined ? -1 : child.pid;
  if (pid > 0) groups.add(pid);
  send({ id: m.id, pid });
  let reported = false;
  const report = (code, signal) => {
    if (reported) return;
    reported = true;
    groups.delete(pid);
    send({ id: m.id, code, signal });
  };
  child.once('error', () => report(127, null));
  child.once('exit', (code, signal) => report(code, signal));
});
// Ctrl-C reaches the whole foreground process group: the agent decides what happens to tasks.
process.on('SIGINT', () => {});
process.on('SIGTERM', () => {});
process.on('disconnect', () => {
  for (const pid of groups) { try { process.kill(-pid, 'SIGKILL'); } catch {} }
  process.exit(0);
});
`;

type LauncherReply =
  | { readonly id: number; readonly pid: number }
  | { readonly id: number; readonly error: string }
  | { readonly id: number; readonly code: number | null; readonly signal: NodeJS.Signals | null };

interface Pending {
  readonly spawned: (pid: number) => void;
  readonly failed: (error: Error) => void;
  readonly exited: (exit: LaunchedExit) => void;
  pid: number;
  /** The lease that launched it: its processes keep this process alive only while it says so. */
  readonly holder: { readonly referenced: boolean };
}

class Launcher {
  readonly #child: ChildProcess;
  readonly #pending = new Map<number, Pending>();
  #nextId = 0;
  #gone = false;

  constructor() {
    // Not a fork of this process' module: `node -e`, without this process' exec flags (profilers,
    // loaders), and in its process group so that it is part of the job control of its parent.
    this.#child = spawn(process.execPath, ['-e', LAUNCHER_SOURCE], {
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      env: process.env,
    });
    this.#child.on('message', (reply: LauncherReply) => this.#reply(reply));
    this.#child.once('exit', () => this.#lost());
    this.#child.once('error', () => this.#lost());
    this.#child.unref();
    this.#refChannel(false);
  }

  get alive(): boolean {
    return !this.#gone;
  }

  launch(request: LaunchRequest, holder: { readonly referenced: boolean }): Promise<LaunchedProcess> {
    if (this.#gone) return Promise.reject(new Error('the process launcher has exited'));
    this.#nextId += 1;
    const id = this.#nextId;
    let reportExit: (exit: LaunchedExit) => void = () => {};
    const exited = new Promise<LaunchedExit>((resolve) => {
      reportExit = resolve;
    });
    return new Promise<LaunchedProcess>((resolve, reject) => {
      this.#pending.set(id, {
        spawned: (pid) => resolve({ pid, exited }),
        failed: reject,
        exited: reportExit,
        pid: 0,
        holder,
      });
      this.refresh();
      this.#child.send({ id, ...request }, (error) => {
        if (error) this.#settle(id, { id, error: error.message });
      });
    });
  }

  close(): void {
    if (this.#gone) return;
    this.#gone = true;
    // The launcher exits on disconnect (and kills what it still runs: nothing, by now).
    if (this.#child.connected) this.#child.disconnect();
  }

  #reply(reply: LauncherReply): void {
    this.#settle(reply.id, reply);
  }

  #settle(id: number, reply: LauncherReply): void {
    const pending = this.#pending.get(id);
    if (!pending) return;
    if ('error' in reply) {
      this.#pending.delete(id);
      pending.failed(new Error(reply.error));
    } else if ('pid' in reply) {
      pending.pid = reply.pid;
      pending.spawned(reply.pid);
    } else {
      this.#pending.delete(id);
      pending.exited({ code: reply.code, signal: reply.signal });
    }
    if (this.#pending.size === 0) this.refresh();
  }

  /**
   * Outstanding processes keep this process alive, as their ChildProcess handles would, unless
   * the leases that launched them were unref'd (see {@link ProcessLauncherLease.setReferenced}).
   */
  refresh(): void {
    let held = false;
    for (const pending of this.#pending.values()) {
      if (pending.holder.referenced) {
        held = true;
        break;
      }
    }
    this.#refChannel(held);
  }

  // The launcher died (killed from outside): its processes' exits would never be reported, so
  // their groups are killed here and reported as killed; launches under way fail.
  #lost(): void {
    this.#gone = true;
    for (const [id, pending] of this.#pending) {
      this.#pending.delete(id);
      if (pending.pid > 0) {
        try {
          process.kill(-pending.pid, 'SIGKILL');
        } catch {
          // Already gone.
        }
        pending.exited({ code: null, signal: 'SIGKILL' });
      } else if (pending.pid === 0) {
        pending.failed(new Error('the process launcher exited'));
      } else {
        pending.exited({ code: 127, signal: null });
      }
    }
    if (shared === this) shared = undefined;
  }

  #refChannel(ref: boolean): void {
    const channel = this.#child.channel as { ref?: () => void; unref?: () => void } | null | undefined;
    if (ref) channel?.ref?.();
    else channel?.unref?.();
  }
}

let shared: Launcher | undefined;
let users = 0;

/**
 * A handle on the launcher of this process, held by a running agent: {@link ProcessLauncherLease.release}
 * it when the agent stops (the launcher ends with the last lease).
 */
export interface ProcessLauncherLease {
  /** Starts a process through the launcher (started on first use). */
  launch(request: LaunchRequest): Promise<LaunchedProcess>;
  /** Gives the lease back; idempotent. */
  release(): void;
  /**
   * Whether the processes launched through this lease keep this process alive until they
   * exit (`true`, the default), as their `ChildProcess` handles would.
   */
  setReferenced(referenced: boolean): void;
}

/** Takes a lease on the process launcher shared by every agent of this process. */
export function leaseProcessLauncher(): ProcessLauncherLease {
  users += 1;
  let released = false;
  const holder = { referenced: true };
  return {
    launch(request) {
      if (released) {
        return Promise.reject(
          new SparkMesosError('SM_ERR_TASK_LAUNCH', 'The agent has stopped: it launches no more processes.', {
            cause: { file: request.file },
          }),
        );
      }
      if (shared === undefined || !shared.alive) shared = new Launcher();
      return shared.launch(request, holder);
    },
    setReferenced(referenced) {
      holder.referenced = referenced;
      shared?.refresh();
    },
    release() {
      if (released) return;
      released = true;
      users -= 1;
      if (users === 0) {
        shared?.close();
        shared = undefined;
      }
    },
  };
}
