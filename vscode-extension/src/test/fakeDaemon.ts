/** A stand-in for client/daemon.ts's Daemon: scripted request handlers, recorded requests, and
 * notifications and progress the test sends. */
import type { Daemon, ProgressValue } from "../client/daemon";
import type { NotificationMethod, Notifications, ParamsOf, RequestMethod, ResultOf } from "../common/protocol";

type Handler = (params: any) => unknown; // eslint-disable-line @typescript-eslint/no-explicit-any

export class FakeDaemon {
  readonly requests: Array<{ method: string; params: any }> = []; // eslint-disable-line @typescript-eslint/no-explicit-any
  private readonly handlers = new Map<string, Handler>();
  private readonly listeners = new Map<string, Array<(p: unknown) => void>>();
  private readonly progress = new Map<string, (v: ProgressValue) => void>();
  readonly log = { info: () => undefined, warn: () => undefined, error: () => undefined, show: () => undefined };
  state = "ready";

  /** Answer `method` with `handler(params)` (a thrown error becomes the request's failure). */
  on<M extends RequestMethod>(method: M, handler: (params: ParamsOf<M>) => ResultOf<M> | Promise<ResultOf<M>>): this {
    this.handlers.set(method, handler);
    return this;
  }

  /** Requests cancelled through their token (what vscode-languageclient sends as $/cancelRequest). */
  readonly cancelled: string[] = [];

  async request<M extends RequestMethod>(
    method: M,
    params: ParamsOf<M>,
    token?: { onCancellationRequested(listener: () => void): unknown },
  ): Promise<ResultOf<M>> {
    this.requests.push({ method, params });
    const handler = this.handlers.get(method);
    if (!handler) {
      throw new Error(`no handler for ${method}`);
    }
    if (!token) {
      return (await handler(params)) as ResultOf<M>;
    }
    return new Promise<ResultOf<M>>((resolve, reject) => {
      token.onCancellationRequested(() => {
        this.cancelled.push(method);
        reject(Object.assign(new Error("Canceled"), { name: "Canceled" })); // vscode.CancellationError
      });
      Promise.resolve(handler(params)).then((r) => resolve(r as ResultOf<M>), reject);
    });
  }

  onNotification<M extends NotificationMethod>(method: M, handler: (params: Notifications[M]) => void): void {
    const list = this.listeners.get(method) ?? [];
    list.push(handler as (p: unknown) => void);
    this.listeners.set(method, list);
  }

  /** Deliver a notification as the daemon would. */
  notify<M extends NotificationMethod>(method: M, params: Notifications[M]): void {
    (this.listeners.get(method) ?? []).forEach((l) => l(params));
  }

  onProgress(token: string, handler: (v: ProgressValue) => void): { dispose(): void } {
    this.progress.set(token, handler);
    return { dispose: () => this.progress.delete(token) };
  }

  /** Send `$/progress` for a token the client sent (as workDoneToken). */
  report(token: string, value: ProgressValue): void {
    this.progress.get(token)?.(value);
  }

  async start(): Promise<void> {
    return undefined;
  }

  onDidChangeState(): { dispose(): void } {
    return { dispose: () => undefined };
  }

  /** This fake, typed as the real Daemon for the code under test. */
  asDaemon(): Daemon {
    return this as unknown as Daemon;
  }
}

/** A JSON-RPC style error (what vscode-languageclient rejects a request with). */
export function rpcError(code: number, message: string): Error & { code: number } {
  return Object.assign(new Error(message), { code });
}
