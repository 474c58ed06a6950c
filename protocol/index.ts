/**
 * The wire protocol shared by edge and device. Imports nothing runtime-specific.
 * (dpop.ts, http-signature.ts and content-digest.ts are imported by path, by the edge and
 * the caller only, so the daemon's bundle does not carry their libraries.)
 */

export * from "./bytes.ts";
export * from "./caller.ts";
export * from "./caller-constraints.ts";
export * from "./canonical-path.ts";
export * from "./cidr.ts";
export * from "./close-codes.ts";
export * from "./constraint-error.ts";
export * from "./errors.ts";
export * from "./frame.ts";
export * from "./handshake.ts";
export * from "./limits.ts";
export * from "./messages.ts";
export * from "./path-pattern.ts";
export * from "./relay-headers.ts";
export * from "./scope.ts";
export * from "./scope-narrowing.ts";
export * from "./version.ts";
