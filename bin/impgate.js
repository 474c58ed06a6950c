#!/usr/bin/env node
import { launch } from "./launch.js";

await launch(new URL("../cli/main.ts", import.meta.url).href);
