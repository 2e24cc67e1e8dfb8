/**
 * Whether a local cluster keeps the Node process alive: one switch over its servers, their
 * connections and its long-lived timers, so that a program embedding a cluster (a driver's
 * `local-cluster[…]`) can let the process end while the cluster has nothing to do for it.
 *
 * @module
 */

/** A handle that can stop keeping the process alive (servers, sockets, timers, IPC channels). */
export interface Referenceable {
  ref(): unknown;
  unref(): unknown;
}

/** Handles that keep the process alive together, or not; handles added later follow the switch. */
export class ProcessHold {
  readonly #handles = new Set<Referenceable>();
  readonly #listeners = new Set<(referenced: boolean) => void>();
  #referenced = true;

  /** Whether the handles keep the process alive (the default). */
  get referenced(): boolean {
    return this.#referenced;
  }

  /** Makes every handle keep the process alive (`true`, the default) or not. */
  set(referenced: boolean): void {
    if (this.#referenced === referenced) return;
    this.#referenced = referenced;
    for (const handle of this.#handles) this.#apply(handle);
    for (const listener of this.#listeners) listener(referenced);
  }

  /** Puts `handle` under the switch (until {@link ProcessHold.delete}); returns it. */
  add<H extends Referenceable>(handle: H): H {
    this.#handles.add(handle);
    if (!this.#referenced) this.#apply(handle);
    return handle;
  }

  /** Takes `handle` out (it was closed or cleared). */
  delete(handle: Referenceable | undefined): void {
    if (handle !== undefined) this.#handles.delete(handle);
  }

  /** Puts `server` and every connection it accepts under the switch. */
  addServer(
    server: {
      on(event: 'connection', listener: (socket: Referenceable & NodeEventTarget) => void): unknown;
    } & Referenceable,
  ): void {
    this.add(server);
    server.on('connection', (socket) => {
      this.add(socket);
      socket.once('close', () => this.delete(socket));
    });
  }

  /** Calls `listener` on every change of the switch; returns a function that removes it. */
  onChange(listener: (referenced: boolean) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  #apply(handle: Referenceable): void {
    if (this.#referenced) handle.ref();
    else handle.unref();
  }
}

interface NodeEventTarget {
  once(event: 'close', listener: () => void): unknown;
}
