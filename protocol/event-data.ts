/**
 * How a device event's data reads, by its content type: JSON as a value, text as a string,
 * anything else (or anything that is not what its type claims) as bytes. The one rule
 * behind `GET _events` and agent code's `onDeviceEvent`.
 */

export type EventValue = { kind: "json"; value: unknown } | { kind: "text"; value: string } | { kind: "bytes"; value: Uint8Array };

const utf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: false });

/**
 * @example
 * ```ts
 * readEventData("application/json", new TextEncoder().encode('{"c":21.5}')); // { kind: "json", value: { c: 21.5 } }
 * readEventData("text/plain", new Uint8Array([0xff]));                        // { kind: "bytes", … }: not UTF-8
 * ```
 */
export function readEventData(contentType: string | null, data: Uint8Array): EventValue {
  const type = contentType?.split(";", 1)[0]?.trim().toLowerCase() ?? "";
  try {
    if (type === "application/json" || type.endsWith("+json")) return { kind: "json", value: JSON.parse(utf8.decode(data)) as unknown };
    if (type.startsWith("text/")) return { kind: "text", value: utf8.decode(data) };
  } catch {
    // Not what it claims to be: bytes.
  }
  return { kind: "bytes", value: data };
}
