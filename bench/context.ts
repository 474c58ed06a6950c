/** What every phase of a run shares: the dev PKI, the edge's secrets, the bundles, a temp dir. */
import type { DevPki } from "../dev/pki.ts";
import type { EdgeSecrets } from "../dev/secrets.ts";
import type { Bundle } from "./bundle.ts";
import type { BenchOptions } from "./options.ts";

export interface BenchContext {
  options: BenchOptions;
  tmp: string;
  pki: DevPki;
  backupCaPem: string;
  secrets: EdgeSecrets;
  impgate: Bundle;
  control: Bundle;
  say(line: string): void;
}
