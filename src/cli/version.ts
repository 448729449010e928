/** `parley version`. */
import { HELP_OPTION, parse, positionals } from "./args.ts";
import { VERSION } from "../version.ts";
import { EXIT_OK } from "./exit.ts";

export const HELP = `Usage: parley version

Print Parley's version and the Deno runtime it runs on.`;

export function run(args: string[]): Promise<number> {
  const { values, positionals: rest } = parse(args, {
    options: { ...HELP_OPTION },
    allowPositionals: true,
  });
  if (values.help) {
    console.log(HELP);
    return Promise.resolve(EXIT_OK);
  }
  positionals(rest, []);
  const { deno, v8, typescript } = Deno.version;
  console.log(`parley ${VERSION} (deno ${deno}, v8 ${v8}, typescript ${typescript})`);
  return Promise.resolve(EXIT_OK);
}
