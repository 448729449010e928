/** The checklist `parley check` prints: one line per check, OK, WARN or FAIL. */

export type Level = "OK" | "WARN" | "FAIL";

export class Report {
  failures = 0;
  /** `print` is replaceable so the checks can be tested without a subprocess. */
  constructor(private readonly print: (line: string) => void = console.log) {}

  line(level: Level, subject: string, text: string): void {
    if (level === "FAIL") this.failures++;
    this.print(`${level.padEnd(4)}  ${subject}: ${text}`);
  }

  /** Free text between the checks (headings, records to publish). */
  text(line: string): void {
    this.print(line);
  }
}
