/**
 * node:util's parseArgs, with one change: ids the edge mints are base64url and may begin
 * with "-" (an imp id, a key thumbprint), so a long token that is no known option is taken
 * as a positional instead of being refused as an unknown option.
 */
import { parseArgs as nodeParseArgs, type ParseArgsConfig } from "node:util";

/** Longer than any option or short-option cluster this CLI has, and only id characters. */
const ID_LIKE = /^-[A-Za-z0-9_-]{15,}$/;

export function parseArgs<T extends ParseArgsConfig>(config: T): ReturnType<typeof nodeParseArgs<T>> {
  const args = config.args ?? [];
  const known = new Set<string>();
  const takesValue = new Set<string>();
  for (const [name, option] of Object.entries(config.options ?? {})) {
    const spellings = [`--${name}`, ...(option.short ? [`-${option.short}`] : [])];
    for (const s of spellings) known.add(s);
    if (option.type === "boolean" && config.allowNegative) known.add(`--no-${name}`);
    if (option.type === "string") for (const s of spellings) takesValue.add(s);
  }
  const flags: string[] = [];
  const positionals: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] ?? "";
    if (arg === "--") {
      positionals.push(...args.slice(i + 1));
      break;
    }
    if (known.has(arg.split("=", 1)[0] ?? arg)) {
      // Joined (--label=-x, -X-x): parseArgs refuses a separate value that begins with "-".
      if (takesValue.has(arg) && i + 1 < args.length) flags.push(`${arg}${arg.startsWith("--") ? "=" : ""}${args[++i] ?? ""}`);
      else flags.push(arg);
    } else if (arg.startsWith("-") && !ID_LIKE.test(arg)) {
      flags.push(arg); // an unknown option: parseArgs explains it
    } else {
      positionals.push(arg);
    }
  }
  return nodeParseArgs({ ...config, args: [...flags, "--", ...positionals] }) as ReturnType<typeof nodeParseArgs<T>>;
}
