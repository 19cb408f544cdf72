/** Bun and Deno: runs the scenario suite once and prints its result as the last line of stdout. */
import { runSuite } from '../scenarios.js';

declare const Deno: { args: string[] } | undefined;
declare const process: { argv: string[] };

const args = typeof Deno !== 'undefined' ? Deno.args : process.argv.slice(2);
const result = await runSuite({ upstream: args[0] });
console.log(JSON.stringify(result));
