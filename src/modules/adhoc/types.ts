/**
 * What an ad-hoc command (XEP-0050) is to the framework: a node, a name,
 * who may run it, and a function per stage. The framework owns sessions,
 * actions, permissions on every request and the wire format; a command
 * only turns submitted form values into its next stage.
 */
import type { Element } from "../../xml/element.ts";
import type { Jid } from "../../jid.ts";
import type { FormValues } from "../../util/dataforms.ts";

export const NS_COMMANDS = "http://jabber.org/protocol/commands";

export type Action = "execute" | "cancel" | "prev" | "next" | "complete";
export const ACTIONS: ReadonlySet<string> = new Set([
  "execute",
  "cancel",
  "prev",
  "next",
  "complete",
]);

export interface Note {
  type: "info" | "warn" | "error";
  text: string;
}

/** The requester, as the router stamped it. */
export interface CommandContext {
  requester: Jid;
}

export type Stage =
  | {
    status: "executing";
    /** The form the requester fills in next. */
    form: Element;
    /** Actions offered besides cancel (default: complete only). */
    actions?: readonly ("prev" | "next" | "complete")[];
    /** The action an `execute` (or no action) means; default the last of `actions`. */
    execute?: "prev" | "next" | "complete";
    note?: Note;
  }
  | {
    status: "completed";
    /** Results, as a form of type "result". */
    form?: Element;
    note?: Note;
    /** Runs after the reply is sent (e.g. removing the requester's own account). */
    after?: () => Promise<void>;
  };

export interface AdhocCommand {
  node: string;
  name: string;
  /** Checked for listing and on every request; false → forbidden. */
  allowed(ctx: CommandContext): boolean;
  /** The first stage. */
  start(ctx: CommandContext): Stage | Promise<Stage>;
  /**
   * The answer to stage `step` (0 is the form `start` returned). Throw a
   * StanzaError for bad input: the session stays open for another try.
   */
  submit(ctx: CommandContext, values: FormValues, step: number): Stage | Promise<Stage>;
}
