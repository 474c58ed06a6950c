/**
 * What a credential may do, as the admin API takes it: the same text the CLI's `--scope`,
 * `--expires`, `--rate`, `--from` and `--signed-header` take, parsed with the same parsers
 * (protocol/), so a value is refused with the same one line wherever it was written.
 */
import { z } from "zod";
import { constraintRefusal } from "../../edge/auth/caller-refusals.ts";
import { ImpgateError } from "../../edge/errors.ts";
import { signedHeadersProblem } from "../../protocol/http-signature.ts";
import {
  ConstraintError,
  formatScope,
  MAX_SCOPE_ENTRIES,
  parseCidr,
  parseExpires,
  parseRate,
  parseScope,
  type Rate,
} from "../../protocol/index.ts";

/** A scope travels in every access token: 4 KiB of entries in all keeps a token well under 8 KiB. */
const MAX_SCOPE_BYTES = 4096;
const MAX_RANGES = 64;

/** The constraint fields, as sent. */
export const ConstraintFields = {
  label: z.string().trim().min(1).max(64).optional(),
  scope: z.array(z.string()).max(MAX_SCOPE_ENTRIES).optional(),
  expires: z.string().max(64).optional(),
  rate: z.string().max(32).optional(),
  from: z.array(z.string().max(64)).max(MAX_RANGES).nullable().optional(),
  signedHeaders: z.array(z.string()).optional(),
};

export interface ParsedConstraints {
  scope?: string[];
  /** Epoch ms; null: never. */
  expiresAt?: number | null;
  rate?: Rate | null;
  /** null: anywhere. */
  from?: string[] | null;
  signedHeaders?: string[];
}

/** Parses what was sent; a value that is not one is a 400 naming it (`bad_scope`, `bad_expires`, `bad_rate`, `bad_address_range`). */
export function parseConstraints(input: {
  scope?: string[];
  expires?: string;
  rate?: string;
  from?: string[] | null;
  signedHeaders?: string[];
}): ParsedConstraints {
  const out: ParsedConstraints = {};
  try {
    if (input.scope !== undefined) {
      out.scope = formatScope(parseScope(input.scope));
      if (new TextEncoder().encode(JSON.stringify(out.scope)).length > MAX_SCOPE_BYTES) {
        throw new ConstraintError("ERR_SCOPE_SYNTAX", `a scope is at most ${MAX_SCOPE_BYTES} bytes in all: it travels in every token`);
      }
    }
    if (input.expires !== undefined) {
      const at = parseExpires(input.expires, Date.now());
      out.expiresAt = at === null ? null : at * 1000;
    }
    if (input.rate !== undefined) out.rate = parseRate(input.rate);
    if (input.from === null) out.from = null;
    else if (input.from !== undefined) {
      if (input.from.length === 0) throw new ConstraintError("ERR_CIDR_SYNTAX", "--from needs at least one range (or null: anywhere)");
      out.from = [...new Set(input.from.map((r) => parseCidr(r).text))];
    }
  } catch (err) {
    if (err instanceof ConstraintError) throw constraintRefusal(err);
    throw err;
  }
  if (input.signedHeaders !== undefined) {
    const headers = [...new Set(input.signedHeaders)];
    const problem = signedHeadersProblem(headers);
    if (problem) throw new ImpgateError("bad_request", `signedHeaders: ${problem}`);
    out.signedHeaders = headers;
  }
  return out;
}
