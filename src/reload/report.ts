/** What a reload did, for the log, the admin socket and `parley reload`. */

export interface ReloadReport {
  /** False: the new config was refused and the running one stays, unchanged. */
  ok: boolean;
  /** The config file read (undefined when a config was handed over, or the embedded default). */
  file?: string;
  /** Why it was refused: the same report `parley serve` prints for that file at start. */
  error?: string;
  hostsAdded: string[];
  hostsRemoved: string[];
  /** `domain: module` */
  modulesLoaded: string[];
  modulesUnloaded: string[];
  /** Domains whose certificate new connections now get. */
  certificatesChanged: string[];
  logChanged: boolean;
  /** Changed settings left as they were until the next restart. */
  needsRestart: string[];
  /** Applied, but something in it failed (a module that would not load). */
  problems: string[];
}

/** One line for the log. */
export function summarizeReport(r: ReloadReport): string {
  if (!r.ok) return `refused: ${r.error}`;
  const parts = [
    list("hosts added", r.hostsAdded),
    list("hosts removed", r.hostsRemoved),
    list("modules loaded", r.modulesLoaded),
    list("modules unloaded", r.modulesUnloaded),
    list("new certificates", r.certificatesChanged),
    r.logChanged ? "log settings changed" : "",
    list("needs restart", r.needsRestart),
    list("problems", r.problems),
  ].filter(Boolean);
  return parts.length > 0 ? parts.join("; ") : "nothing changed";
}

/** Several lines for an operator's terminal. */
export function formatReport(r: ReloadReport): string {
  if (!r.ok) return `reload refused; the running configuration stays.\n${r.error}`;
  const lines = [`reloaded ${r.file ?? "the configuration"}`];
  const add = (label: string, items: string[]) => {
    if (items.length > 0) lines.push(`  ${label}: ${items.join(", ")}`);
  };
  add("hosts added", r.hostsAdded);
  add("hosts removed", r.hostsRemoved);
  add("modules loaded", r.modulesLoaded);
  add("modules unloaded", r.modulesUnloaded);
  add("new certificates for", r.certificatesChanged);
  if (r.logChanged) lines.push("  log settings changed");
  add("needs restart (left as they were)", r.needsRestart);
  add("problems", r.problems);
  if (lines.length === 1) lines.push("  nothing changed");
  return lines.join("\n");
}

function list(label: string, items: string[]): string {
  return items.length > 0 ? `${label}: ${items.join(", ")}` : "";
}
