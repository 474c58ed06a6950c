#!/usr/bin/env node
import { launch } from "./launch.js";

await launch(new URL("../device/main.ts", import.meta.url).href);
