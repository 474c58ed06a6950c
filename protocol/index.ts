/** The wire protocol shared by edge and device. Imports nothing runtime-specific. */
export * from "./version.ts";
export * from "./close-codes.ts";
export * from "./messages.ts";
export * from "./frame.ts";
export * from "./handshake.ts";
export * from "./caller.ts";
