/** The wire protocol shared by edge and device. Imports nothing runtime-specific. */

export * from "./caller.ts";
export * from "./canonical-path.ts";
export * from "./close-codes.ts";
export * from "./frame.ts";
export * from "./handshake.ts";
export * from "./messages.ts";
export * from "./relay-headers.ts";
export * from "./version.ts";
