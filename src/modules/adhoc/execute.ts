/**
 * Executing commands (XEP-0050 §3.4–§4): one `<command/>` iq in, one
 * reply out. Decides the action, finds or opens the session, checks the
 * requester's right on every request, runs the command's stage and writes
 * `status`, `<actions/>`, `<note/>` and the form.
 */
import { el, type Element } from "../../xml/element.ts";
import { NS } from "../../xml/namespaces.ts";
import { parseJid } from "../../jid.ts";
import { StanzaError, type StanzaErrorCondition, type StanzaErrorType } from "../../core/errors.ts";
import { formType, parseForm } from "../../util/dataforms.ts";
import type { CommandSession, CommandSessions } from "./sessions.ts";
import { type Action, ACTIONS, type AdhocCommand, NS_COMMANDS, type Stage } from "./types.ts";

/** A command error with XEP-0050's application condition (§4.6). */
export class CommandError extends Error {
  constructor(
    readonly type: StanzaErrorType,
    readonly condition: StanzaErrorCondition,
    readonly specific: string,
  ) {
    super(`${condition}/${specific}`);
  }

  toElement(): Element {
    return el(
      "error",
      { type: this.type },
      el(this.condition, { xmlns: NS.stanzas }),
      el(this.specific, { xmlns: NS_COMMANDS }),
    );
  }
}

const badAction = () => new CommandError("modify", "bad-request", "bad-action");

export interface Outcome {
  reply: Element;
  after?: () => Promise<void>;
}

/**
 * The reply payload for `command` (the iq's `<command/>`), or a thrown
 * StanzaError/CommandError for the iq error.
 */
export async function runCommand(
  commands: ReadonlyMap<string, AdhocCommand>,
  sessions: CommandSessions,
  from: string,
  command: Element,
): Promise<Outcome> {
  const requester = parseJid(from);
  const node = command.attrs.node;
  if (requester === undefined) throw new StanzaError("modify", "bad-request");
  if (node === undefined) throw new StanzaError("modify", "bad-request", "No command node");
  const cmd = commands.get(node);
  if (!cmd) throw new StanzaError("cancel", "item-not-found", "No such command");
  const ctx = { requester };
  if (!cmd.allowed(ctx)) throw new StanzaError("cancel", "forbidden");

  const action = command.attrs.action;
  if (action !== undefined && !ACTIONS.has(action)) {
    throw new CommandError("modify", "bad-request", "malformed-action");
  }
  const sessionId = command.attrs.sessionid;
  if (sessionId === undefined) {
    if (action !== undefined && action !== "execute") throw badAction();
    const id = sessions.newId(node);
    const stage = await cmd.start(ctx);
    if (stage.status === "executing") sessions.open(id, node, from).history.push(stage);
    return outcome(node, id, stage);
  }

  const found = sessions.find(sessionId, node, from);
  if (found.kind === "expired") throw new CommandError("cancel", "not-allowed", "session-expired");
  if (found.kind === "unknown") throw new CommandError("modify", "bad-request", "bad-sessionid");
  const session = found.session;
  const current = session.history[session.history.length - 1];
  // XEP-0004 §3.2: a form of type "cancel" cancels as the action does.
  const chosen = action === "cancel" || formType(command) === "cancel"
    ? "cancel"
    : resolve(action as Action | undefined, current);
  if (chosen === "cancel") {
    sessions.close(session.id);
    return { reply: commandElement(node, session.id, "canceled") };
  }
  const offered: readonly string[] = current.actions ?? ["complete"];
  if (!offered.includes(chosen)) throw badAction();
  if (chosen === "prev") {
    if (session.history.length < 2) throw badAction();
    session.history.pop();
    return outcome(node, session.id, session.history[session.history.length - 1]);
  }
  const values = parseForm(command);
  if (values === undefined) throw new CommandError("modify", "bad-request", "bad-payload");
  const stage = await cmd.submit(ctx, values, session.history.length - 1);
  advance(sessions, session, stage);
  return outcome(node, session.id, stage);
}

/** `execute` or no action means the stage's default action (§3.4). */
function resolve(
  action: Action | undefined,
  current: Extract<Stage, { status: "executing" }>,
): Action {
  if (action !== undefined && action !== "execute") return action;
  const offered = current.actions ?? ["complete"];
  return current.execute ?? offered[offered.length - 1];
}

function advance(sessions: CommandSessions, session: CommandSession, stage: Stage): void {
  if (stage.status === "executing") session.history.push(stage);
  else sessions.close(session.id);
}

function outcome(node: string, id: string, stage: Stage): Outcome {
  const reply = commandElement(node, id, stage.status);
  if (stage.status === "executing") {
    const offered = stage.actions ?? ["complete"];
    const execute = stage.execute ?? offered[offered.length - 1];
    reply.append(el("actions", { execute }, ...offered.map((a) => el(a))));
  }
  if (stage.note) reply.append(el("note", { type: stage.note.type }, stage.note.text));
  if (stage.form) reply.append(stage.form);
  return { reply, after: stage.status === "completed" ? stage.after : undefined };
}

function commandElement(node: string, sessionid: string, status: string): Element {
  return el("command", { xmlns: NS_COMMANDS, node, sessionid, status });
}
