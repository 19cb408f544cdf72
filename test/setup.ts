import fc from 'fast-check';

// Local runs explore new random cases every time; CI runs a fixed seed so that a run is reproducible and a
// property failure found locally is fixed (and pinned with `examples`) before it can block a landing.
// FC_SEED overrides both, to replay a reported failure.
const seed = process.env.FC_SEED !== undefined ? Number(process.env.FC_SEED) : process.env.CI === 'true' ? 20_261_121 : undefined;
if (seed !== undefined) fc.configureGlobal({ seed });
