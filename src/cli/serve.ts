/** `parley serve`: run until SIGINT/SIGTERM, then shut down cleanly. */
import { CONFIG_HELP, parseConfigOnly } from "./args.ts";
import { loadConfig } from "../config/load.ts";
import { configureLogging, logger } from "../log.ts";
import { startServer } from "../server.ts";
import { ListenError } from "../net/listen_error.ts";
import { EXIT_CODES_HELP, EXIT_FAILURE, EXIT_OK } from "./exit.ts";
import { installLastResort } from "./last_resort.ts";
import { adminSocketPath, openAdminSocket } from "../reload/admin_socket.ts";
import { summarizeReport } from "../reload/report.ts";
import { DELUSER_COMMAND, deluserCommand } from "../reload/admin_deluser.ts";

export const HELP = `Usage: parley serve [options]

Run the XMPP server until it receives SIGINT (Ctrl-C) or SIGTERM, then close
every session with a system-shutdown stream error and exit. A second signal
during shutdown exits at once. SIGHUP (or "parley reload", through the admin
socket <dataDir>/parley.sock) re-reads the config and certificates without
dropping anyone.

Options:
${CONFIG_HELP}
  -h, --help          Show this help

${EXIT_CODES_HELP}`;

const SIGNALS: Deno.Signal[] = ["SIGINT", "SIGTERM"];
/** Signals this close to the first are the same request delivered twice. */
const REPEAT_GRACE_MS = 1000;

export async function run(args: string[]): Promise<number> {
  const values = parseConfigOnly(args, HELP);
  if (!values) return EXIT_OK;
  const { config, path } = await loadConfig(values.config);
  await configureLogging(config.log);
  const log = logger("main");

  // Listen before starting, so a signal during start-up is not lost to the default handler.
  const { promise: stopped, resolve: stop } = Promise.withResolvers<Deno.Signal>();
  let stoppingSince: number | undefined;
  const onSignal = (signal: Deno.Signal) => () => {
    if (stoppingSince !== undefined) {
      // `deno task` forwards the terminal's Ctrl-C (or a SIGTERM to the
      // group) to us a second time at once: only a deliberate second
      // signal, later, cuts the clean shutdown short.
      if (Date.now() - stoppingSince < REPEAT_GRACE_MS) return;
      log.warn("Second {signal}: exiting without a clean shutdown", { signal });
      Deno.exit(EXIT_FAILURE);
    }
    stoppingSince = Date.now();
    stop(signal);
  };
  const handlers = SIGNALS.map((signal) => [signal, onSignal(signal)] as const);
  for (const [signal, handler] of handlers) Deno.addSignalListener(signal, handler);
  // SIGHUP: reload. Listened to from the start too, as its default action ends the process.
  let reload: (() => void) | undefined;
  const onHangUp = () => {
    if (!reload) return log.warn("SIGHUP during start-up or shutdown: ignored");
    log.info("SIGHUP received, reloading the config");
    reload();
  };
  const hangUp = Deno.build.os === "windows" ? undefined : onHangUp;
  if (hangUp) Deno.addSignalListener("SIGHUP", hangUp);
  // A bug reached by one peer's input must not end the process for everybody.
  const removeLastResort = installLastResort(log);
  log.info("Parley starting with {config}", { config: path ?? "the embedded default config" });
  try {
    let server: Awaited<ReturnType<typeof startServer>>;
    try {
      server = await startServer(config, { configPath: path });
    } catch (e) {
      if (e instanceof ListenError) {
        // An operator's problem with a known remedy: no stack trace.
        const where = e.address.includes(":")
          ? `[${e.address}]:${e.port}`
          : `${e.address}:${e.port}`;
        log.fatal("Could not start: {error}", { error: e.message });
        console.error(
          `parley serve: could not start: listener "${e.listener}" cannot listen on ${where}: ` +
            e.remedy,
        );
        return EXIT_FAILURE;
      }
      log.fatal("Could not start: {error}", { error: e });
      console.error(`parley serve: could not start: ${(e as Error).message ?? e}`);
      return EXIT_FAILURE;
    }
    const running = server;
    reload = () => {
      running.reload().catch((err) => log.error("Reload failed: {err}", { err }));
    };
    const admin = await openAdminSocket(adminSocketPath(config.dataDir), {
      reload: async () => {
        const report = await running.reload();
        log.info("reload through the admin socket: {summary}", {
          summary: summarizeReport(report),
        });
        return report;
      },
      [DELUSER_COMMAND]: deluserCommand(running),
    });
    const signal = await stopped;
    reload = undefined;
    log.info("{signal} received, shutting down", { signal });
    await admin?.close();
    try {
      await server.close("system-shutdown");
    } catch (e) {
      log.error("Shutdown failed: {error}", { error: e });
      return EXIT_FAILURE;
    }
    log.info("Stopped");
    return EXIT_OK;
  } finally {
    for (const [signal, handler] of handlers) Deno.removeSignalListener(signal, handler);
    if (hangUp) Deno.removeSignalListener("SIGHUP", hangUp);
    removeLastResort();
  }
}
