#!/usr/bin/env node
import { launchBundled } from "./launch.js";

await launchBundled("impgate", "cli/main.ts");
