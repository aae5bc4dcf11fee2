/**
 * One batch of fuzz runs in its own process (main.ts starts these, so a crash
 * ends only its batch): `batch.ts <from> <count>` prints the tally as JSON.
 *
 * @module
 */
import process from "node:process";
import { runMany } from "./engine_fuzz.ts";

const [from, count] = process.argv.slice(2).map(Number);
console.log(JSON.stringify(runMany(from, count)));
