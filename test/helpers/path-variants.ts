/**
 * Spellings of one URL path that a liberal local service (one that decodes, folds case,
 * merges slashes or resolves dots) would read as that path: what an attacker tries to
 * slip a reserved path past the edge with. A fast-check arbitrary, for the edge's and the
 * daemon's property tests alike.
 */
import fc from "fast-check";

const hex = (ch: string, lower: boolean) => {
  const h = ch.charCodeAt(0).toString(16).padStart(2, "0");
  return `%${lower ? h : h.toUpperCase()}`;
};

/** One character: raw, percent-encoded (either hex case), double-encoded, or in the other case. */
function charSpelling(ch: string): fc.Arbitrary<string> {
  const options = [fc.constant(ch), fc.constant(hex(ch, false)), fc.constant(hex(ch, true)), fc.constant(`%25${hex(ch, false).slice(1)}`)];
  if (ch.toLowerCase() !== ch.toUpperCase()) options.push(fc.constant(ch === ch.toLowerCase() ? ch.toUpperCase() : ch.toLowerCase()));
  return fc.oneof(...options);
}

/** A "/" between segments: merged slashes, dot segments (encoded too), an encoded slash or backslash. */
const separator = (first: boolean) =>
  fc.constantFrom(
    "/",
    "//",
    "/./",
    "/%2E/",
    "/%2e/",
    "/x/../",
    "/x/%2E%2E/",
    "/x/.%2e/",
    ...(first ? ["/%2F", "/%2f/"] : ["%2F", "%2f", "%5C", "/%2F"]),
  );

/** Every segment may also carry a `;param`, which some servers (Tomcat, Jetty) drop. */
const param = fc.constantFrom("", "", "", ";", ";x=1");

/** Spellings of `path` (absolute, "/"-separated). */
export function spellingsOf(path: string): fc.Arbitrary<string> {
  const segments = path.split("/").slice(1);
  return fc
    .tuple(
      ...segments.map((segment, i) =>
        fc.tuple(
          separator(i === 0),
          fc.tuple(...[...segment].map(charSpelling)).map((cs) => cs.join("")),
          param,
        ),
      ),
    )
    .map((parts) => parts.map(([sep, seg, p]) => sep + seg + p).join(""));
}
