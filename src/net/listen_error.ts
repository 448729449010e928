/**
 * A listener that could not bind: which one, where, and the system's
 * reason, so start-up can tell the operator what to change instead of
 * printing a stack trace.
 */
export class ListenError extends Error {
  override name = "ListenError";

  constructor(
    /** The listener's name: its key under `listeners` in the config. */
    readonly listener: string,
    readonly address: string,
    readonly port: number,
    /** The system error code: EADDRINUSE, EACCES, EADDRNOTAVAIL … */
    readonly code: string | undefined,
    cause: Error,
  ) {
    super(`${listener}: cannot listen on [${address}]:${port}: ${cause.message}`, { cause });
  }

  /** What to do about it, in the config's terms. */
  get remedy(): string {
    const key = `listeners.${this.listener}`;
    switch (this.code) {
      case "EADDRINUSE":
        return `port ${this.port} is in use: another process holds it (another Parley or ` +
          `XMPP server?): stop it, or change ${key}.port`;
      case "EACCES":
        return `port ${this.port} needs privileges (ports below 1024): choose ${key}.port ` +
          `of 1024 or more, or grant the capability (setcap cap_net_bind_service=+ep)`;
      case "EADDRNOTAVAIL":
        return `${this.address} is not an address of this machine: fix ${key}.interfaces`;
      default:
        return `check ${key} (interfaces and port)`;
    }
  }
}
