/**
 * The fleet: `impgate imp list|tag|disable|enable|delete` (under `imp`) and `impgate fleet
 * disable|enable|reindex`. What runs is in ../actions/fleet.ts, loaded when it runs.
 */
import type { Command } from "commander";
import { adminOptions, examples, integer } from "../command.ts";

const collect = (value: string, previous: string[] = []) => [...previous, value];
const actions = () => import("../actions/fleet.ts");

/** The fleet's commands under `impgate imp`. */
export function impFleetCommands(imp: Command): void {
  examples(
    adminOptions(
      imp
        .command("list")
        .description("the fleet: every imp, online or not, with its tags (from the fleet registry)")
        .option("--online", "only imps whose device is online")
        .option("--offline", "only imps whose device is offline")
        .option("--tag <tag>", "only imps with this tag")
        .option("--search <text>", "only imps whose label contains this (any case), or this imp id")
        .option("--limit <n>", "at most this many imps (default: all)", integer("--limit", 1)),
    ),
    ["impgate imp list", "impgate imp list --offline --tag garage", "impgate imp list --tag prod --json"],
  ).action(async (opts) => (await actions()).list(opts));

  examples(
    adminOptions(
      imp
        .command("tag")
        .description("add tags to an imp (and remove some with --remove); prints its tags")
        .argument("<imp>", "the imp id (imp_…)")
        .argument("[tags...]", "tags to add: 1-32 lower-case letters, digits and _ . : -")
        .option("--remove <tag>", "a tag to remove (repeat for more)", collect),
    ),
    ["impgate imp tag $IMP garage prod", "impgate imp tag $IMP --remove prod", "impgate imp tag $IMP"],
  ).action(async (id, tags, opts) => (await actions()).tag(id, tags, opts));

  examples(
    adminOptions(
      imp
        .command("disable")
        .description("the kill switch: every caller gets 423, nothing reaches the device or agent code (the device stays connected)")
        .argument("<imp>", "the imp id (imp_…)")
        .option("--reason <text>", "why, for the audit log and the console")
        .option("--drop-device", "also disconnect the device, and refuse it until the imp is enabled"),
    ),
    ['impgate imp disable $IMP --reason "firmware leaks the door code"', "impgate imp disable $IMP --drop-device"],
  ).action(async (id, opts) => (await actions()).disable(id, opts));

  examples(
    adminOptions(
      imp.command("enable").description("undo `imp disable`: callers get through again").argument("<imp>", "the imp id (imp_…)"),
    ),
    ["impgate imp enable $IMP"],
  ).action(async (id, opts) => (await actions()).enable(id, opts));

  examples(
    adminOptions(
      imp
        .command("delete")
        .description("delete an imp: its device is disconnected, its storage dropped, its agent URL gone for good")
        .argument("<imp>", "the imp id (imp_…)")
        .option("--yes", "do not ask for confirmation"),
    ),
    ["impgate imp delete $IMP", "impgate imp delete $IMP --yes"],
  ).action(async (id, opts) => (await actions()).remove(id, opts));
}

/** `impgate fleet …`: what acts on many imps at once. */
export function fleetCommands(program: Command): void {
  const fleet = program.command("fleet").description("act on many imps at once: by tag, or the whole registry");

  examples(
    adminOptions(
      fleet
        .command("disable")
        .description("disable every imp the registry lists under a tag (see `impgate imp disable`)")
        .requiredOption("--tag <tag>", "the tag")
        .option("--reason <text>", "why, for the audit log and the console")
        .option("--drop-device", "also disconnect their devices until enabled"),
    ),
    ['impgate fleet disable --tag batch-7 --reason "recalled"'],
  ).action(async (opts) => (await actions()).fleetSwitch(false, opts));

  examples(
    adminOptions(
      fleet.command("enable").description("enable every imp the registry lists under a tag").requiredOption("--tag <tag>", "the tag"),
    ),
    ["impgate fleet enable --tag batch-7"],
  ).action(async (opts) => (await actions()).fleetSwitch(true, opts));

  examples(
    adminOptions(
      fleet
        .command("reindex")
        .description("rebuild the fleet registry from the imps themselves (after an outage, or a registry that looks wrong)"),
    ),
    ["impgate fleet reindex"],
  ).action(async (opts) => (await actions()).reindex(opts));
}
